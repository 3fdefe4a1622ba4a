import keras
import numpy as np
import pytest
import tensorflow as tf

from stargan_keras import Discriminator, Generator

# Every layer of the official G at 128 px, c_dim 5: (name, output shape without batch).
G_LAYERS = (
    [("stem_conv", (128, 128, 64)), ("stem_norm", (128, 128, 64)), ("stem_relu", (128, 128, 64)),
     ("down0_conv", (64, 64, 128)), ("down0_norm", (64, 64, 128)), ("down0_relu", (64, 64, 128)),
     ("down1_conv", (32, 32, 256)), ("down1_norm", (32, 32, 256)), ("down1_relu", (32, 32, 256))]
    + [(f"res{i}", (32, 32, 256)) for i in range(6)]
    + [("up0_conv", (64, 64, 128)), ("up0_norm", (64, 64, 128)), ("up0_relu", (64, 64, 128)),
       ("up1_conv", (128, 128, 64)), ("up1_norm", (128, 128, 64)), ("up1_relu", (128, 128, 64)),
       ("out_conv", (128, 128, 3))])
D_LAYERS = [(f"down{i}_{kind}", (128 // 2 ** (i + 1),) * 2 + (64 * 2**i,))
            for i in range(6) for kind in ("conv", "lrelu")]


def _trace_shapes(layers, shape):
    shapes = []
    for layer in layers:
        shape = layer.compute_output_shape(shape)
        shapes.append((layer.name, tuple(shape[1:])))
    return shapes


def test_official_parameter_counts():
    g = Generator()
    g.build(((None, 128, 128, 3), (None, 5)))
    d = Discriminator()
    d.build((None, 128, 128, 3))
    assert g.count_params() == 8_430_528
    assert d.count_params() == 44_762_048


def test_generator_layer_by_layer():
    g = Generator()
    g.build(((None, 128, 128, 3), (None, 5)))
    assert _trace_shapes(g.blocks, (None, 128, 128, 8)) == G_LAYERS
    kinds = [type(layer).__name__ for layer in g.blocks]
    assert kinds.count("GroupNormalization") == 5 and kinds.count("ReLU") == 5
    for block in g.blocks[9:15]:
        assert [type(x).__name__ for x in (block.conv1, block.norm1, block.conv2, block.norm2)] \
            == ["Conv2D", "GroupNormalization", "Conv2D", "GroupNormalization"]
    # No biases anywhere in G: every weight is a kernel or a norm's gamma/beta.
    assert all(w.path.endswith(("kernel", "gamma", "beta")) for w in g.weights)
    norms = [layer for layer in g.blocks if isinstance(layer, keras.layers.GroupNormalization)]
    assert all(n.groups == n.gamma.shape[0] and n.epsilon == 1e-5 for n in norms)


def test_discriminator_layer_by_layer():
    d = Discriminator()
    d.build((None, 128, 128, 3))
    assert _trace_shapes(d.trunk, (None, 128, 128, 3)) == D_LAYERS
    assert all(c.use_bias for c in d.trunk[::2])
    assert all(a.negative_slope == pytest.approx(0.01) for a in d.trunk[1::2])
    assert not d.src_head.use_bias and not d.cls_head.use_bias
    assert d.cls_head.kernel.shape == (2, 2, 2048, 5)
    src, cls = d(np.zeros((2, 128, 128, 3), "float32"))
    assert src.shape == (2, 2, 2, 1) and cls.shape == (2, 5)


def test_generator_output_and_label_conditioning():
    g = Generator(conv_dim=8, c_dim=3, repeat_num=1)
    x = tf.random.stateless_uniform((2, 16, 16, 3), (1, 2), -1, 1)
    a = g([x, tf.constant([[1., 0, 0]] * 2)])
    b = g([x, tf.constant([[0., 1, 0]] * 2)])
    assert a.shape == (2, 16, 16, 3)
    assert float(tf.reduce_max(tf.abs(a))) <= 1.0
    assert float(tf.reduce_max(tf.abs(a - b))) > 1e-4


def test_instance_norm_uses_each_images_own_statistics():
    # An image's translation must not depend on the batch it is in (no batch or running
    # statistics), in inference as in training.
    g = Generator(conv_dim=8, c_dim=2, repeat_num=1)
    x = tf.random.stateless_uniform((3, 16, 16, 3), (3, 4), -1, 1)
    c = tf.constant([[1., 0], [0, 1], [1, 1]])
    together = g([x, c], training=False)
    alone = g([x[:1], c[:1]], training=False)
    trained = g([x, c], training=True)
    np.testing.assert_allclose(together[:1], alone, atol=1e-5)
    np.testing.assert_allclose(together, trained, atol=1e-6)


def test_discriminator_rejects_indivisible_size():
    with pytest.raises(ValueError, match="not divisible by 2\\*\\*d_repeat_num"):
        Discriminator(image_size=100, repeat_num=6)


def test_models_round_trip_through_keras_files(tmp_path):
    g = Generator(conv_dim=8, c_dim=3, repeat_num=2)
    d = Discriminator(image_size=16, conv_dim=8, c_dim=3, repeat_num=2)
    x = tf.random.stateless_uniform((2, 16, 16, 3), (5, 6), -1, 1)
    c = tf.constant([[1., 0, 1], [0, 1, 0]])
    g([x, c]), d(x)
    for model, args in ((g, [x, c]), (d, x)):
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        assert loaded.get_config() == model.get_config()
        for a, b in zip(tf.nest.flatten(model(args)), tf.nest.flatten(loaded(args))):
            np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
def test_resize_decoder_replaces_each_transposed_convolution(upsample):
    g = Generator(conv_dim=8, c_dim=2, repeat_num=1, upsample=upsample)
    g.build(((None, 16, 16, 3), (None, 2)))
    up = [(type(layer).__name__, layer.name) for layer in g.blocks if layer.name.startswith("up")]
    assert up == [("UpSampling2D", "up0_resize"), ("Conv2D", "up0_conv"),
                  ("GroupNormalization", "up0_norm"), ("ReLU", "up0_relu"),
                  ("UpSampling2D", "up1_resize"), ("Conv2D", "up1_conv"),
                  ("GroupNormalization", "up1_norm"), ("ReLU", "up1_relu")]
    assert all(layer.interpolation == upsample for layer in g.blocks
               if isinstance(layer, keras.layers.UpSampling2D))
    # 3x3 kernels in place of 4x4: 32->16 and 16->8 channels.
    transposed = Generator(conv_dim=8, c_dim=2, repeat_num=1)
    transposed.build(((None, 16, 16, 3), (None, 2)))
    assert transposed.count_params() - g.count_params() == (16 - 9) * (32 * 16 + 16 * 8)
    assert g([tf.zeros((2, 16, 16, 3)), tf.zeros((2, 2))]).shape == (2, 16, 16, 3)


def test_attention_output_blends_colour_and_input_by_the_mask():
    g = Generator(conv_dim=8, c_dim=2, repeat_num=1, attention=True)
    g.build(((None, 16, 16, 3), (None, 2)))
    assert g.blocks[-1].filters == 4
    x = tf.random.stateless_uniform((2, 16, 16, 3), (1, 2), -1, 1)
    c = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    # A zero last kernel: colour tanh(0) = 0 and mask sigmoid(0) = 0.5 -> x / 2 exactly.
    g.blocks[-1].kernel.assign(tf.zeros_like(g.blocks[-1].kernel))
    out, mask = g([x, c], return_mask=True)
    np.testing.assert_allclose(out, x / 2, atol=1e-7)
    np.testing.assert_allclose(mask, 0.5 * np.ones((2, 16, 16, 1)))
    # Otherwise: out = m * tanh(colour logits) + (1 - m) * x, from the same last layer.
    g.blocks[-1].kernel.assign(0.05 * tf.random.stateless_normal(g.blocks[-1].kernel.shape,
                                                                 (3, 4)))
    out, mask = g([x, c], return_mask=True)
    h = tf.concat([x, tf.broadcast_to(c[:, None, None, :], (2, 16, 16, 2))], axis=-1)
    for block in g.blocks:
        h = block(h)
    np.testing.assert_allclose(mask, tf.sigmoid(h[..., 3:]), atol=1e-6)
    np.testing.assert_allclose(out, mask * tf.tanh(h[..., :3]) + (1 - mask) * x, atol=1e-6)
    np.testing.assert_allclose(g([x, c]), out)


def test_skip_feeds_the_stem_to_the_last_convolution():
    g = Generator(conv_dim=8, c_dim=2, repeat_num=1, skip=True)
    g.build(((None, 16, 16, 3), (None, 2)))
    plain = Generator(conv_dim=8, c_dim=2, repeat_num=1)
    plain.build(((None, 16, 16, 3), (None, 2)))
    # The last 7x7 convolution reads 8 + 8 channels: 7 * 7 * 8 * 3 more weights.
    assert g.blocks[-1].kernel.shape == (7, 7, 16, 3)
    assert g.count_params() - plain.count_params() == 7 * 7 * 8 * 3
    x = tf.random.stateless_uniform((2, 16, 16, 3), (1, 2), -1, 1)
    c = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    h = tf.concat([x, tf.broadcast_to(c[:, None, None, :], (2, 16, 16, 2))], axis=-1)
    for block in g.blocks[:-1]:
        h = block(h)
        if block.name == "stem_relu":
            stem = h
    expected = tf.tanh(g.blocks[-1](tf.concat([h, stem], axis=-1)))
    np.testing.assert_allclose(g([x, c]), expected, atol=1e-6)


def test_generator_options_round_trip_through_its_config():
    g = Generator(conv_dim=8, c_dim=2, repeat_num=1, upsample="bilinear", attention=True,
                  skip=True)
    clone = Generator.from_config(g.get_config())
    assert (clone.upsample, clone.attention, clone.skip) == ("bilinear", True, True)
    with pytest.raises(ValueError, match="upsample='cubic'"):
        Generator(upsample="cubic")
