"""stargan_keras.runtime.use_onednn: each entry point's choice of TensorFlow's oneDNN
kernels, the user's own setting winning, and a library import that changes nothing.
(keep_freed_memory is tested in test_benchmark.py beside the figures it serves.)"""

import os
import subprocess
import sys
import textwrap

import pytest

from stargan_keras.runtime import ONEDNN_VARIABLE, onednn_helps, use_onednn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs a command's module as ``python -m`` does, but refuses to import TensorFlow, so the
# command stops right after its process-wide choices; prints the variable on the way out.
ENTRY_POINT = textwrap.dedent("""
    import atexit, os, runpy, sys

    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras"):
                raise ImportError("this test stops the command before TensorFlow")

    sys.meta_path.insert(0, NoTensorFlow())
    atexit.register(lambda: print("ONEDNN=" + os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")))
    module = sys.argv[1]
    sys.argv = [module] + sys.argv[2:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
""")


def _environment(**settings) -> dict:
    env = {k: v for k, v in os.environ.items() if k != ONEDNN_VARIABLE}
    return {**env, **settings, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _onednn_after(module: str, *args: str, **settings) -> str:
    done = subprocess.run([sys.executable, "-c", ENTRY_POINT, module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env=_environment(**settings))
    assert "this test stops the command before TensorFlow" in done.stderr, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("module,args,expected", [
    ("stargan_keras.train", [], "1"),
    ("stargan_keras.train_classifier", ["--run_dir=cls"], "1"),
    ("stargan_keras.evaluate", ["--run_dir=r", "--classifier=c", "--output=o"], "1"),  # batch 64
    ("stargan_keras.evaluate", ["--run_dir=r", "--classifier=c", "--output=o",
                                "--batch_size=1"], "0"),
    ("stargan_keras.translate", ["--run_dir=r", "--input=i", "--output=o"], "0"),
    ("stargan_keras.demo", ["--run_dir=r"], "0"),
    ("tools.benchmark", [], "1"),
])
def test_each_entry_point_chooses_for_its_work(module, args, expected):
    assert _onednn_after(module, *args) == f"ONEDNN={expected}"


@pytest.mark.slow
def test_the_users_own_setting_wins():
    assert _onednn_after("stargan_keras.train", TF_ENABLE_ONEDNN_OPTS="0") == "ONEDNN=0"
    assert _onednn_after("stargan_keras.translate", "--run_dir=r", "--input=i", "--output=o",
                         TF_ENABLE_ONEDNN_OPTS="1") == "ONEDNN=1"


def test_importing_the_library_changes_nothing():
    code = ("import os, sys, stargan_keras; from stargan_keras import TrainConfig; "
            "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'), "
            "'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=_environment())
    assert done.stdout.split() == ["unset", "False"], done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("enable", [True, False])
def test_tensorflow_follows_the_choice_made_before_its_import(enable):
    code = ("from stargan_keras.runtime import use_onednn; import sys; "
            f"use_onednn({enable}); import tensorflow; "
            "from tensorflow.python.util import _pywrap_util_port; "
            "print(bool(_pywrap_util_port.IsMklEnabled()))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=_environment())
    assert done.stdout.split()[-1:] == [str(enable)], done.stderr[-2000:]


def test_use_onednn_keeps_an_explicit_value_and_warns_once_tensorflow_is_loaded(
        monkeypatch, caplog):
    import tensorflow  # noqa: F401  (the test process has it already; made explicit)

    monkeypatch.delenv(ONEDNN_VARIABLE, raising=False)
    assert use_onednn(False) is False and os.environ[ONEDNN_VARIABLE] == "0"
    assert "takes effect only in processes started from here" in caplog.text
    monkeypatch.setenv(ONEDNN_VARIABLE, "true")
    assert use_onednn(False) is True and os.environ[ONEDNN_VARIABLE] == "true"


def test_onednn_helps_from_the_measured_batch():
    assert [onednn_helps(b) for b in (1, 5, 15, 16, 64)] == [False, False, False, True, True]
