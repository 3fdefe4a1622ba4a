"""A run of the fast recipe end to end: run.json, the averaged G in checkpoints, and that
G (with its attention mask and resize decoder) in translation and every export."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY
from test_engine import RECIPE

from export import tflite
from export.keras_file import export_keras_file
from export.saved_model import export_saved_model
from stargan_keras import Translator, load_generator
from stargan_keras.config import TrainConfig
from stargan_keras.data.synthetic import SyntheticShapes
from stargan_keras.run_dir import RunDirectory, restore_networks

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    from stargan_keras.training.loop import train

    path = str(tmp_path_factory.mktemp("recipe") / "run")
    train(TrainConfig(run_dir=path, **{**TINY, **RECIPE}))
    return path


@pytest.fixture(scope="module")
def inputs():
    images, labels, _ = SyntheticShapes("synthetic", 16, seed=0).held_out(4)
    return images.numpy(), np.roll(labels.numpy(), 1, axis=0).astype(np.float32)


def _checkpoint_values(run_dir, network):
    path = tf.train.latest_checkpoint(f"{run_dir}/checkpoints")
    prefix = f"{network}/"
    # The checkpoint writes "/" inside a name as ".S".
    return {name[len(prefix):].split("/.ATTRIBUTES")[0].replace(".S", "/"):
            tf.train.load_variable(path, name)
            for name, _ in tf.train.list_variables(path) if name.startswith(prefix)}


def test_run_json_records_the_recipe(recipe_run):
    config = RunDirectory(recipe_run).config()
    for name, value in RECIPE.items():
        assert getattr(config, name) == value, name
    assert RunDirectory(recipe_run).read_spec()["model"]["g_attention"] is True


def test_restored_g_is_the_moving_average(recipe_run):
    averaged = _checkpoint_values(recipe_run, "generator_ema")
    trained = _checkpoint_values(recipe_run, "generator")
    assert averaged.keys() == trained.keys() and len(averaged) > 10
    generator, _, iteration = restore_networks(RunDirectory(recipe_run))
    assert iteration == 10 and generator.attention and generator.upsample == "nearest"
    for weight in generator.weights:
        key = weight.path.split("/", 1)[1]
        np.testing.assert_array_equal(weight, averaged[key])
    assert any(not np.array_equal(averaged[k], trained[k]) for k in averaged)


def test_translation_and_exports_use_the_averaged_g(recipe_run, inputs, tmp_path):
    images, labels = inputs
    translator = Translator.from_run_dir(recipe_run)
    expected = translator.generator([images, labels]).numpy()
    generator, _, _ = restore_networks(RunDirectory(recipe_run))
    np.testing.assert_array_equal(expected, generator([images, labels]))

    portable = load_generator(export_keras_file(translator, str(tmp_path / "g.keras")))
    assert (portable.attention, portable.upsample) == (True, "nearest")
    np.testing.assert_allclose(portable([images, labels]), expected, atol=1e-6)

    served = tf.saved_model.load(export_saved_model(translator, str(tmp_path / "models")))
    outputs = served.signatures["serving_default"](images=tf.constant(images),
                                                   labels=tf.constant(labels))
    np.testing.assert_allclose(next(iter(outputs.values())), expected, atol=1e-5)

    runner = tflite.interpreter(tflite.convert(translator, "none")).get_signature_runner()
    np.testing.assert_allclose(tflite.run_each(runner, images, labels), expected, atol=1e-4)
