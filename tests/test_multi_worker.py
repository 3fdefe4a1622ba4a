"""Two worker processes on 127.0.0.1 train in lockstep, as one device would train the same
global batch; only the chief writes."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from multi_worker_process import MULTI_WORKER

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.labels import LabelLayout
from stargan_keras.training.loop import build_model

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_as_one_device_and_only_the_chief_writes(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    here = os.path.dirname(__file__)
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": here,
               "TF_CONFIG": json.dumps({"cluster": cluster,
                                        "task": {"type": "worker", "index": index}})}
        # Separate run dirs stand for separate machines without shared storage.
        command = [sys.executable, os.path.join(here, "multi_worker_process.py"),
                   str(tmp_path / f"run{index}"), str(tmp_path / f"weights{index}.npz")]
        log = open(tmp_path / f"log{index}.txt", "wb")
        processes.append(subprocess.Popen(command, env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
    codes = [p.wait(timeout=600) for p in processes]
    logs = [open(tmp_path / f"log{i}.txt").read() for i in range(2)]
    assert codes == [0, 0], logs
    a, b = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert len(a.files) == len(b.files) > 10
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name])
    chief, worker = tmp_path / "run0", tmp_path / "run1"
    assert sorted(os.listdir(chief / "checkpoints")) == [
        "checkpoint", "ckpt-10.data-00000-of-00001", "ckpt-10.index",
        "ckpt-5.data-00000-of-00001", "ckpt-5.index"]
    assert os.listdir(chief / "logs") and os.listdir(chief / "samples")
    assert not worker.exists() or not any(files for _, _, files in os.walk(worker))
    _assert_one_device_trains_the_same(np.load(tmp_path / "weights0.initial.npz"),
                                       np.load(tmp_path / "weights1.initial.npz"), a,
                                       _logged_losses(chief / "logs"))


def _logged_losses(logs_dir):
    """The chief's logged loss terms, {iteration: {name: value}}, from its summaries."""
    losses = {}
    for root, _, files in os.walk(logs_dir):
        for name in files:
            if not name.startswith("events"):
                continue
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                for value in event.summary.value:
                    if "/loss_" in value.tag:
                        losses.setdefault(event.step, {})[value.tag] = float(
                            tf.make_ndarray(value.tensor))
    return losses


def _assert_one_device_trains_the_same(initial0, initial1, trained, logged):
    """One device, from the workers' initial weights, trains the global batch the two
    workers shared (4 + 4 per iteration) with the project's optimizer (build_model's
    Adam and its schedule) and must log the same losses and compute the same outputs.

    Compared as tests/test_engine.py's mirrored Adam test compares: logs and what the
    networks compute, not raw weights (Adam turns rounding-level gradients into +-lr
    steps of either sign; those weights change no output). Adam is blind to a constant
    factor on the gradient, so the replica loss scaling is pinned by that file's SGD
    test; the two workers run the same replica step with the same replica count.
    """
    for name in initial0.files:
        np.testing.assert_array_equal(initial0[name], initial1[name])
    config = TrainConfig(**MULTI_WORKER)
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    model = build_model(config, layout)
    weights = model.generator.weights + model.discriminator.weights
    for variable, name in zip(weights, initial0.files):
        variable.assign(initial0[name])
    # Each worker's batches (one replica each) are [n_critic, sets, 4]: the global
    # batch puts worker 0's 4 examples, then worker 1's, in every iteration.
    shares = [iter(training_batches(sources, layout, config.batch_size, config.n_critic,
                                    num_replicas=2, seed=config.seed, num_workers=2, worker=w))
              for w in range(2)]
    step = tf.function(model.train_step)
    for iteration in range(config.n_critic, config.num_iters + 1, config.n_critic):
        parts = [next(share) for share in shares]
        batch = {}
        for key in parts[0]:
            pieces = [tf.reshape(p[key], [config.n_critic, config.batch_size, -1])
                      for p in parts]
            batch[key] = tf.reshape(tf.concat(pieces, axis=1),
                                    [-1] + list(parts[0][key].shape[1:]))
        logs = step(batch)
        assert set(logged[iteration]) == set(logs), iteration
        for name, value in logs.items():
            assert logged[iteration][name] == pytest.approx(float(value), rel=1e-5, abs=1e-6), (
                iteration, name)
    reference = build_model(config, layout)
    reference_weights = reference.generator.weights + reference.discriminator.weights
    for variable, name in zip(reference_weights, trained.files):
        variable.assign(trained[name])
    x = tf.random.stateless_uniform((4, 16, 16, 3), (5, 6), -1, 1)
    c = tf.one_hot([0, 1, 2, 0], layout.width)
    for a, b in ((model.generator([x, c]), reference.generator([x, c])),
                 *zip(model.discriminator(x), reference.discriminator(x))):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
