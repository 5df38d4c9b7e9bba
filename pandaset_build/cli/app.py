"""The Typer app, its console and the one error boundary of the command line.

A `PandasetError` is printed as its message and exits with the error's code (2: wrong usage,
nothing done; 1: a run failed part-way). The file system's errors (not a directory, a file in
the way, permission denied, read-only, no space, too many open files) are explained the same way
(`store.oserrors`). Anything else is a bug and keeps its traceback.
`--debug` (or `PANDASET_DEBUG=1`) shows the traceback of a known error too.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from pandaset_build.errors import PandasetError
from pandaset_build.store.oserrors import explain

DEBUG_ENV = "PANDASET_DEBUG"
INTERRUPTED = 130

console = Console(stderr=True, soft_wrap=True)


def print_error(message: str) -> None:
    """One error message on stderr, printed as text (brackets in it are not markup)."""
    console.print(f"[red]error:[/red] {escape(message)}")


class ErrorBoundaryTyper(typer.Typer):
    """A Typer app whose call maps the project's errors to a message and an exit code."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except PandasetError as err:
            if os.environ.get(DEBUG_ENV):
                raise
            print_error(str(err))
            sys.exit(err.exit_code)
        except OSError as err:
            explained = explain(err)
            if explained is None or os.environ.get(DEBUG_ENV):
                raise
            print_error(str(explained))
            sys.exit(explained.exit_code)
        except KeyboardInterrupt:
            print_error("interrupted: finished shards are kept; rerun the command to resume")
            sys.exit(INTERRUPTED)


app = ErrorBoundaryTyper(
    help="Rebuild PandaSet and PandaBench from images with panoptic masks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option("--debug", help=f"Show tracebacks of known errors too (or {DEBUG_ENV}=1)."),
    ] = False,
) -> None:
    """Rebuild PandaSet and PandaBench from images with panoptic masks."""
    if debug:
        os.environ[DEBUG_ENV] = "1"
