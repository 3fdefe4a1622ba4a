"""Portable .keras files of G: safe-mode loading, equal outputs, and mismatch messages."""

import keras
import numpy as np
import pytest
from runs import photo

from export.keras_file import export_keras_file
from stargan_keras import PortableGenerator, Translator, load_generator
from stargan_keras.errors import UserError
from stargan_keras.labels import LabelLayout, LabelSet


@pytest.fixture(scope="module")
def model_file(translator, tmp_path_factory):
    return export_keras_file(translator, str(tmp_path_factory.mktemp("keras") / "g.keras"))


def test_loads_in_safe_mode_and_equals_g(translator, model_file):
    model = keras.saving.load_model(model_file, safe_mode=True)
    assert isinstance(model, PortableGenerator)
    assert model.image_size == 16 and model.layout == translator.layout
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    labels = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 0, 1]], np.float32)
    np.testing.assert_array_equal(model([images, labels]), translator.generator([images, labels]))


def test_translator_from_the_file_needs_source_labels(translator, model_file):
    portable = Translator.from_keras_file(model_file)
    image = photo()
    np.testing.assert_array_equal(portable(image, "green", source_attrs="red,large"),
                                  translator(image, "green", source_attrs="red,large"))
    with pytest.raises(ValueError, match=r"a .keras file.*give the source labels"):
        portable(image, "green")


def test_mismatched_size_or_labels_are_named(translator, model_file):
    assert load_generator(model_file, 16, translator.layout).image_size == 16
    with pytest.raises(ValueError, match="built for 16 px, expected 128 px"):
        load_generator(model_file, image_size=128)
    other = LabelLayout((LabelSet("celeba", ("Black_Hair", "Male"), multi_label=True),))
    with pytest.raises(ValueError, match=r"labels: the file has \[synthetic: red, green, blue, "
                                         r"square, large\], expected \[celeba: Black_Hair, Male\]"):
        load_generator(model_file, layout=other)


def test_rejects_other_models_and_names(translator, tmp_path):
    plain = tmp_path / "plain.keras"
    translator.generator.save(plain)
    with pytest.raises(ValueError, match="holds a Generator, not a StarGAN generator exported"):
        load_generator(str(plain))
    with pytest.raises(ValueError, match="must end in .keras"):
        export_keras_file(translator, str(tmp_path / "g.h5"))


def test_a_joint_run_keeps_each_label_sets_crop(tmp_path):
    from runs import untrained_joint_run

    translator = Translator.from_run_dir(untrained_joint_run(str(tmp_path / "both"), 20, 36))
    loaded = Translator.from_keras_file(export_keras_file(translator,
                                                          str(tmp_path / "g.keras")))
    assert loaded.crop_size == 20 and loaded.crop_sizes == (20, 36)
    assert loaded.photo_set(["hbar"]) == 1


def test_a_file_without_crop_sizes_uses_its_crop_for_every_set(tmp_path):
    from runs import untrained_joint_run

    from stargan_keras.inference.portable import portable_generator

    translator = Translator.from_run_dir(untrained_joint_run(str(tmp_path / "both"), 20, 36))
    old = portable_generator(translator.generator, translator.layout, 16, 20)  # as before
    old.save(str(tmp_path / "old.keras"))
    assert Translator.from_keras_file(str(tmp_path / "old.keras")).crop_sizes == (20, 20)


@pytest.mark.slow
def test_export_creates_missing_folders(tmp_path):
    from runs import untrained_run

    translator = Translator.from_run_dir(untrained_run(str(tmp_path / "run"), "synthetic"))
    path = str(tmp_path / "not" / "yet" / "g.keras")
    assert export_keras_file(translator, path) == path
    assert load_generator(path, 16, translator.layout).image_size == 16
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UserError, match=f"cannot create the folder {tmp_path / 'a_file'}: "):
        export_keras_file(translator, str(tmp_path / "a_file" / "g.keras"))
