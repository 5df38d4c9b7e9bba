"""The `pandaset-build` command line: thin commands over the Python API, one error boundary."""

from pandaset_build.cli import dataset, models  # noqa: F401  (registers the commands)
from pandaset_build.cli.app import app

__all__ = ["app"]
