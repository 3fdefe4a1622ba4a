"""Portable .keras files of G alone, for people who only translate.

The file holds G's weights and, in its config, what is needed to use and check it: the
image size G was trained at, the label layout (names, exclusive groups, label sets) and
the training crop. It loads with ``safe_mode=True`` (no lambdas, only registered
classes), and ``load_generator`` refuses a file whose size or labels are not the ones
the caller expects, naming the difference.
"""

from __future__ import annotations

import os

import keras

from stargan_keras.errors import MissingFileError, UserError
from stargan_keras.labels import LabelLayout
from stargan_keras.models import Generator


@keras.saving.register_keras_serializable(package="stargan_keras")
class PortableGenerator(Generator):
    """The Generator plus its training image size, label layout and crop.

    Args:
        image_size: the side of the images G was trained on.
        labels: ``LabelLayout.to_json()`` of the run.
        crop_size: the training crop (None: the largest centred square); in a joint run
            the first label set's.
        crop_sizes: each label set's crop, in layout order (None: ``crop_size`` for all;
            files written before joint runs had their own crops have none).
        **kwargs: the Generator's arguments.
    """

    def __init__(self, image_size: int, labels: list[dict], crop_size: int | None = None,
                 crop_sizes: list[int | None] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.labels, self.crop_size = image_size, labels, crop_size
        self.crop_sizes = None if crop_sizes is None else list(crop_sizes)
        self.layout = LabelLayout.from_json(labels)
        if self.layout.width != self.c_dim:
            raise UserError(f"labels describe {self.layout.width} label entries, but c_dim is "
                            f"{self.c_dim}")

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size, "labels": self.labels,
                "crop_size": self.crop_size, "crop_sizes": self.crop_sizes}


def portable_generator(generator: Generator, layout: LabelLayout, image_size: int,
                       crop_size: int | None,
                       crop_sizes: tuple[int | None, ...] | None = None) -> PortableGenerator:
    """A PortableGenerator carrying ``generator``'s weights."""
    portable = PortableGenerator(image_size, layout.to_json(), crop_size,
                                 None if crop_sizes is None else list(crop_sizes),
                                 conv_dim=generator.conv_dim, c_dim=generator.c_dim,
                                 repeat_num=generator.repeat_num, upsample=generator.upsample,
                                 attention=generator.attention, skip=generator.skip,
                                 name="generator")
    portable.build(((None, image_size, image_size, 3), (None, generator.c_dim)))
    portable.set_weights(generator.get_weights())
    return portable


def load_generator(path: str, image_size: int | None = None,
                   layout: LabelLayout | None = None) -> PortableGenerator:
    """Load a .keras file of G (safe mode) and check it is the model the caller expects.

    Args:
        path: the .keras file.
        image_size: the image size the caller will feed, or None not to check.
        layout: the label layout the caller will use, or None not to check.

    Raises:
        ValueError: the file is not a portable G, or was built for another image size or
            label set (the message names both).
    """
    if not os.path.isfile(path):
        raise MissingFileError(f"{path}: no such file")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as error:  # Keras' word for a file that is not a .keras archive
        raise UserError(f"{path} is not a Keras model file: {error}") from error
    if not isinstance(model, PortableGenerator):
        raise UserError(f"{path} holds a {type(model).__name__}, not a StarGAN generator "
                        "exported with `python -m export.keras_file`")
    problems = []
    if image_size is not None and model.image_size != image_size:
        problems.append(f"image size: the file was built for {model.image_size} px, "
                        f"expected {image_size} px")
    if layout is not None and model.layout != layout:
        problems.append(f"labels: the file has [{model.layout.describe()}], "
                        f"expected [{layout.describe()}]")
    if problems:
        raise UserError(f"{path} does not fit: " + "; ".join(problems))
    return model

