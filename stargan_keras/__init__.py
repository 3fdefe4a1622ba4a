"""StarGAN for Keras 3 / TensorFlow."""

import os

# oneDNN kernels: TensorFlow enables them by default only on CPUs with AVX-512 VNNI/BF16
# or AMX; on an AVX2 CPU (AMD EPYC, measured) they make a D update 5x faster. Takes
# effect when this package is imported before TensorFlow; an explicit setting wins.
# Batch-1 inference is the exception (2.1-2.7x slower with oneDNN, README: Performance):
# single-image serving processes should set TF_ENABLE_ONEDNN_OPTS=0 themselves.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from stargan_keras.config import TrainConfig
from stargan_keras.inference.portable import PortableGenerator, load_generator
from stargan_keras.inference.translator import Translator
from stargan_keras.labels import LabelLayout, LabelSet
from stargan_keras.models import Discriminator, Generator
from stargan_keras.training.engine import StarGAN

__all__ = ["Discriminator", "Generator", "LabelLayout", "LabelSet", "PortableGenerator",
           "StarGAN", "TrainConfig", "Translator", "load_generator"]
