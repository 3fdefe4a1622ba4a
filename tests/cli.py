"""Run the training CLI in a subprocess, as a user would (and as a killer would)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

TINY_FLAGS = ["--image_size=16", "--g_conv_dim=4", "--d_conv_dim=4", "--g_repeat_num=1",
              "--d_repeat_num=2", "--batch_size=4", "--n_critic=5", "--num_sample_images=2",
              "--num_eval_images=8"]


def train_command(run_dir, *flags: str) -> list[str]:
    return [sys.executable, "-m", "stargan_keras.train", f"--run_dir={run_dir}", *TINY_FLAGS,
            *flags]


def start(command: list[str], log_path, env: dict | None = None) -> subprocess.Popen:
    log = open(log_path, "ab")
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)


def run(command: list[str], log_path, timeout: float = 300, env: dict | None = None) -> int:
    process = start(command, log_path, env)
    return process.wait(timeout=timeout)


def wait_for(predicate, timeout: float = 300, interval: float = 0.001, process=None) -> bool:
    """Poll ``predicate`` until true; False on timeout or when ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(interval)
    return False
