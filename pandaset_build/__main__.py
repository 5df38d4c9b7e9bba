"""`python -m pandaset_build` runs the command line."""

from .cli import app

app()
