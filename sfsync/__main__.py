"""`python -m sfsync` runs the command line."""

from sfsync.cli import app

app(prog_name="sfsync")
