"""The HTTP layer: app factory, views, fault middleware and server; the only importer of Flask and WSGI servers."""
