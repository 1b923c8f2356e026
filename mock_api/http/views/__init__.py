"""HTTP views, one blueprint per concern; thin: they parse, call the models and render."""
