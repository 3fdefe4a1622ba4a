"""What the exporters' command lines share: the run and checkpoint to export."""

from __future__ import annotations

import os

from absl import flags

from stargan_keras.cli import check_no_arguments
from stargan_keras.errors import UserError
from stargan_keras.inference.translator import Translator


def define_run_flags() -> None:
    """--run_dir and --iteration, as every exporter takes them."""
    flags.DEFINE_string("run_dir", None, "Run directory of a trained (or imported) model.",
                        required=True)
    flags.DEFINE_integer("iteration", None, "Checkpoint to export (default: the latest).")


def run_translator(argv: list[str]) -> Translator:
    """The run the flags name, loaded; stray arguments are a usage error."""
    check_no_arguments(argv)
    return Translator.from_run_dir(flags.FLAGS.run_dir, flags.FLAGS.iteration)


def make_folders(directory: str) -> None:
    """Create ``directory`` and the folders above it that do not exist yet, as every
    exporter does for its output; one that cannot be made is the user's to fix."""
    if not directory:
        return  # the current folder
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the folder {directory}: "
                        f"{error.strerror or error}") from None
