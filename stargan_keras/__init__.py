"""StarGAN for Keras 3 / TensorFlow.

The public names load on first use: ``import stargan_keras`` imports neither TensorFlow
nor Keras, so a program can still choose process-wide settings that TensorFlow reads
when it is imported (``stargan_keras.runtime.use_onednn``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_MODULE_OF = {
    "Discriminator": "stargan_keras.models",
    "Generator": "stargan_keras.models",
    "LabelLayout": "stargan_keras.labels",
    "LabelSet": "stargan_keras.labels",
    "PortableGenerator": "stargan_keras.inference.portable",
    "StarGAN": "stargan_keras.training.engine",
    "TrainConfig": "stargan_keras.config",
    "Translator": "stargan_keras.inference.translator",
    "load_generator": "stargan_keras.inference.portable",
}

__all__ = ["Discriminator", "Generator", "LabelLayout", "LabelSet", "PortableGenerator",
           "StarGAN", "TrainConfig", "Translator", "load_generator"]

if TYPE_CHECKING:
    from stargan_keras.config import TrainConfig
    from stargan_keras.inference.portable import PortableGenerator, load_generator
    from stargan_keras.inference.translator import Translator
    from stargan_keras.labels import LabelLayout, LabelSet
    from stargan_keras.models import Discriminator, Generator
    from stargan_keras.training.engine import StarGAN


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'stargan_keras' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
