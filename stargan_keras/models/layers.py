"""Building blocks shared by the generator and the discriminator."""

from __future__ import annotations

import keras
from keras import layers, ops


def instance_norm(name: str) -> layers.GroupNormalization:
    """Instance norm as the official code uses it: learned scale/offset, eps 1e-5.

    One group per channel is exactly instance normalisation, and GroupNormalization
    always uses the statistics of the image at hand, so training and inference agree
    (the official test code never switches its norms to running statistics either).
    """
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


@keras.saving.register_keras_serializable(package="stargan_keras")
class ResidualBlock(layers.Layer):
    """x + [Conv3x3, IN, ReLU, Conv3x3, IN](x) with the channel count preserved."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.conv1 = layers.Conv2D(channels, 3, padding="same", use_bias=False, name="conv1")
        self.norm1 = instance_norm("norm1")
        self.conv2 = layers.Conv2D(channels, 3, padding="same", use_bias=False, name="conv2")
        self.norm2 = instance_norm("norm2")

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.norm1.build(input_shape)
        self.conv2.build(input_shape)
        self.norm2.build(input_shape)

    def call(self, x):
        h = ops.relu(self.norm1(self.conv1(x)))
        return x + self.norm2(self.conv2(h))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}
