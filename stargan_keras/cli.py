"""How every command line reports a mistake its user can fix."""

from __future__ import annotations

import contextlib
import sys

from absl import logging


@contextlib.contextmanager
def user_errors(*also: type[BaseException]):
    """Bad flags, paths, files or data: one line on stderr and exit code 2, no traceback.

    ``also`` adds error types a command raises for such mistakes (ValueError and
    FileNotFoundError are always included).
    """
    try:
        yield
    except (ValueError, FileNotFoundError, *also) as error:
        logging.error("%s", error)
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
