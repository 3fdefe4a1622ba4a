"""make_sources: dataset choice, flag validation, joint batches and a CLI run on real files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import TINY
from image_data import write_celeba, write_class_folders

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.data.rafd import RAFD_EXPRESSIONS
from stargan_keras.labels import LabelLayout

DEFAULT_ATTRS = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]


@pytest.fixture
def both_dirs(tmp_path):
    image_dir, attr_path, _ = write_celeba(str(tmp_path / "celeba"), 20, size=(40, 30))
    rafd_dir = write_class_folders(str(tmp_path / "rafd"), {e: 2 for e in RAFD_EXPRESSIONS},
                                   size=(40, 30), first_value=100)
    return dict(celeba_image_dir=image_dir, attr_path=attr_path, rafd_image_dir=rafd_dir)


def test_joint_batches_carry_the_mask_and_each_sets_labels(both_dirs):
    config = TrainConfig(dataset="both", image_size=8, d_repeat_num=3, celeba_crop_size=30,
                         rafd_crop_size=30,
                         **both_dirs)
    config.validate()
    celeba, rafd = make_sources(config)
    layout = LabelLayout((celeba.label_set, rafd.label_set))
    assert layout.width == 5 + 8 + 2 and [s.name for s in layout.label_sets] == ["celeba", "rafd"]
    (batch,) = training_batches([celeba, rafd], layout, batch_size=3, n_critic=1).take(1)
    labels, images = batch["labels"].numpy(), batch["images"].numpy()
    for s, source in enumerate((celeba, rafd)):
        examples = list(source.train_examples(0).take(3))
        part = slice(3 * s, 3 * s + 3)
        np.testing.assert_array_equal(labels[part, 13:], [[1 - s, s]] * 3)
        start, end = layout.span(s)
        np.testing.assert_array_equal(labels[part, start:end], [e[1] for e in examples])
        other = [c for c in range(13) if not start <= c < end]
        assert not labels[part][:, other].any()
        np.testing.assert_array_equal(images[part], [e[0] for e in examples])


@pytest.mark.parametrize("fields, message", [
    (dict(dataset="celeba"), "--dataset=celeba needs --celeba_image_dir"),
    (dict(dataset="celeba", celeba_image_dir="."), "--dataset=celeba needs --attr_path"),
    (dict(dataset="celeba", celeba_image_dir="/no/such/dir", attr_path="x"),
     "--celeba_image_dir=/no/such/dir: no such folder"),
    (dict(dataset="celeba", celeba_image_dir=".", attr_path="/no/attrs.txt"),
     "--attr_path=/no/attrs.txt: no such file"),
    (dict(dataset="celeba", tfds_data_dir=".", celeba_image_dir="."), "not both"),
    (dict(dataset="both", tfds_data_dir="."), "--dataset=both needs --rafd_image_dir"),
    (dict(dataset="rafd", rafd_image_dir=".", rafd_crop_size=0), "--rafd_crop_size=0"),
    (dict(dataset="folder"), "--dataset=folder needs --image_dir"),
    (dict(dataset="folder", image_dir=".", attr_path="/no/labels.csv"),
     "--attr_path=/no/labels.csv: no such file"),
])
def test_missing_or_wrong_paths_are_named(fields, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**fields).validate()


@pytest.mark.slow
def test_cli_trains_jointly_on_files_and_run_json_names_the_labels(both_dirs, tmp_path):
    run_dir = tmp_path / "run"
    # n_critic 1 keeps the traced step small: one D and one G update per label set.
    tiny = {**TINY, "n_critic": 1, "num_iters": 2, "num_iters_decay": 0, "log_step": 1,
            "sample_step": 2, "model_save_step": 2}
    flags = [f"--{k}={v}" for k, v in tiny.items()] + [
        "--dataset=both", f"--run_dir={run_dir}", "--celeba_crop_size=30",
        "--rafd_crop_size=30"] + [f"--{k}={v}" for k, v in both_dirs.items()]
    done = subprocess.run([sys.executable, "-m", "stargan_keras.train", *flags],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    with open(run_dir / "run.json") as f:
        spec = json.load(f)
    assert [(s["name"], s["names"], s["multi_label"]) for s in spec["labels"]] == [
        ("celeba", DEFAULT_ATTRS, True), ("rafd", list(RAFD_EXPRESSIONS), False)]
    assert spec["labels"][0]["exclusive"] == [["Black_Hair", "Blond_Hair", "Brown_Hair"]]
    assert os.path.exists(run_dir / "checkpoints" / "ckpt-2.index")
    assert os.path.exists(run_dir / "samples" / "000002-images.png")
    assert "checked 20 images" in log and "checked 16 images" in log
