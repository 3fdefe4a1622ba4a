"""StarGAN networks."""

from stargan_keras.models.discriminator import Discriminator
from stargan_keras.models.generator import Generator

__all__ = ["Discriminator", "Generator"]
