"""sfsync schema migrations."""
