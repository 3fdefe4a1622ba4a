"""StarGAN discriminator: PatchGAN real/fake map plus a domain classifier."""

from __future__ import annotations

import keras
from keras import layers, ops

from stargan_keras.models.layers import conv_bias, conv_kernel


@keras.saving.register_keras_serializable(package="stargan_keras")
class Discriminator(keras.Model):
    """The official StarGAN discriminator (Choi et al. 2018, appendix table 5).

    Called as ``D(images)`` on [N, image_size, image_size, 3]; returns ``(src, cls)``:
    src is the patch map [N, s, s, 1] with s = image_size / 2**repeat_num, and cls the
    domain logits [N, c_dim].

    Args:
        image_size: input height and width; must be divisible by 2**repeat_num.
        conv_dim: channels of the first convolution; doubled by each later one.
        c_dim: number of domain logits.
        repeat_num: number of stride-2 convolutions in the trunk.
    """

    def __init__(self, image_size: int = 128, conv_dim: int = 64, c_dim: int = 5,
                 repeat_num: int = 6, **kwargs):
        super().__init__(**kwargs)
        if image_size % (2**repeat_num):
            raise ValueError(
                f"image_size {image_size} is not divisible by 2**d_repeat_num = {2**repeat_num}")
        self.image_size, self.conv_dim = image_size, conv_dim
        self.c_dim, self.repeat_num = c_dim, repeat_num
        self.trunk = []
        channels = 3
        for i in range(repeat_num):
            self.trunk += [
                layers.Conv2D(conv_dim * 2**i, 4, strides=2, padding="same",
                              kernel_initializer=conv_kernel(),
                              bias_initializer=conv_bias(channels * 4 * 4), name=f"down{i}_conv"),
                layers.LeakyReLU(negative_slope=0.01, name=f"down{i}_lrelu"),
            ]
            channels = conv_dim * 2**i
        self.src_head = layers.Conv2D(1, 3, padding="same", use_bias=False,
                                      kernel_initializer=conv_kernel(), name="src_conv")
        self.cls_head = layers.Conv2D(c_dim, image_size // 2**repeat_num, padding="valid",
                                      use_bias=False, kernel_initializer=conv_kernel(),
                                      name="cls_conv")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for block in self.trunk:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        self.src_head.build(shape)
        self.cls_head.build(shape)

    def call(self, images):
        h = images
        for block in self.trunk:
            h = block(h)
        # float32 outputs under mixed precision, so the losses are computed in float32.
        src = ops.cast(self.src_head(h), "float32")
        cls = ops.cast(self.cls_head(h), "float32")
        return src, ops.reshape(cls, (ops.shape(cls)[0], self.c_dim))

    def compute_output_shape(self, input_shape):
        s = self.image_size // 2**self.repeat_num
        return (input_shape[0], s, s, 1), (input_shape[0], self.c_dim)

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "conv_dim": self.conv_dim, "c_dim": self.c_dim, "repeat_num": self.repeat_num}
