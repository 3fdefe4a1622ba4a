"""Write the built-in synthetic faces as files in CelebA's, RaFD's or a labels file's layout.

    python -m tools.write_faces --output=DIR --format=celeba|rafd|folder [--num_images=8192]
        [--image_size=64] [--seed=0] [--split=train|held_out]

The faces are those ``--dataset=faces`` (celeba, folder: CelebA's attribute names) or
``--dataset=faces_expressions`` (rafd: RaFD's expressions) paints, so the file readers
can be tried, and tested, on face-like pictures:

* celeba: ``DIR/images/000001.jpg ...`` and ``DIR/list_attr_celeba.txt`` (the image
  count, the attribute names, then ``000001.jpg -1  1 ...``);
* rafd: ``DIR/<expression>/Rafd090_0001_Synthetic_male_happy_frontal.jpg`` (RaFD's naming;
  the faces have no ethnicity, so that field reads ``Synthetic``);
* folder: ``DIR/images/000001.png ...`` and ``DIR/labels.csv`` (``image,Black_Hair,...``,
  1 / 0).

Images are square, ``--image_size`` on a side: a crop larger than the image is clipped to
its largest centred square, so the default ``--celeba_crop_size`` (178) and
``--rafd_crop_size`` (256) read each file back whole, with the framing it was painted
with. JPEGs are written at quality 95 without chroma subsampling, which at 64 px would
blur the irises, lips and glasses. The training split is the first ``--num_images`` faces
of the view's training stream (its first 8,192 are the faces ``--dataset=faces`` trains
on); ``--split=held_out`` writes held-out faces instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from PIL import Image

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.data.faces import ATTRIBUTES, EXPRESSIONS, TRAIN_FACES, SyntheticFaces
from stargan_keras.data.rendered import BLOCK
from stargan_keras.errors import UserError

FORMATS = ("celeba", "rafd", "folder")
SPLITS = ("train", "held_out")  # in RenderedSource's stream order
JPEG_QUALITY = 95
CELEBA_LABELS, FOLDER_LABELS, IMAGES = "list_attr_celeba.txt", "labels.csv", "images"

FLAGS = flags.FLAGS


def face_source(file_format: str, image_size: int, seed: int) -> SyntheticFaces:
    """The view of the face world a format describes: CelebA's six names, or RaFD's eight."""
    if file_format == "rafd":
        return SyntheticFaces("faces_expressions", image_size, seed)
    return SyntheticFaces("faces", image_size, seed, ATTRIBUTES)


def painted_faces(source: SyntheticFaces, split: str, count: int
                  ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The first ``count`` faces of ``source``'s training stream or held-out split, a block
    at a time: uint8 images [n, S, S, 3] (rounded as the training pool rounds them),
    labels [n, dim] and whether each face is a man's [n].

    Drawn block by block rather than read from ``train_examples``, whose pool paints all
    of its faces before serving the first, shuffled and without the scenes that give a
    RaFD file name its gender; the tests check that both hold the same faces.
    """
    stream = source.stream + SPLITS.index(split)

    def block(index):
        scenes = source.draw(source.seed, stream, index)
        images = tf.cast(tf.round((source.paint(scenes) + 1.0) * 127.5), tf.uint8)
        return images, source.labels(scenes), scenes["male"] > 0.5

    blocks = tf.data.Dataset.range(-(-count // BLOCK)).map(
        block, num_parallel_calls=tf.data.AUTOTUNE)
    left = count
    for images, labels, male in blocks.as_numpy_iterator():
        yield images[:left], labels[:left], male[:left]
        left -= len(images)


def file_name(file_format: str, index: int, labels: np.ndarray, male: bool,
              digits: int) -> str:
    """Face ``index``'s path relative to the output folder."""
    if file_format == "rafd":
        expression = EXPRESSIONS[int(np.argmax(labels))]
        gender = "male" if male else "female"
        return os.path.join(expression, f"Rafd090_{index + 1:0{digits}d}_Synthetic_{gender}_"
                                        f"{expression}_frontal.jpg")
    extension = ".jpg" if file_format == "celeba" else ".png"
    return os.path.join(IMAGES, f"{index + 1:06d}{extension}")


def check_arguments(file_format: str, split: str, num_images: int, image_size: int) -> None:
    if file_format not in FORMATS:
        raise UserError(f"--format={file_format}: expected one of {', '.join(FORMATS)}")
    if split not in SPLITS:
        raise UserError(f"--split={split}: expected one of {', '.join(SPLITS)}")
    if num_images < 2:
        raise UserError(f"--num_images={num_images}: at least 2 (the readers hold one out)")
    if image_size < 1:
        raise UserError(f"--image_size={image_size}: must be positive")


def prepare_output(output: str, overwrite: bool) -> None:
    """Make ``output`` an empty folder; with ``overwrite``, remove what this tool wrote.

    Anything else in it stops the tool instead: an unknown sub-folder would read as a
    class of RaFD's layout, and a mistyped --output should not cost anyone their files.
    """
    if os.path.exists(output) and not os.path.isdir(output):
        raise UserError(f"--output={output} is a file, not a folder")
    entries = sorted(os.listdir(output)) if os.path.isdir(output) else []
    if entries and not overwrite:
        raise UserError(f"--output={output} is not empty; choose another folder, or pass "
                        "--overwrite to replace the faces written there")
    foreign = [e for e in entries if e not in (IMAGES, CELEBA_LABELS, FOLDER_LABELS,
                                               *EXPRESSIONS)]
    if foreign:
        raise UserError(f"--output={output} holds {', '.join(foreign)}, which this tool does "
                        "not write; --overwrite replaces only its own files")
    for entry in entries:
        path = os.path.join(output, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    os.makedirs(output, exist_ok=True)


def write_labels(output: str, file_format: str, rows: list[tuple[str, np.ndarray]]) -> None:
    """list_attr_celeba.txt (celeba) or labels.csv (folder) for ``rows`` (path under
    ``output``, 1/0 labels); the files name each image relative to images/."""
    rows = [(os.path.relpath(path, IMAGES), labels) for path, labels in rows]
    if file_format == "celeba":
        lines = [str(len(rows)), " ".join(ATTRIBUTES)]
        lines += [f"{name} " + " ".join(f"{int(v) * 2 - 1:2d}" for v in labels)
                  for name, labels in rows]
        path = CELEBA_LABELS
    else:
        lines = [",".join(("image", *ATTRIBUTES))]
        lines += [",".join((name, *(str(int(v)) for v in labels))) for name, labels in rows]
        path = FOLDER_LABELS
    with open(os.path.join(output, path), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_faces(output: str, file_format: str, num_images: int = TRAIN_FACES,
                image_size: int = 64, seed: int = 0, split: str = "train", overwrite: bool = False
                ) -> list[tuple[str, np.ndarray]]:
    """Write ``num_images`` painted faces to ``output`` in ``file_format``'s layout.

    Args:
        output: the folder; it must be empty or absent unless ``overwrite``.
        file_format: "celeba", "rafd" or "folder" (see the module docstring).
        num_images: how many faces, the first of the split.
        image_size: side of the square images.
        seed: the face world's seed (``--seed`` of ``--dataset=faces``).
        split: "train" (the training stream) or "held_out".
        overwrite: replace what an earlier run of this tool wrote to ``output``.

    Returns:
        (path relative to ``output``, labels [dim] of 1/0) per face, in the order written.
    """
    check_arguments(file_format, split, num_images, image_size)
    prepare_output(output, overwrite)
    source = face_source(file_format, image_size, seed)
    digits = max(2, len(str(num_images)))  # RaFD numbers its 73 people 01 to 73
    save_args = {"quality": JPEG_QUALITY, "subsampling": 0} if file_format != "folder" else {}
    rows: list[tuple[str, np.ndarray]] = []
    progbar = keras.utils.Progbar(num_images, unit_name="image",
                                  verbose=1 if sys.stdout.isatty() else 2)
    for images, labels, male in painted_faces(source, split, num_images):
        for image, label, is_male in zip(images, labels, male):
            name = file_name(file_format, len(rows), label, bool(is_male), digits)
            path = os.path.join(output, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(image).save(path, **save_args)
            rows.append((name, label))
        progbar.update(len(rows))
    if file_format == "rafd":
        shown = {os.path.dirname(name) for name, _ in rows}
        missing = [e for e in EXPRESSIONS if e not in shown]
        if missing:
            logging.warning("no face shows %s among %d; --dataset=rafd learns the other "
                            "classes only (write more faces)", ", ".join(missing), num_images)
    else:
        write_labels(output, file_format, rows)
    return rows


def training_command(output: str, file_format: str, image_size: int) -> str:
    """The command that trains on what ``write_faces`` wrote to ``output``."""
    paths = {
        "celeba": f"--dataset=celeba --celeba_image_dir={os.path.join(output, IMAGES)} "
                  f"--attr_path={os.path.join(output, CELEBA_LABELS)}",
        "rafd": f"--dataset=rafd --rafd_image_dir={output}",
        "folder": f"--dataset=folder --image_dir={os.path.join(output, IMAGES)} "
                  f"--attr_path={os.path.join(output, FOLDER_LABELS)}",
    }
    return f"python -m stargan_keras.train {paths[file_format]} --image_size={image_size}"


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    with user_errors():
        for name in ("output", "format"):
            if FLAGS[name].value is None:
                raise UserError(f"--{name} is required: {FLAGS[name].help}")
        rows = write_faces(FLAGS.output, FLAGS.format, FLAGS.num_images, FLAGS.image_size,
                           FLAGS.seed, FLAGS.split, FLAGS.overwrite)
    print(f"wrote {len(rows)} faces to {FLAGS.output} in the {FLAGS.format} layout")
    print(f"train on them: {training_command(FLAGS.output, FLAGS.format, FLAGS.image_size)}")


def define_flags() -> None:
    flags.DEFINE_string("output", None, "Folder to write the faces to.")
    flags.DEFINE_string("format", None, "Layout of the files: celeba (images/ and "
                        "list_attr_celeba.txt), rafd (one sub-folder per expression) or "
                        "folder (images/ and labels.csv).")
    flags.DEFINE_integer("num_images", TRAIN_FACES, "How many faces (the default: every "
                         "face --dataset=faces trains on).")
    flags.DEFINE_integer("image_size", 64, "Side of the square images, in pixels; train "
                         "with the same --image_size.")
    flags.DEFINE_integer("seed", 0, "The faces' seed (--seed of --dataset=faces).")
    flags.DEFINE_string("split", "train", "train (the training faces) or held_out (faces "
                        "training never sees).")
    flags.DEFINE_bool("overwrite", False, "Replace the faces an earlier run wrote to "
                      "--output.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
