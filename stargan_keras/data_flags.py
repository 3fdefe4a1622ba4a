"""The flags that choose a dataset and where its files are, for the evaluation CLIs.

Names and meanings are train.py's, so one set of paths serves training, the
classifier and evaluation.
"""

from __future__ import annotations

from absl import flags

from stargan_keras.config import DATASETS

PATH_FLAGS = ("tfds_data_dir", "celeba_image_dir", "attr_path", "rafd_image_dir", "image_dir")


def define_data_flags(dataset_default: str | None, dataset_help: str) -> None:
    """Define --dataset, --selected_attrs and the dataset path flags."""
    flags.DEFINE_enum("dataset", dataset_default, DATASETS, dataset_help)
    flags.DEFINE_list("selected_attrs", None,
                      "Attributes of multi-label data (default: the dataset's own defaults).")
    flags.DEFINE_string("tfds_data_dir", None, "TensorFlow Datasets data_dir holding celeb_a.")
    flags.DEFINE_string("celeba_image_dir", None,
                        "CelebA images in the official layout; with --attr_path.")
    flags.DEFINE_string("attr_path", None,
                        "Labels file: list_attr_celeba.txt, or a CSV/TSV for --dataset=folder.")
    flags.DEFINE_string("rafd_image_dir", None, "RaFD images, one sub-folder per expression.")
    flags.DEFINE_string("image_dir", None, "Your own images, for --dataset=folder.")


def data_overrides() -> dict:
    """The TrainConfig fields the user set with these flags (unset flags are left out)."""
    values = {name: flags.FLAGS[name].value for name in ("dataset",) + PATH_FLAGS
              if flags.FLAGS[name].value is not None}
    if flags.FLAGS.selected_attrs is not None:
        values["selected_attrs"] = tuple(flags.FLAGS.selected_attrs)
    return values
