"""Building blocks shared by the generator and the discriminator."""

from __future__ import annotations

import math

import keras
from keras import layers, ops


def conv_kernel() -> keras.initializers.Initializer:
    """PyTorch's default for Conv2d and ConvTranspose2d weights, which the official code
    keeps: kaiming_uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)).

    Keras computes fan_in from the kernel's second-to-last axis, as PyTorch does from
    the weight's second: input channels for a convolution, output channels for a
    transposed one, times the kernel area.
    """
    return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


def conv_bias(fan_in: int) -> keras.initializers.Initializer:
    """PyTorch's default for a convolution's bias: U(+-1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def keras_default_weights(network: keras.Model) -> None:
    """Redraw ``network``'s convolutions as Keras' defaults would have drawn them:
    glorot_uniform kernels and zero biases (norm scales and offsets are 1 and 0 in
    both frameworks). ``--weight_init=keras``; the default is ``conv_kernel``."""
    for weight in network.weights:
        if weight.path.endswith("/kernel"):
            weight.assign(keras.initializers.GlorotUniform()(weight.shape))
        elif weight.path.endswith("/bias"):
            weight.assign(keras.ops.zeros(weight.shape))


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
        self.conv1 = layers.Conv2D(channels, 3, padding="same", use_bias=False,
                                   kernel_initializer=conv_kernel(), name="conv1")
        self.norm1 = instance_norm("norm1")
        self.conv2 = layers.Conv2D(channels, 3, padding="same", use_bias=False,
                                   kernel_initializer=conv_kernel(), name="conv2")
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
