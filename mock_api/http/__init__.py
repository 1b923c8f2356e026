"""The HTTP layer: app factory, views, fault middleware and server; the only place that imports Flask or a WSGI server."""
