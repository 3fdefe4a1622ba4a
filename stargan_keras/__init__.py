"""StarGAN for Keras 3 / TensorFlow."""

from stargan_keras.models import Discriminator, Generator
from stargan_keras.portable import PortableGenerator, load_generator
from stargan_keras.translator import Translator

__all__ = ["Discriminator", "Generator", "PortableGenerator", "Translator", "load_generator"]
