"""Killed at any moment, nothing finished is lost; failing loudly and early."""

import os
import signal
import sys

import numpy as np
import pytest
import tensorflow as tf
from cli import run, start, train_command, wait_for
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.run_dir import RunDirectory, RunLock
from stargan_keras.training.loop import train

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow


def _checkpoint_iterations(run_dir):
    state = tf.train.get_checkpoint_state(os.path.join(run_dir, "checkpoints"))
    if state is None:
        return []
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


def _variables(run_dir, iteration):
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints", f"ckpt-{iteration}"))
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(
        os.path.join(run_dir, "checkpoints", f"ckpt-{iteration}")) if "OBJECT_GRAPH" not in name}


def _log(tmp_path):
    return open(tmp_path / "log.txt").read()


# The training command, except that its first checkpoint save stops half-way: TensorFlow
# has written the variables into ckpt-<i>_temp/ but not yet merged them into ckpt-<i>.* nor
# named them in the ``checkpoint`` index. It writes MARKER then and waits to be killed.
PAUSED_MID_WRITE = """
import os
import time

from absl import app

import stargan_keras.train as entry

use_onednn = entry.use_onednn


def use_onednn_then_pause_saves(enable):
    chosen = use_onednn(enable)
    # Imports TensorFlow, so only after main has chosen its kernels (as main does).
    from tensorflow.python.ops import gen_io_ops

    def merge_v2_checkpoints(*args, **kwargs):
        open({marker!r}, "w").close()
        time.sleep(300)
        os._exit(3)  # not killed: the test failed to

    gen_io_ops.merge_v2_checkpoints = merge_v2_checkpoints
    return chosen


entry.use_onednn = use_onednn_then_pause_saves
app.run(entry.main)
"""


def test_sigkill_anywhere_then_the_same_command_finishes(tmp_path):
    run_dir = str(tmp_path / "run")
    checkpoints = os.path.join(run_dir, "checkpoints")
    command = train_command(run_dir, "--num_iters=60", "--num_iters_decay=30",
                            "--model_save_step=10", "--sample_step=30", "--log_step=5",
                            "--keep_checkpoints=2")
    log = tmp_path / "log.txt"

    # 1. Killed in the middle of training, after its first checkpoint.
    process = start(command, log)
    assert wait_for(lambda: 10 in _checkpoint_iterations(run_dir), process=process)
    process.send_signal(signal.SIGKILL)
    process.wait()

    # 2. Killed while a checkpoint is being written: the same command, paused inside its
    # first save, so the kill lands there on any machine however fast its disk.
    marker = tmp_path / "writing"
    script = tmp_path / "paused_mid_write.py"
    script.write_text(PAUSED_MID_WRITE.format(marker=str(marker)))
    flags = command[command.index("stargan_keras.train") + 1:]
    process = start([sys.executable, str(script), *flags], log)
    assert wait_for(marker.exists, process=process), "the run never reached a save"
    partial = [name for name in os.listdir(checkpoints) if name.endswith("_temp")]
    assert len(partial) == 1 and os.listdir(os.path.join(checkpoints, partial[0]))
    writing = int(partial[0][len("ckpt-"):-len("_temp")])
    assert writing not in _checkpoint_iterations(run_dir)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    latest = tf.train.latest_checkpoint(checkpoints)
    assert latest is not None and int(latest.rsplit("-", 1)[1]) < writing
    assert tf.train.load_checkpoint(latest) is not None

    # 3. The same command again resumes from the last complete checkpoint and finishes.
    assert run(command, log) == 0
    assert _checkpoint_iterations(run_dir)[-1] == 60
    text = _log(tmp_path)
    assert text.count("Resuming from iteration") >= 2
    final = tf.train.load_checkpoint(os.path.join(checkpoints, "ckpt-60"))
    d_updates = [n for n in final.get_variable_to_shape_map() if "d_optimizer/_iterations" in n]
    assert d_updates and int(final.get_tensor(d_updates[0])) == 60


def test_sigterm_saves_the_current_iteration_and_exits_zero(tmp_path):
    run_dir = str(tmp_path / "run")
    command = train_command(run_dir, "--num_iters=100000", "--num_iters_decay=10",
                            "--model_save_step=100000", "--sample_step=100000", "--log_step=5")
    process = start(command, tmp_path / "log.txt")
    assert wait_for(lambda: "Iteration 10/" in _log(tmp_path), interval=0.1, process=process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    saved = _checkpoint_iterations(run_dir)
    assert len(saved) == 1 and 10 <= saved[0] < 100000 and saved[0] % 5 == 0
    assert "SIGTERM: saved iteration" in _log(tmp_path)


RECIPE_OPTION_FLAGS = ["--n_critic=1", "--adv_loss=r1", "--g_attention", "--lambda_mask=0.1",
                       "--g_upsample=nearest", "--g_ema_decay=0.99",
                       "--diff_augment=translation,cutout"]


@pytest.mark.parametrize("recipe", [[], RECIPE_OPTION_FLAGS], ids=["official", "options"])
def test_deterministic_resume_is_bit_identical(tmp_path, recipe):
    # The recipe options add state (G's moving average) and random draws (augmentation)
    # that a resume must restore and repeat exactly.
    flags = ["--deterministic", "--num_iters=40", "--num_iters_decay=20",
             "--model_save_step=10", "--sample_step=40", "--log_step=10", "--seed=5", *recipe]
    straight, interrupted = str(tmp_path / "straight"), str(tmp_path / "interrupted")
    assert run(train_command(straight, *flags), tmp_path / "log.txt") == 0
    command = train_command(interrupted, *flags)
    process = start(command, tmp_path / "log.txt")
    assert wait_for(lambda: 20 in _checkpoint_iterations(interrupted), process=process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert max(_checkpoint_iterations(interrupted)) < 40
    assert run(command, tmp_path / "log.txt") == 0
    a, b = _variables(straight, 40), _variables(interrupted, 40)
    assert a.keys() == b.keys() and len(a) > 20
    assert any(name.startswith("generator_ema/") for name in a) == bool(recipe)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


class _PoisonedSource:
    """Wraps a source so that images turn to NaN from example ``poison_from`` on."""

    def __init__(self, source, poison_from):
        self.source, self.poison_from = source, poison_from
        self.label_set = source.label_set

    def train_examples(self, start=0):
        def poison(index, example):
            image, labels = example
            bad = start + index >= self.poison_from
            return tf.where(bad, tf.fill(tf.shape(image), float("nan")), image), labels
        return self.source.train_examples(start).enumerate().map(poison)

    def __getattr__(self, name):  # held_out, apply, image_size: as the wrapped source
        return getattr(self.source, name)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import stargan_keras.training.loop as train_lib
    from stargan_keras.data import make_sources

    # Iterations 0-14 are clean (4 images each); iteration 15 on sees NaN images.
    monkeypatch.setattr(train_lib, "make_sources", lambda config: [
        _PoisonedSource(s, 15 * 4) for s in make_sources(config)])
    config = TrainConfig(run_dir=str(tmp_path / "run"), **{**TINY, "num_iters": 30,
                                                          "model_save_step": 10})
    with pytest.raises(FloatingPointError, match="non-finite loss at iteration 20: D/loss_real"):
        train(config)
    assert _checkpoint_iterations(config.run_dir) == [10]


def test_resume_with_other_flags_names_each_mismatch(tmp_path):
    run_dir = str(tmp_path / "run")
    flags = ["--num_iters=5", "--num_iters_decay=5", "--model_save_step=5", "--sample_step=5",
             "--log_step=5"]
    assert run(train_command(run_dir, *flags), tmp_path / "log.txt") == 0
    code = run(train_command(run_dir, *flags, "--image_size=32", "--g_conv_dim=8",
                             "--selected_attrs=red,green,blue,square"), tmp_path / "log.txt")
    assert code == 2
    text = _log(tmp_path)
    assert "image_size: run has 16, flags give 32" in text
    assert "g_conv_dim: run has 4, flags give 8" in text
    assert "labels: run has [synthetic: red, green, blue, square, large]" in text


def test_a_run_dir_in_use_is_not_written_by_a_second_process(tmp_path):
    run_dir = str(tmp_path / "run")
    with RunLock(RunDirectory(run_dir)):
        code = run(train_command(run_dir, "--num_iters=5", "--num_iters_decay=5"),
                   tmp_path / "log.txt")
    assert code == 2
    assert f"{run_dir} is in use by another training process (pid {os.getpid()})" in \
        _log(tmp_path)
    assert not os.path.exists(os.path.join(run_dir, "run.json"))
