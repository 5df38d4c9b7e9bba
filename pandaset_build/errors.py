"""The errors this tool raises on purpose: one base, each also the builtin it stands for.

The CLI's error boundary (`cli.app`) prints a `PandasetError` as one line and exits with its
`exit_code` (2: the command was used wrongly and did nothing; 1: the run failed part-way and
a rerun resumes); anything else is a bug and keeps its traceback. Each class also derives from
the builtin exception callers of the Python API would otherwise catch (as
`huggingface/datasets` does), so `except ValueError` still works for a bad recipe.
"""

from __future__ import annotations

from pathlib import Path


class PandasetError(Exception):
    """Base of every error the tool raises on purpose; its message says what to do."""

    exit_code = 2


class UsageError(PandasetError, ValueError):
    """An option, recipe or argument cannot be used as given; nothing was done."""


class RunError(PandasetError):
    """A run failed part-way (a network or disk failure); completed work stays, a rerun resumes."""

    exit_code = 1


class RecipeError(UsageError):
    """A recipe cannot be used; the message names the file, the key path and the problem."""


class BuildError(PandasetError, RuntimeError):
    """The build directory cannot be used as asked (another recipe, in use, not a build)."""


class MissingStageOutputs(BuildError):
    """A command needs outputs of an earlier stage that are not there; names the command to run."""


class InputsChanged(BuildError):
    """Files a stage read or wrote changed since, or its shards were made with other settings.

    Nothing was done; the message names the files and the rerun that redoes what used them.
    """


class ScoreSettingsChanged(InputsChanged):
    """A build's scores were made at another precision or on another kind of device than this
    run's; resuming would mix two arithmetics. The message names both and the fix."""


class InputNotFound(PandasetError, FileNotFoundError):
    """A file or folder the command reads does not exist or is not of the expected kind."""


class PathError(UsageError, OSError):
    """A path cannot be used as given (a file where a folder is needed, no permission, a
    read-only disk); nothing was written that a rerun would trust."""

    def __str__(self) -> str:
        return str(self.args[0])


class DiskError(RunError, OSError):
    """The disk gave out part-way (no space left, too many open files); finished shards stay and
    a rerun resumes once the cause is fixed."""

    def __str__(self) -> str:
        return str(self.args[0])


class BadInput(PandasetError):
    """One input item cannot be used; the message names the file and the problem.

    Inside a stage it becomes a per-item failure (the rest goes on); raised out of a command it
    stops it.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class MetricError(UsageError, RuntimeError):
    """The quality metric cannot be used as asked (unknown, no weights, no GPU)."""


class ShardLayoutError(UsageError):
    """An export would put more files in one folder than the recipe allows."""


class PublishError(UsageError):
    """The build cannot be published as asked; the message says why and what to run."""


class ManifestError(UsageError):
    """A bench or split manifest cannot be used with this build; the message says why."""


class TemplateError(UsageError):
    """A prompt template cannot be rendered; the message names the file and the placeholder."""


class WeightsError(UsageError, RuntimeError):
    """Model weights can be neither downloaded nor read from the given file."""


class UnknownNameError(UsageError, KeyError):
    """A name that is not registered; the message suggests the closest ones."""

    def __str__(self) -> str:
        return str(self.args[0])
