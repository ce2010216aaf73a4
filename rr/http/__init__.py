"""The HTTP front end: protocol, codec, listener factory."""
