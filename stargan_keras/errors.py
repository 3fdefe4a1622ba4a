"""The line between a user's mistake and the project's own bug.

The library raises ``UserError`` (or one of its flavours) where it checks what a user
gave it: flags and config values, paths, data and label files, checkpoints, targets.
The command lines turn exactly these into one ``error:`` line and exit code 2
(``stargan_keras.cli.user_errors``); any other exception is a bug and keeps its
traceback. Each class also derives from the built-in type that the check would raise
anyway, so ``except ValueError`` (or ``FileNotFoundError``, ...) still catches it.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user gave (a flag, path, file or its contents) is wrong; the message
    says what and how to fix it."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named, or one that should be in it, does not exist."""


class MissingExtraError(UserError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class RunInUseError(UserError, RuntimeError):
    """Another training process holds the run directory."""


class TrainingDivergedError(UserError, FloatingPointError):
    """A loss became NaN or inf; nothing was saved past the last good checkpoint."""
