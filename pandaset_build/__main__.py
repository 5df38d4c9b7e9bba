"""`python -m pandaset_build` runs the command line."""

from pandaset_build.cli import app

app()
