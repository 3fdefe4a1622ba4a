"""``python -m stargan_keras.translate --run_dir RUN --input FILE_OR_DIR --output DIR``.

Translates your own photos with a trained run (or a portable .keras file of G). For
each photo it writes ``<name>_<target>.png`` per target and, for all photos together,
``grid.png`` (rows: photos; columns: the prepared input, then each target). Without
``--attrs`` the targets are the official test grid. See ``stargan_keras.inference.translator``
for the target syntax.

With ``--align_faces`` each face found in a photo is framed as the training images were,
translated and pasted back (docs/photos.md); the grid then has a row per face.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.errors import MissingFileError
from stargan_keras.runtime import keep_freed_memory, onednn_helps, use_onednn

FLAGS = flags.FLAGS

# The sample grid is for looking at; past this many rows it only costs memory.
MAX_GRID_ROWS = 64


def list_inputs(path: str) -> list[str]:
    """The file itself, or the folder's files (sorted; hidden files and folders skipped)."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise MissingFileError(f"--input={path}: no such file or folder")
    return [os.path.join(path, name) for name in sorted(os.listdir(path))
            if not name.startswith(".") and os.path.isfile(os.path.join(path, name))]


def output_stems(paths: list[str]) -> list[str]:
    """A file name stem per input; inputs sharing a stem (a.jpg, a.png) keep their suffix."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return [os.path.basename(p).replace(".", "_") if stems.count(s) > 1 else s
            for p, s in zip(paths, stems)]


def translate_files(translator, paths: list[str], output: str, attrs: list[str],
                    source_attrs: str | None = None, size: str | None = None,
                    align_faces: bool = False, no_face: str = "center",
                    photo_set: str | None = None) -> dict:
    """Translate ``paths`` into ``output``; returns {"written": [...], "skipped": [...],
    "no_face": [...]}.

    Files that are not readable images are logged by name and skipped; a bad target or
    label name stops everything before any file is written. With ``align_faces``, photos
    without a face are logged by name and translated by their centre crop, or skipped
    (``no_face="skip"``); either way they are listed under "no_face". ``photo_set`` names
    the label set the photos belong to, for their crop in a joint run (default: the one
    set the targets or source labels name, else the first).
    """
    import keras
    import tensorflow as tf

    from stargan_keras import image_grid as image_utils
    from stargan_keras.inference.translator import NoFaceError, read_image

    size = size or ("original" if align_faces else "model")
    os.makedirs(output, exist_ok=True)
    written, skipped, without_face, grid_rows = [], [], [], []
    progbar = keras.utils.Progbar(len(paths), unit_name="image",
                                  verbose=1 if sys.stdout.isatty() else 2)
    for done, (path, stem) in enumerate(zip(paths, output_stems(paths)), start=1):
        progbar.update(done - 1)
        try:
            pixels = read_image(path)
        except (ValueError, OSError) as error:
            logging.warning("Skipping %s: %s", path, error)
            skipped.append(path)
            continue
        faces = []
        if align_faces:
            try:
                faces = translator.find_faces(pixels, path, no_face)
            except NoFaceError as error:
                logging.warning("Skipping %s (--no_face=skip)", error)
                without_face.append(path)
                continue
            if not faces:
                without_face.append(path)
        rows, outputs = translator.photo_outputs(pixels, faces, attrs, source_attrs, size,
                                                 photo_set)
        for name, image in outputs:
            target = os.path.join(output, f"{stem}_{name}.png")
            image_utils.write_png(image, target)
            written.append(target)
        grid_rows.extend(rows[:MAX_GRID_ROWS - len(grid_rows)])
    progbar.update(len(paths))
    if grid_rows:
        if len(grid_rows) == MAX_GRID_ROWS:
            logging.info("grid.png shows the first %d rows", MAX_GRID_ROWS)
        columns = [tf.stack(column) for column in zip(*grid_rows)]
        grid_path = os.path.join(output, "grid.png")
        image_utils.write_png(image_utils.to_uint8(image_utils.grid(columns)), grid_path)
        written.append(grid_path)
    logging.info("Wrote %d file(s) to %s; skipped %d unreadable file(s)%s", len(written),
                 output, len(skipped), f": {', '.join(skipped)}" if skipped else "")
    if without_face:
        logging.info("No face found in %d photo(s)%s: %s", len(without_face),
                     " (skipped)" if no_face == "skip" else " (centre crop translated)",
                     ", ".join(without_face))
    return {"written": written, "skipped": skipped, "no_face": without_face}


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    if (FLAGS.run_dir is None) == (FLAGS.model_file is None):
        raise app.UsageError("give exactly one of --run_dir and --model_file")
    # One photo at a time, its targets in one batch: a handful of images, where TensorFlow's
    # own kernels are the faster ones. Before TensorFlow is imported.
    use_onednn(onednn_helps(batch=max(len(FLAGS.attrs), 1)))
    if keep_freed_memory():  # before the big allocations start
        logging.info("malloc: keeping freed memory for the next image (no mmap, no trim)")
    from stargan_keras.inference.translator import (
        Translator,  # imports TensorFlow: after flag parsing
    )

    with user_errors():
        paths = list_inputs(FLAGS.input)
        translator = (Translator.from_run_dir(FLAGS.run_dir, FLAGS.iteration) if FLAGS.run_dir
                      else Translator.from_keras_file(FLAGS.model_file))
        result = translate_files(translator, paths, FLAGS.output, FLAGS.attrs,
                                 FLAGS.source_attrs, FLAGS.size, FLAGS.align_faces,
                                 FLAGS.no_face, FLAGS.photo_set)
    if not result["written"]:
        reason = ("no readable image with a face" if FLAGS.align_faces and FLAGS.no_face == "skip"
                  else "no readable image")
        print(f"error: {reason} in --input={FLAGS.input}", file=sys.stderr)
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
    flags.DEFINE_enum("size", None, ["model", "original"],
                      "Write outputs at the model's size, or pasted back into the photo at "
                      "its own size (default: original with --align_faces, else model).")
    flags.DEFINE_bool("align_faces", False, "Find the faces in each photo, frame each as the "
                      "training images were, translate it and paste it back (needs the "
                      "'faces' extra; docs/photos.md).")
    flags.DEFINE_string("photo_set", None, "The label set the photos belong to (e.g. RaFD): "
                        "in a joint run they are cropped as its training images were "
                        "(default: the one set --attrs or --source_attrs name, else the "
                        "first, CelebA).")
    flags.DEFINE_enum("no_face", "center", ["center", "skip"],
                      "With --align_faces, a photo without a face is translated by its centre "
                      "crop, or skipped.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
