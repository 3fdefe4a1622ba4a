"""``python -m stargan_keras.translate --run_dir RUN --input FILE_OR_DIR --output DIR``.

Translates your own photos with a trained run (or a portable .keras file of G). For
each photo it writes ``<name>_<target>.png`` per target and, for all photos together,
``grid.png`` (rows: photos; columns: the prepared input, then each target). Without
``--attrs`` the targets are the official test grid. See ``stargan_keras.translator``
for the target syntax.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from stargan_keras.allocator import keep_freed_memory
from stargan_keras.cli_errors import user_errors

FLAGS = flags.FLAGS

# The sample grid is for looking at; past this many rows it only costs memory.
MAX_GRID_ROWS = 64


def list_inputs(path: str) -> list[str]:
    """The file itself, or the folder's files (sorted; hidden files and folders skipped)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"--input={path}: no such file or folder")
    return [os.path.join(path, name) for name in sorted(os.listdir(path))
            if not name.startswith(".") and os.path.isfile(os.path.join(path, name))]


def output_stems(paths: list[str]) -> list[str]:
    """A file name stem per input; inputs sharing a stem (a.jpg, a.png) keep their suffix."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return [os.path.basename(p).replace(".", "_") if stems.count(s) > 1 else s
            for p, s in zip(paths, stems)]


def translate_files(translator, paths: list[str], output: str, attrs: list[str],
                    source_attrs: str | None = None, size: str = "model") -> dict:
    """Translate ``paths`` into ``output``; returns {"written": [...], "skipped": [...]}.

    Files that are not readable images are logged by name and skipped; a bad target or
    label name stops everything before any file is written.
    """
    import keras
    import tensorflow as tf

    from stargan_keras import images as image_utils
    from stargan_keras.translator import read_image

    os.makedirs(output, exist_ok=True)
    written, skipped, grid_rows = [], [], []
    progbar = keras.utils.Progbar(len(paths), unit_name="image",
                                  verbose=1 if sys.stdout.isatty() else 2)
    for done, (path, stem) in enumerate(zip(paths, output_stems(paths)), start=1):
        try:
            pixels = read_image(path)
        except (ValueError, OSError) as error:
            logging.warning("Skipping %s: %s", path, error)
            skipped.append(path)
            progbar.update(done)
            continue
        prepared, fakes = translator.translations(pixels, attrs, source_attrs)
        for name, fake in fakes:
            target = os.path.join(output, f"{stem}_{name}.png")
            image_utils.write_png(translator.render(pixels, fake, size), target)
            written.append(target)
        if len(grid_rows) < MAX_GRID_ROWS:
            grid_rows.append([prepared] + [fake for _, fake in fakes])
        progbar.update(done)
    if grid_rows:
        if len(paths) > MAX_GRID_ROWS:
            logging.info("grid.png shows the first %d images", MAX_GRID_ROWS)
        columns = [tf.stack(column) for column in zip(*grid_rows)]
        grid_path = os.path.join(output, "grid.png")
        image_utils.write_png(image_utils.to_uint8(image_utils.grid(columns)), grid_path)
        written.append(grid_path)
    logging.info("Wrote %d file(s) to %s; skipped %d unreadable file(s)%s", len(written),
                 output, len(skipped), f": {', '.join(skipped)}" if skipped else "")
    return {"written": written, "skipped": skipped}


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if (FLAGS.run_dir is None) == (FLAGS.model_file is None):
        raise app.UsageError("give exactly one of --run_dir and --model_file")
    if keep_freed_memory():  # before the big allocations start
        logging.info("malloc: keeping freed memory for the next image (no mmap, no trim)")
    from stargan_keras.translator import Translator  # imports TensorFlow: after flag parsing

    with user_errors():
        paths = list_inputs(FLAGS.input)
        translator = (Translator.from_run_dir(FLAGS.run_dir, FLAGS.iteration) if FLAGS.run_dir
                      else Translator.from_keras_file(FLAGS.model_file))
        result = translate_files(translator, paths, FLAGS.output, FLAGS.attrs,
                                 FLAGS.source_attrs, FLAGS.size)
    if not result["written"]:
        print(f"error: no readable image in --input={FLAGS.input}", file=sys.stderr)
        sys.exit(1)


def define_flags() -> None:
    """Flags of this command (defined only when run, so tests can import the module
    beside other entry modules that define flags of the same names)."""
    flags.DEFINE_string("run_dir", None, "Run directory of a trained (or imported) model.")
    flags.DEFINE_string("model_file", None, "A portable .keras file of G instead of --run_dir "
                        "(it has no classifier: give --source_attrs for relative targets).")
    flags.DEFINE_integer("iteration", None, "Checkpoint to use (default: the latest).")
    flags.DEFINE_string("input", None, "An image file, or a folder of images.", required=True)
    flags.DEFINE_string("output", None, "Folder for the translated images.", required=True)
    flags.DEFINE_multi_string("attrs", [], 'A target, e.g. "Blond_Hair,Male=0" or "happy"; '
                              "repeat for several outputs (default: the official test grid).")
    flags.DEFINE_string("source_attrs", None, "Labels of the photos (names that are on), instead "
                        "of D's predictions, e.g. Black_Hair,Young.")
    flags.DEFINE_enum("size", "model", ["model", "original"],
                      "Write outputs at the model's size, or pasted back into the photo at "
                      "its own size.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
