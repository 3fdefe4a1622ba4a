"""How every command line reports a mistake its user can fix."""

from __future__ import annotations

import contextlib
import sys

from absl import app, logging

from stargan_keras.errors import UserError


def check_no_arguments(argv: list[str]) -> None:
    """absl leaves unparsed words in ``argv`` after the program name: a usage error."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")


@contextlib.contextmanager
def user_errors(*also: type[BaseException]):
    """A user's mistake (``UserError``): one line on stderr and exit code 2, no traceback.

    Anything else is the project's bug and propagates with its traceback. ``also`` adds
    error types that a command knows to be the user's (e.g. a server's refusal).
    """
    try:
        yield
    except (UserError, *also) as error:
        logging.error("%s", error)
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
