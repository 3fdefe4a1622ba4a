"""``python -m export.keras_file --run_dir RUN --output g.keras``: a portable file of G alone.

The file loads with ``keras.saving.load_model(path, safe_mode=True)`` once
``stargan_keras`` is imported, or with ``stargan_keras.load_generator(path, image_size,
layout)``, which also checks that it fits the caller's image size and labels. Translate
with it: ``python -m stargan_keras.translate --model_file g.keras ...``.
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from export.command import define_run_flags, make_folders, run_translator
from stargan_keras.cli import user_errors
from stargan_keras.errors import UserError
from stargan_keras.inference.portable import portable_generator
from stargan_keras.inference.translator import Translator


def export_keras_file(translator: Translator, path: str) -> str:
    """Write G with its image size, labels and crops to ``path`` (a .keras file)."""
    if not path.endswith(".keras"):
        raise UserError(f"--output={path}: a Keras model file must end in .keras")
    make_folders(os.path.dirname(path))
    model = portable_generator(translator.generator, translator.layout, translator.image_size,
                               translator.crop_size, translator.crop_sizes)
    model.save(path)
    logging.info("Wrote %s", path)
    return path


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    with user_errors():
        translator = run_translator(argv)
        print(export_keras_file(translator, FLAGS.output))


def define_flags() -> None:
    """Flags of this command, defined only when it runs (tests import the module)."""
    define_run_flags()
    flags.DEFINE_string("output", "generator.keras", "The .keras file to write.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
