"""Class sub-folders: RaFD (``--dataset=rafd``) and single-label ``--dataset=folder``.

    rafd_image_dir/angry/Rafd090_01_Caucasian_female_angry_frontal.jpg
    rafd_image_dir/contemptuous/...
    ...                                     (RaFD: 8 expressions)

Class names are the sub-folder names in sorted order (as torchvision's ImageFolder,
which the official code uses); images are found at any depth below them. Hidden files and
folders (names that start with ".") are skipped. Names must be UTF-8: they become label
names and TensorFlow strings. Held out: the same rule as every source here
(``image_files.split_held_out``), applied to the images in the order
``class_folder_images`` lists them: a tenth, at most 2000, after a seed-1234 shuffle.
"""

from __future__ import annotations

import os

import numpy as np
from absl import logging

from stargan_keras.data.image_files import IMAGE_EXTENSIONS, ImageFileSource, image_file_source
from stargan_keras.errors import MissingFileError, UserError
from stargan_keras.labels import LabelSet

RAFD_EXPRESSIONS = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad",
                    "surprised")


def _check_utf8(path: str) -> None:
    """Python reads a name that is not UTF-8 as lone surrogates, which TensorFlow strings
    and JSON cannot hold: refuse it here, naming it, rather than fail later."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise UserError(f"{shown}: the name is not UTF-8 text; rename it") from None


def class_folder_images(root: str) -> tuple[tuple[str, ...], list[tuple[str, int]]]:
    """(class names, [(image path, class index)]) under ``root``.

    Images come class by class; within a class folder its own images first, then each
    sub-folder's in turn, every level sorted by name.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        ValueError: fewer than two classes, a class folder without images, or a class or
            image name that is not UTF-8.
    """
    if not os.path.isdir(root):
        raise MissingFileError(f"image folder {root} does not exist")
    classes = tuple(sorted(e.name for e in os.scandir(root)
                           if e.is_dir() and not e.name.startswith(".")))
    for name in classes:
        _check_utf8(os.path.join(root, name))
    if len(classes) < 2:
        raise UserError(f"{root} should hold one sub-folder per class (at least two); "
                        f"found {len(classes)}: {', '.join(classes) or 'none'}")
    images, ignored = [], 0
    for index, name in enumerate(classes):
        found = []
        for folder, subfolders, files in os.walk(os.path.join(root, name)):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for file in sorted(files):
                if file.lower().endswith(IMAGE_EXTENSIONS) and not file.startswith("."):
                    found.append((os.path.join(folder, file), index))
                    _check_utf8(found[-1][0])
                else:
                    ignored += 1
        if not found:
            raise UserError(f"class folder {os.path.join(root, name)} holds no images "
                            f"({', '.join(IMAGE_EXTENSIONS)}); add some or remove it")
        images.extend(found)
    if ignored:
        logging.info("%s: ignored %d files that are not %s images", root, ignored,
                     "/".join(IMAGE_EXTENSIONS))
    return classes, images


def class_folder_source(name: str, root: str, crop_size: int | None, image_size: int,
                        seed: int) -> ImageFileSource:
    """A single-label source named ``name`` over the class sub-folders of ``root``."""
    classes, images = class_folder_images(root)
    one_hot = np.eye(len(classes), dtype=np.float32)
    items = [(path, one_hot[index]) for path, index in images]
    label_set = LabelSet(name, classes, multi_label=False)
    source = image_file_source(label_set, items, crop_size, image_size, seed)
    for count, class_name in zip(source.train.labels.sum(axis=0), classes):
        if not count:
            logging.warning("%s: class %s has no readable training image; D cannot learn it",
                            root, class_name)
    return source


def rafd_source(rafd_image_dir: str, crop_size: int, image_size: int,
                seed: int) -> ImageFileSource:
    """RaFD: single-label expressions from the class sub-folders, center crop ``crop_size``."""
    source = class_folder_source("rafd", rafd_image_dir, crop_size, image_size, seed)
    if source.label_set.names != RAFD_EXPRESSIONS:
        logging.warning("%s: classes %s differ from RaFD's 8 expressions %s; training on "
                        "them as they are", rafd_image_dir, ", ".join(source.label_set.names),
                        ", ".join(RAFD_EXPRESSIONS))
    return source
