"""StarGAN for Keras 3 / TensorFlow."""

from stargan_keras.models import Discriminator, Generator

__all__ = ["Discriminator", "Generator"]
