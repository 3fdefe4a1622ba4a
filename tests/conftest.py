"""Test setup: two logical CPU devices (for MirroredStrategy tests) and a tiny config."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must happen before TensorFlow initialises its devices; the default strategy uses only
# the first one, so other tests are unaffected.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

from stargan_keras.config import TrainConfig  # noqa: E402

TINY = dict(image_size=16, g_conv_dim=4, d_conv_dim=4, g_repeat_num=1, d_repeat_num=2,
            batch_size=4, num_iters=10, num_iters_decay=5, n_critic=5, log_step=5,
            sample_step=5, model_save_step=5, num_sample_images=2, num_eval_images=8)


@pytest.fixture
def tiny_config(tmp_path) -> TrainConfig:
    return TrainConfig(run_dir=str(tmp_path / "run"), **TINY)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> str:
    """A tiny trained synthetic run, shared by the translation and export tests."""
    from runs import trained_run

    return trained_run(tmp_path_factory)


@pytest.fixture(scope="session")
def translator(run_dir):
    from stargan_keras import Translator

    return Translator.from_run_dir(run_dir)
