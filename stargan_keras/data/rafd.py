"""Class sub-folders: RaFD (``--dataset=rafd``) and single-label ``--dataset=folder``.

    rafd_image_dir/angry/Rafd090_01_Caucasian_female_angry_frontal.jpg
    rafd_image_dir/contemptuous/...
    ...                                     (RaFD: 8 expressions)

Class names are the sub-folder names in sorted order (as torchvision's ImageFolder,
which the official code uses); images are found at any depth below them. Held out: the
same rule as every source here (``image_files.split_held_out``), applied to the images
sorted by path: a tenth, at most 2000, after a seed-1234 shuffle.
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


def class_folder_images(root: str) -> tuple[tuple[str, ...], list[tuple[str, int]]]:
    """(class names, [(image path, class index)] sorted by path) under ``root``.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        ValueError: fewer than two classes, or a class folder without images.
    """
    if not os.path.isdir(root):
        raise MissingFileError(f"image folder {root} does not exist")
    classes = tuple(sorted(e.name for e in os.scandir(root)
                           if e.is_dir() and not e.name.startswith(".")))
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
