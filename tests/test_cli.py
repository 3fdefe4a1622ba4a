"""Where a user's mistake ends and the project's bug begins: ``UserError`` gets one line and
exit code 2, anything else keeps its traceback (stargan_keras.cli, stargan_keras.errors)."""

import os
import subprocess
import sys
import textwrap

import pytest
from absl import app

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.errors import (
    MissingExtraError,
    MissingFileError,
    RunInUseError,
    TrainingDivergedError,
    UserError,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_a_user_error_is_one_line_and_exit_code_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        with user_errors():
            raise MissingFileError("--input=photos: no such file or folder")
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "error: --input=photos: no such file or folder\n"


@pytest.mark.parametrize("bug", [ValueError("a bug"), FileNotFoundError("a bug"),
                                 RuntimeError("a bug"), FloatingPointError("a bug")])
def test_any_other_exception_propagates(bug):
    with pytest.raises(type(bug), match="a bug"):
        with user_errors():
            raise bug


def test_user_errors_are_also_the_builtin_error_they_replace():
    for error, builtin in ((UserError, ValueError), (MissingFileError, FileNotFoundError),
                           (MissingExtraError, ImportError), (RunInUseError, RuntimeError),
                           (TrainingDivergedError, FloatingPointError)):
        assert issubclass(error, builtin) and issubclass(error, UserError)


def test_check_no_arguments():
    check_no_arguments(["prog"])
    with pytest.raises(app.UsageError, match="unexpected arguments: a b"):
        check_no_arguments(["prog", "a", "b"])


@pytest.mark.slow
def test_a_users_mistake_on_a_real_command_line(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"")
    done = _run("-m", "stargan_keras.translate", f"--run_dir={tmp_path / 'nowhere'}",
                f"--input={photo}", f"--output={tmp_path / 'out'}")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {tmp_path / 'nowhere' / 'run.json'} not found: is "
                      f"{tmp_path / 'nowhere'} a run directory?"]


@pytest.mark.slow
def test_a_bug_keeps_its_traceback_on_a_real_command_line(tmp_path):
    # The command as a user runs it, with the project's own code broken: a plain
    # ValueError where a run directory is read.
    script = textwrap.dedent(f"""
        import runpy, sys
        from stargan_keras import run_dir

        def broken(self, *args, **kwargs):
            raise ValueError("a bug in the project")

        run_dir.RunDirectory.read_spec = broken
        sys.argv = ["translate", "--run_dir={tmp_path}", "--input={tmp_path}",
                    "--output={tmp_path / 'out'}"]
        runpy.run_module("stargan_keras.translate", run_name="__main__", alter_sys=True)
    """)
    done = _run("-c", script)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback (most recent call last)" in done.stderr
    assert "ValueError: a bug in the project" in done.stderr
    assert not any(line.startswith("error:") for line in done.stderr.splitlines())
