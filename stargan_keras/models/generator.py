"""StarGAN generator: image + tiled target label -> translated image."""

from __future__ import annotations

import keras
from keras import layers, ops

from stargan_keras.config import UPSAMPLING
from stargan_keras.models.layers import ResidualBlock, conv_kernel, instance_norm

STEM_LAYERS = 3  # conv, norm, ReLU at full resolution: what the skip carries


@keras.saving.register_keras_serializable(package="stargan_keras")
class Generator(keras.Model):
    """The official StarGAN generator (Choi et al. 2018, appendix table 4).

    Called as ``G([images, labels])`` with images [N, H, W, 3] in [-1, 1] and labels
    [N, c_dim]; returns images of the same shape in [-1, 1]. H and W must be multiples
    of 4 (two stride-2 down-samplings).

    Two options change the decoder (both off in the official network):

    * ``upsample="nearest"`` or ``"bilinear"``: resize then a 3x3 convolution instead of
      a 4x4 transposed convolution, whose uneven kernel overlap draws checkerboards
      (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
    * ``attention=True``: the last convolution emits a colour image and a mask m in
      [0, 1], and the output is ``m * colour + (1 - m) * input`` (GANimation, Pumarola
      et al. 2018), so that pixels G leaves alone are kept exactly.
      ``G([images, labels], return_mask=True)`` also returns m [N, H, W, 1].
    * ``skip=True``: the stem's full-resolution features are concatenated to the
      decoder's before the last convolution (one U-Net skip, as AttGAN found best: He et
      al. 2019), so detail the bottleneck cannot carry (thin marks, edges) reaches the
      output without being redrawn.

    Args:
        conv_dim: channels of the first convolution; doubled by each down-sampling.
        c_dim: width of the label vector (all label sets plus the mask, if any).
        repeat_num: number of residual blocks in the bottleneck.
        upsample: "transpose" (official), "nearest" or "bilinear".
        attention: output through an attention mask.
        skip: one skip connection from the stem to the last convolution.
    """

    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6,
                 upsample: str = "transpose", attention: bool = False, skip: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample={upsample!r}: expected one of {', '.join(UPSAMPLING)}")
        self.conv_dim, self.c_dim, self.repeat_num = conv_dim, c_dim, repeat_num
        self.upsample, self.attention, self.skip = upsample, attention, skip
        blocks: list[layers.Layer] = [
            layers.Conv2D(conv_dim, 7, padding="same", use_bias=False,
                          kernel_initializer=conv_kernel(), name="stem_conv"),
            instance_norm("stem_norm"),
            layers.ReLU(name="stem_relu"),
        ]
        channels = conv_dim
        for i in range(2):
            channels *= 2
            blocks += [
                layers.Conv2D(channels, 4, strides=2, padding="same", use_bias=False,
                              kernel_initializer=conv_kernel(), name=f"down{i}_conv"),
                instance_norm(f"down{i}_norm"),
                layers.ReLU(name=f"down{i}_relu"),
            ]
        blocks += [ResidualBlock(channels, name=f"res{i}") for i in range(repeat_num)]
        for i in range(2):
            channels //= 2
            if upsample == "transpose":
                blocks.append(layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                                     use_bias=False,
                                                     kernel_initializer=conv_kernel(),
                                                     name=f"up{i}_conv"))
            else:
                blocks += [
                    layers.UpSampling2D(2, interpolation=upsample, name=f"up{i}_resize"),
                    layers.Conv2D(channels, 3, padding="same", use_bias=False,
                                  kernel_initializer=conv_kernel(), name=f"up{i}_conv"),
                ]
            blocks += [instance_norm(f"up{i}_norm"), layers.ReLU(name=f"up{i}_relu")]
        # Colour (and mask) in float32 under mixed precision: losses and callers get
        # float32 images.
        blocks.append(layers.Conv2D(4 if attention else 3, 7, padding="same", use_bias=False,
                                    kernel_initializer=conv_kernel(), name="out_conv"))
        self.blocks = blocks

    def build(self, input_shape):
        image_shape, _ = input_shape
        shape = tuple(image_shape[:-1]) + (image_shape[-1] + self.c_dim,)
        for block in self.blocks:
            if block is self.blocks[-1] and self.skip:
                shape = tuple(shape[:-1]) + (shape[-1] + self.conv_dim,)
            block.build(shape)
            shape = block.compute_output_shape(shape)

    def call(self, inputs, return_mask: bool = False):
        images, labels = inputs
        labels = ops.cast(labels, images.dtype)
        shape = ops.shape(images)
        tiled = ops.broadcast_to(labels[:, None, None, :],
                                 (shape[0], shape[1], shape[2], self.c_dim))
        x = ops.concatenate([images, tiled], axis=-1)
        for i, block in enumerate(self.blocks[:-1]):
            x = block(x)
            if i == STEM_LAYERS - 1:
                stem = x
        if self.skip:
            x = ops.concatenate([x, stem], axis=-1)
        x = ops.cast(self.blocks[-1](x), "float32")
        colour = ops.tanh(x[..., :3])
        if not self.attention:
            return (colour, None) if return_mask else colour
        mask = ops.sigmoid(x[..., 3:])
        output = mask * colour + (1.0 - mask) * ops.cast(images, "float32")
        return (output, mask) if return_mask else output

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (3,)

    def get_config(self):
        return {**super().get_config(), "conv_dim": self.conv_dim, "c_dim": self.c_dim,
                "repeat_num": self.repeat_num, "upsample": self.upsample,
                "attention": self.attention, "skip": self.skip}
