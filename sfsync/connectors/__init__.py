"""Connectors: the only code that talks to the outside world. They translate, never decide."""
