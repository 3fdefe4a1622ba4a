"""Your own photos (``--dataset=folder``), no code edits.

Two layouts:

* ``--image_dir=DIR --attr_path=FILE``: multi-label. FILE is CelebA's list_attr format
  or a CSV/TSV with a header ``image,attr1,attr2,...`` (see ``label_files``); image
  names are relative to DIR. ``--selected_attrs`` picks columns; left at its default
  (CelebA's five names, which mean nothing to your data), every column is used.
* ``--image_dir=DIR`` alone: single-label, one sub-folder of DIR per class (as RaFD).

Photos are cropped to their largest centred square and resized (crop them beforehand to
frame what matters). Held out: a tenth, at most 2000, after a seed-1234 shuffle of the
labels file's lines or of the image paths (``image_files.split_held_out``).
"""

from __future__ import annotations

from absl import logging

from stargan_keras.data.celeba import celeba_label_set, labelled_files
from stargan_keras.data.image_files import ImageFileSource, image_file_source
from stargan_keras.data.rafd import class_folder_source

NAME = "folder"


def folder_source(image_dir: str, attr_path: str | None, selected_attrs: tuple[str, ...] | None,
                  image_size: int, seed: int) -> ImageFileSource:
    """The source of ``--dataset=folder``.

    Args:
        image_dir: the image folder.
        attr_path: the labels file, or None for class sub-folders.
        selected_attrs: attributes to learn from the labels file; None for all of them.
        image_size: side of the images produced.
        seed: the seed of the training order and flips.
    """
    if attr_path is None:
        return class_folder_source(NAME, image_dir, None, image_size, seed)
    names, items = labelled_files(image_dir, attr_path, selected_attrs)
    if selected_attrs is None:
        logging.info("%s: learning all %d attributes: %s", attr_path, len(names),
                     ", ".join(names))
    # CelebA's hair colours keep their exclusivity when a labels file uses those names.
    return image_file_source(celeba_label_set(names, NAME), items, None, image_size, seed)
