"""Two worker processes on 127.0.0.1 train in lockstep; only the chief writes."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

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


def test_two_workers_agree_and_only_the_chief_writes(tmp_path):
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
