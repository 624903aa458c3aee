"""The REST API. Routers are thin: they call services and shape responses."""
