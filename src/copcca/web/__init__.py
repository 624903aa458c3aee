"""Server-rendered pages: light, mobile first, usable without JavaScript."""
