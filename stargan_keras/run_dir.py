"""A run directory: the run's spec, its checkpoints, TensorBoard logs and sample grids.

    RUN/run.json        what shapes the model (sizes, widths, depths, label names)
    RUN/checkpoints/    ckpt-<iteration>: G, D, both optimizers (the iteration is D's)
    RUN/logs/           TensorBoard summaries, stepped by training iteration
    RUN/samples/        <iteration>-images.png sample grids
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import tempfile

import keras
import tensorflow as tf
from absl import logging

from stargan_keras.config import MODEL_DEFAULTS, MODEL_KEYS, TrainConfig
from stargan_keras.errors import MissingFileError, RunInUseError, UserError
from stargan_keras.labels import LabelLayout
from stargan_keras.models import Discriminator, Generator

SPEC_FILE = "run.json"


def make_spec(config: TrainConfig, layout: LabelLayout) -> dict:
    return {"model": config.model_shape(), "labels": layout.to_json(),
            "dataset": config.dataset, "config": config.to_json()}


def spec_mismatches(saved: dict, wanted: dict) -> list[str]:
    """Human-readable differences between two specs in what shapes the model."""
    def value(spec, key):
        return spec["model"].get(key, MODEL_DEFAULTS.get(key))

    problems = [f"{key}: run has {value(saved, key)}, flags give {value(wanted, key)}"
                for key in MODEL_KEYS if value(saved, key) != value(wanted, key)]
    saved_layout = LabelLayout.from_json(saved["labels"])
    wanted_layout = LabelLayout.from_json(wanted["labels"])
    if saved_layout != wanted_layout:
        problems.append(f"labels: run has [{saved_layout.describe()}], "
                        f"flags give [{wanted_layout.describe()}]")
    return problems


class RunDirectory:
    """Paths and spec of one training run."""

    def __init__(self, path: str):
        self.path = path
        self.checkpoints = os.path.join(path, "checkpoints")
        self.logs = os.path.join(path, "logs")
        self.samples = os.path.join(path, "samples")

    @property
    def spec_path(self) -> str:
        return os.path.join(self.path, SPEC_FILE)

    def read_spec(self) -> dict:
        if not os.path.exists(self.spec_path):
            raise MissingFileError(f"{self.spec_path} not found: is {self.path} a run directory?")
        with open(self.spec_path) as f:
            try:
                return json.load(f)
            except json.JSONDecodeError as error:
                raise UserError(f"{self.spec_path} is not valid JSON ({error}): an edited "
                                "or truncated file?") from None

    def claim(self, spec: dict) -> None:
        """Write the spec of a new run, or check that an existing run matches it."""
        if os.path.exists(self.spec_path):
            problems = spec_mismatches(self.read_spec(), spec)
            if problems:
                raise UserError(f"{self.path} holds a run that does not match these flags:\n  "
                                + "\n  ".join(problems))
            return
        for path in (self.path, self.checkpoints, self.logs, self.samples):
            os.makedirs(path, exist_ok=True)
        temporary = self.spec_path + ".tmp"
        with open(temporary, "w") as f:
            json.dump(spec, f, indent=2)
        os.replace(temporary, self.spec_path)

    def config(self) -> TrainConfig:
        """The run's TrainConfig as run.json records it (JSON lists back to tuples)."""
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        values = {k: v for k, v in self.read_spec().get("config", {}).items() if k in fields}
        for name in ("selected_attrs", "diff_augment"):
            if name in values:
                values[name] = tuple(values[name])
        return TrainConfig(**values)

    def layout(self) -> LabelLayout:
        return LabelLayout.from_json(self.read_spec()["labels"])

    def build_networks(self) -> tuple[Generator, Discriminator]:
        """G and D of the shape the spec records, built but not restored."""
        spec, layout = self.read_spec(), self.layout()
        return build_networks(spec["model"], layout)


def build_networks(model: dict, layout: LabelLayout) -> tuple[Generator, Discriminator]:
    model = {**MODEL_DEFAULTS, **model}  # runs recorded before an option existed
    size = model["image_size"]
    generator = Generator(model["g_conv_dim"], layout.width, model["g_repeat_num"],
                          model["g_upsample"], model["g_attention"], model["g_skip"],
                          name="generator")
    discriminator = Discriminator(size, model["d_conv_dim"], layout.logits_dim,
                                  model["d_repeat_num"], name="discriminator")
    generator.build(((None, size, size, 3), (None, layout.width)))
    discriminator.build((None, size, size, 3))
    return generator, discriminator


class RunLock:
    """Exclusive use of a run directory by one live training process.

    An flock on RUN/.lock: the operating system releases it when the process ends, by
    SIGKILL too, so a crashed run never leaves a stale lock behind.
    """

    def __init__(self, run: RunDirectory):
        self.path = os.path.join(run.path, ".lock")
        self.run_path = run.path
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        os.makedirs(self.run_path, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunInUseError(f"{self.run_path} is in use by another training process "
                                f"(pid {owner}); wait for it or choose another --run_dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _trackable(value):
    """What a checkpoint should hold for ``value``.

    tf.train.Checkpoint does not see Keras 3 layers kept in Python lists (G's blocks,
    D's trunk), so a network is saved as its variables keyed by their paths within it;
    a dict of variables (the moving average of G's weights) is saved under its keys,
    which are the same paths, so either restores into a Generator.
    """
    if isinstance(value, keras.Model):
        return tf.train.Checkpoint(
            **{v.path.split("/", 1)[1]: v for v in value.variables})
    if isinstance(value, dict):
        return tf.train.Checkpoint(**value)
    return value


class Checkpoints:
    """Checkpoints of G, D and both optimizers, numbered by training iteration.

    TensorFlow writes a checkpoint's files first and only then rewrites the small
    ``checkpoint`` index file (atomically, by rename), so a crash mid-save leaves the
    previous checkpoint as the latest readable one. The last ``keep`` are kept.
    """

    def __init__(self, run: RunDirectory, keep: int = 3, **trackables):
        self.checkpoint = tf.train.Checkpoint(
            **{name: _trackable(value) for name, value in trackables.items()})
        self.manager = tf.train.CheckpointManager(self.checkpoint, run.checkpoints,
                                                  max_to_keep=keep, checkpoint_name="ckpt")

    def path(self, iteration: int | None) -> str | None:
        """The checkpoint of ``iteration``, or the latest when None (None if none)."""
        if iteration is None:
            return self.manager.latest_checkpoint
        path = os.path.join(self.manager.directory, f"ckpt-{iteration}")
        if not tf.io.gfile.exists(path + ".index"):
            available = ", ".join(p.rsplit("-", 1)[1] for p in self.manager.checkpoints)
            raise MissingFileError(f"no checkpoint for iteration {iteration} in "
                                   f"{self.manager.directory}; available: {available or 'none'}")
        return path

    def holds(self, name: str, iteration: int | None = None) -> bool:
        """Whether the checkpoint saved ``name`` (an import of G alone holds no D)."""
        path = self.path(iteration)
        return path is not None and any(variable.split("/", 1)[0] == name
                                         for variable, _ in tf.train.list_variables(path))

    def restore(self, iteration: int | None = None, partial: bool = False) -> int:
        """Restore a checkpoint; returns its iteration (0 when there is none).

        ``partial``: restore only the objects given (e.g. G and D for translation)
        from a checkpoint that may hold more; every variable given must be in it.
        """
        path = self.path(iteration)
        if path is None:
            return 0
        status = self.checkpoint.restore(path)
        if partial:
            # The checkpoint may hold more (optimizers), but all asked for must be there:
            # a network left at its random initial weights would fail silently later.
            status.expect_partial()
            status.assert_existing_objects_matched()
        else:
            status.assert_consumed()
        restored = int(path.rsplit("-", 1)[1])
        logging.info("Resuming from iteration %d (%s)", restored, path)
        return restored

    def save(self, iteration: int, chief: bool = True) -> str | None:
        """Save as ``ckpt-<iteration>``. Under MultiWorkerMirroredStrategy every worker
        must take part in a save, but only the chief's is kept: the others write to a
        temporary folder that is deleted at once."""
        if chief:
            return self.manager.save(checkpoint_number=iteration)
        with tempfile.TemporaryDirectory() as scratch:
            self.checkpoint.write(os.path.join(scratch, "ckpt"))
        return None


def restore_networks(run: RunDirectory, iteration: int | None = None
                     ) -> tuple[Generator, Discriminator | None, int]:
    """G and D of a run restored from its latest (or given) checkpoint, and its iteration.

    G holds the moving average of its weights when the run kept one (--g_ema_decay):
    that is the G the run is meant to be used with. A checkpoint of G alone (an import
    without the official D) gives D as None, rather than an untrained D that would
    invent labels.
    """
    generator, discriminator = run.build_networks()
    checkpoints = Checkpoints(run)
    if checkpoints.path(iteration) is None:
        raise MissingFileError(f"{run.checkpoints} holds no checkpoint: has {run.path} "
                               "trained?")
    averaged = checkpoints.holds("generator_ema", iteration)
    networks = {"generator_ema" if averaged else "generator": generator}
    if checkpoints.holds("discriminator", iteration):
        networks["discriminator"] = discriminator
    restored = Checkpoints(run, **networks).restore(iteration, partial=True)
    return generator, networks.get("discriminator"), restored
