"""Frame your own photos as CelebA's aligned images before training on them.

    python -m tools.align_faces --input=photos/ --output=aligned/ [--scale=2]

Each image under --input (sub-folders included, so class folders stay class folders) is
written to the same relative path under --output as a 178 x 218 image (times --scale)
framing its largest face as img_align_celeba frames its faces: eyes level at the same
place (``stargan_keras.inference.faces``). Names and formats are kept, so a labels file
written for --input also fits --output. Images without a face, and unreadable files,
are listed at the end and in ``<output>/no_face.txt``; nothing is written for them.
Train with ``--dataset=folder --image_dir=<output>``, and translate with --align_faces.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.errors import MissingFileError

FLAGS = flags.FLAGS


def list_images(root: str) -> list[str]:
    """Image files under ``root`` (relative paths, sorted; hidden files and folders skipped)."""
    from stargan_keras.data.image_files import IMAGE_EXTENSIONS

    if not os.path.isdir(root):
        raise MissingFileError(f"--input={root}: no such folder")
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found += [os.path.relpath(os.path.join(folder, name), root) for name in names
                  if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def align_folder(detector, input_dir: str, output_dir: str, scale: int = 1) -> dict:
    """Write the aligned image of every image under ``input_dir`` to ``output_dir``.

    Args:
        detector: a ``faces.FaceDetector`` (or any callable: uint8 photo -> faces).
        input_dir: the photos.
        output_dir: where the aligned images go, at the same relative paths.
        scale: the aligned images are 178 x 218 times this.

    Returns:
        {"written": [...], "no_face": [...], "unreadable": [...], "several_faces": [...]},
        paths relative to the folders.
    """
    import keras
    from PIL import Image

    from stargan_keras.inference.faces import aligned_image
    from stargan_keras.inference.translator import read_image

    paths = list_images(input_dir)
    result = {"written": [], "no_face": [], "unreadable": [], "several_faces": []}
    progbar = keras.utils.Progbar(len(paths), unit_name="image",
                                  verbose=1 if sys.stdout.isatty() else 2)
    for done, path in enumerate(paths, start=1):
        try:
            pixels = read_image(os.path.join(input_dir, path))
        except (ValueError, OSError) as error:
            logging.warning("%s: %s", os.path.join(input_dir, path), error)
            result["unreadable"].append(path)
            progbar.update(done)
            continue
        faces = detector(pixels)
        if not faces:
            logging.warning("%s: no face found", os.path.join(input_dir, path))
            result["no_face"].append(path)
        else:
            if len(faces) > 1:
                result["several_faces"].append(path)
            largest = max(faces, key=lambda face: face.box[2] * face.box[3])
            target = os.path.join(output_dir, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            Image.fromarray(aligned_image(pixels, largest, scale)).save(target, quality=95)
            result["written"].append(path)
        progbar.update(done)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "no_face.txt"), "w") as f:
        f.writelines(f"{path}\n" for path in result["no_face"] + result["unreadable"])
    return result


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    if FLAGS.scale < 1:
        raise app.UsageError(f"--scale={FLAGS.scale}: must be 1 or more")
    if os.path.abspath(FLAGS.input) == os.path.abspath(FLAGS.output):
        raise app.UsageError(f"--output={FLAGS.output} is --input: the photos would be "
                             "overwritten")
    with user_errors():
        from stargan_keras.inference.faces import FaceDetector

        detector = FaceDetector(FLAGS.min_confidence)
        result = align_folder(detector, FLAGS.input, FLAGS.output, FLAGS.scale)
    print(f"wrote {len(result['written'])} aligned image(s) to {FLAGS.output}")
    if result["several_faces"]:
        print(f"{len(result['several_faces'])} image(s) with several faces (the largest "
              f"written): {', '.join(result['several_faces'])}")
    for key, what in (("no_face", "without a face"), ("unreadable", "unreadable")):
        if result[key]:
            print(f"{len(result[key])} image(s) {what}, not written: {', '.join(result[key])}")
    if not result["written"]:
        print(f"error: no face found in any image of --input={FLAGS.input}", file=sys.stderr)
        sys.exit(1)


def define_flags() -> None:
    flags.DEFINE_string("input", None, "Folder of photos (sub-folders included).",
                        required=True)
    flags.DEFINE_string("output", None, "Folder for the aligned images.", required=True)
    flags.DEFINE_integer("scale", 1, "Write 178 x 218 times this (2: 356 x 436, for models "
                         "larger than 178 px).")
    flags.DEFINE_float("min_confidence", 0.9, "Faces the detector scores lower are ignored.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
