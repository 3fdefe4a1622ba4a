"""The main job end to end: a few iterations from the command line, then a resume."""

import glob
import json
import os
from collections import defaultdict

import numpy as np
import pytest
import tensorflow as tf
from cli import run, train_command
from PIL import Image

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow


def _summary_steps(log_dir):
    steps = defaultdict(list)
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for raw in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            for value in event.summary.value:
                steps[value.tag].append(event.step)
    return steps


def test_train_then_resume(tmp_path):
    run_dir = tmp_path / "run"
    flags = ["--num_iters_decay=10", "--log_step=5", "--sample_step=10", "--model_save_step=10"]
    log = tmp_path / "log.txt"
    assert run(train_command(run_dir, "--num_iters=10", *flags), log) == 0
    assert run(train_command(run_dir, "--num_iters=20", *flags), log) == 0
    text = log.read_text()
    assert "Resuming from iteration 10" in text
    assert "Training synthetic from iteration 10 to 20" in text

    assert sorted(os.listdir(run_dir / "checkpoints")) == [
        "checkpoint", "ckpt-10.data-00000-of-00001", "ckpt-10.index",
        "ckpt-20.data-00000-of-00001", "ckpt-20.index"]
    # Rows: 2 fixed images; columns: the input and the 5 targets, 16 px each, every pixel
    # an 8 x 8 block (the long side 96 px scaled to at least 768).
    grid = Image.open(run_dir / "samples" / "000020-images.png")
    assert grid.size == (6 * 16 * 8, 2 * 16 * 8) and grid.mode == "RGB"
    pixels = np.asarray(grid)
    np.testing.assert_array_equal(pixels, np.repeat(np.repeat(pixels[::8, ::8], 8, 0), 8, 1))
    assert os.path.exists(run_dir / "samples" / "000010-images.png")

    steps = _summary_steps(run_dir / "logs")
    for name in ("D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp", "G/loss_fake",
                 "G/loss_rec", "G/loss_cls"):
        assert sorted(steps[name]) == [5, 10, 15, 20], name
    assert sorted(steps["samples"]) == [10, 20]
    # Synthetic data without --eval_step: the truth is scored at every sample grid.
    assert sorted(steps["eval/ground_truth_l1"]) == [10, 20]
    assert "eval/reconstruction_l1" not in steps
    truth = json.loads((run_dir / "translation_error.json").read_text())
    assert truth["iteration"] == 20 and len(truth["per_target"]) == 5


def test_invalid_flags_fail_clearly(tmp_path):
    log = tmp_path / "log.txt"
    assert run(train_command(tmp_path / "run", "--num_iters=12", "--num_iters_decay=5"), log) == 2
    assert "--num_iters=12 is not a multiple of --n_critic=5" in log.read_text()
    assert run(train_command(tmp_path / "run", "--image_size=24", "--d_repeat_num=4"), log) == 2
    assert "--image_size=24 is not divisible by 2**d_repeat_num = 16" in log.read_text()
    assert run(train_command(tmp_path / "run", "--c_dim=3"), log) == 2
    assert "--c_dim=3 but synthetic has 5 labels (red, green, blue, square, large)" in \
        log.read_text()
    assert not os.path.exists(tmp_path / "run" / "checkpoints")
