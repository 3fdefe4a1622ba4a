"""Import the official StarGAN PyTorch checkpoints (yunjey/stargan) as a run directory.

The official networks are ``nn.Sequential`` stacks, so their state-dict names are
positions (``main.<i>.weight``). This module names every official tensor, pairs it with
the Keras variable of the same role, checks the file holds exactly those tensors with
exactly the official shapes, and writes a run directory that translate, evaluate and
the exporters take like a trained one.

The instance norms of the official code also keep running statistics; only eval mode
reads them and the official test code never switches to it, so they are checked for
shape and dropped (our norms always use each image's own statistics, as the official
code does in practice).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import struct
import traceback
from collections.abc import Sequence

import numpy as np
from absl import logging

from stargan_keras.config import TrainConfig
from stargan_keras.data.celeba import celeba_label_set
from stargan_keras.errors import MissingExtraError, MissingFileError, UserError
from stargan_keras.labels import LabelLayout
from stargan_keras.models import Discriminator, Generator
from stargan_keras.run_dir import Checkpoints, RunDirectory, build_networks, make_spec

# The attributes the published CelebA models were trained on, in label-vector order
# (the official code's default, as ours).
OFFICIAL_ATTRS = TrainConfig().selected_attrs

# Kinds of official tensors.
KERNEL = "kernel"  # 4-D convolution weight, converted to Keras's layout
VECTOR = "vector"  # 1-D weight (norm scale/offset, conv bias), copied as is
STATISTIC = "statistic"  # a norm's running mean or variance: checked, dropped
COUNTER = "counter"  # a norm's num_batches_tracked: checked, dropped

CHECKPOINT_NAME = re.compile(r"(\d+)-[GD]\.ckpt$")


@dataclasses.dataclass(frozen=True)
class OfficialTensor:
    """One tensor of an official state dict and its place in the Keras model.

    Attributes:
        name: the official state-dict name, e.g. ``main.9.main.1.weight``.
        keras: the Keras variable path below the model's name, e.g. ``res0/norm1/gamma``.
            For a dropped buffer, the variable whose shape the buffer shares.
        kind: KERNEL, VECTOR, STATISTIC or COUNTER.
    """

    name: str
    keras: str
    kind: str

    @property
    def dropped(self) -> bool:
        return self.kind in (STATISTIC, COUNTER)

    def official_shape(self, keras_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape the official file must have, given the Keras variable's shape."""
        if self.kind == KERNEL:
            # Conv2d (out, in, kH, kW) <-> Conv2D (kH, kW, in, out), and ConvTranspose2d
            # (in, out, kH, kW) <-> Conv2DTranspose (kH, kW, out, in): the same permutation.
            h, w, a, b = keras_shape
            return (b, a, h, w)
        if self.kind == COUNTER:
            return ()
        return tuple(keras_shape)

    def to_keras(self, value: np.ndarray) -> np.ndarray:
        # Both PyTorch and Keras (TF) convolutions, plain and transposed, are
        # cross-correlations with the same padding here (k4/s2/p1 == 'same'), so no
        # spatial flip is needed; the tests check this against PyTorch numerically.
        value = value.astype(np.float32)
        return value.transpose(2, 3, 1, 0) if self.kind == KERNEL else value


def _conv(official: str, keras: str, bias: bool = False) -> list[OfficialTensor]:
    tensors = [OfficialTensor(f"{official}.weight", f"{keras}/kernel", KERNEL)]
    if bias:
        tensors.append(OfficialTensor(f"{official}.bias", f"{keras}/bias", VECTOR))
    return tensors


def _norm(official: str, keras: str) -> list[OfficialTensor]:
    """InstanceNorm2d(affine=True, track_running_stats=True), in state-dict order."""
    return [OfficialTensor(f"{official}.weight", f"{keras}/gamma", VECTOR),
            OfficialTensor(f"{official}.bias", f"{keras}/beta", VECTOR),
            OfficialTensor(f"{official}.running_mean", f"{keras}/gamma", STATISTIC),
            OfficialTensor(f"{official}.running_var", f"{keras}/gamma", STATISTIC),
            OfficialTensor(f"{official}.num_batches_tracked", f"{keras}/gamma", COUNTER)]


def generator_tensors(repeat_num: int) -> list[OfficialTensor]:
    """The official G's tensors in state-dict order.

    ``main`` is [conv7, IN, ReLU] + 2 x [conv4/2, IN, ReLU] + repeat_num residual blocks
    (each ``main`` = [conv3, IN, ReLU, conv3, IN]) + 2 x [deconv4/2, IN, ReLU] + [conv7, Tanh].
    """
    tensors = _conv("main.0", "stem_conv") + _norm("main.1", "stem_norm")
    for i in range(2):
        tensors += _conv(f"main.{3 + 3 * i}", f"down{i}_conv")
        tensors += _norm(f"main.{4 + 3 * i}", f"down{i}_norm")
    for i in range(repeat_num):
        block = f"main.{9 + i}.main"
        tensors += _conv(f"{block}.0", f"res{i}/conv1") + _norm(f"{block}.1", f"res{i}/norm1")
        tensors += _conv(f"{block}.3", f"res{i}/conv2") + _norm(f"{block}.4", f"res{i}/norm2")
    for i in range(2):
        tensors += _conv(f"main.{9 + repeat_num + 3 * i}", f"up{i}_conv")
        tensors += _norm(f"main.{10 + repeat_num + 3 * i}", f"up{i}_norm")
    return tensors + _conv(f"main.{15 + repeat_num}", "out_conv")


def discriminator_tensors(repeat_num: int) -> list[OfficialTensor]:
    """The official D's tensors in state-dict order.

    ``main`` is repeat_num x [conv4/2 with bias, LeakyReLU]; ``conv1`` is the 3x3
    real/fake head and ``conv2`` the classifier whose kernel spans the final map.
    """
    tensors = []
    for i in range(repeat_num):
        tensors += _conv(f"main.{2 * i}", f"down{i}_conv", bias=True)
    return tensors + _conv("conv1", "src_conv") + _conv("conv2", "cls_conv")


# What torch.load (2.13, weights_only=True) raises for a file that is not a checkpoint or
# is damaged, found by loading empty, random, text, JSON, .npy, PNG and plain-pickle files,
# zips of other things, and checkpoints of both formats cut short at 600 points or with
# bytes overwritten. Anything else (ImportError, TypeError, AttributeError, ...) is the
# installation's or this code's fault and keeps its traceback.
_BAD_FILE_ERRORS = (
    pickle.UnpicklingError,  # not a pickle, or one holding more than tensors and containers
    EOFError, struct.error, UnicodeDecodeError,  # a pickle cut short or overwritten
    OSError,  # torch's zip reader on a cut-short archive: [Errno 22] Invalid argument
)
# torch's RuntimeErrors about the bytes of a file: its zip reader, the legacy format's
# header and storages.
_BAD_FILE_MESSAGES = ("PytorchStreamReader failed", "[enforce fail at inline_container.cc",
                      'hasRecord("version")', "Invalid magic number", "Invalid protocol version",
                      "unexpected EOF", "storage has wrong byte size",
                      "does not match expected size")


def _is_bad_file(error: Exception) -> bool:
    """Whether torch.load's ``error`` says that the file is not an intact checkpoint."""
    if isinstance(error, _BAD_FILE_ERRORS):
        return True
    if isinstance(error, RuntimeError):
        return any(message in str(error) for message in _BAD_FILE_MESSAGES)
    if isinstance(error, LookupError):
        # A damaged pickle's memo or stack references, out of range in the weights-only
        # unpickler that decodes the file (a text file fails this way too).
        return any(os.path.basename(frame.filename) == "_weights_only_unpickler.py"
                   for frame in traceback.extract_tb(error.__traceback__))
    return False


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """An official checkpoint (a pickled state dict) as numpy arrays, on the CPU.

    ``weights_only=True`` makes torch refuse anything but tensors and plain containers,
    so a file cannot run code on load; a refusal, like a file that is not a checkpoint or
    is cut short, is the user's to fix (``UserError``). Other failures of torch.load (a
    broken or mismatched PyTorch) keep their traceback.
    """
    try:
        import torch
    except ImportError as error:
        raise MissingExtraError("reading PyTorch checkpoints needs PyTorch: "
                                "pip install 'stargan-keras[convert]'") from error
    if not os.path.isfile(path):
        raise MissingFileError(f"{path} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        if not _is_bad_file(error):
            raise
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise UserError(f"{path} is not a PyTorch state dict that loads with "
                        f"weights_only=True: {detail}") from error
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise UserError(f"{path} does not hold a state dict (names -> tensors); "
                        f"got {type(state).__name__}")
    return {name: tensor.numpy() for name, tensor in state.items()}


@dataclasses.dataclass(frozen=True)
class GeneratorShape:
    conv_dim: int
    c_dim: int
    repeat_num: int


@dataclasses.dataclass(frozen=True)
class DiscriminatorShape:
    image_size: int
    conv_dim: int
    c_dim: int
    repeat_num: int


def _tensor(state: dict[str, np.ndarray], name: str, ndim: int, path: str, what: str) -> np.ndarray:
    if name not in state:
        raise UserError(f"{path}: missing tensor {name}; is this an official StarGAN {what} "
                        f"checkpoint?")
    if state[name].ndim != ndim:
        raise UserError(f"{path}: {name} has shape {tuple(state[name].shape)}, expected a "
                        f"{ndim}-D tensor; is this an official StarGAN {what} checkpoint?")
    return state[name]


def _count_blocks(state: dict[str, np.ndarray], pattern: str, start: int, step: int) -> int:
    count = 0
    while pattern.format(start + step * count) in state:
        count += 1
    return count


def generator_shape(state: dict[str, np.ndarray], path: str) -> GeneratorShape:
    """G's widths and depth as the file's tensors give them (checked in full later)."""
    stem = _tensor(state, "main.0.weight", 4, path, "generator")
    c_dim = stem.shape[1] - 3
    if c_dim < 1:
        raise UserError(f"{path}: main.0.weight takes {stem.shape[1]} input channels; "
                        f"G takes 3 image channels plus at least one label")
    return GeneratorShape(conv_dim=stem.shape[0], c_dim=c_dim,
                          repeat_num=_count_blocks(state, "main.{}.main.0.weight", 9, 1))


def discriminator_shape(state: dict[str, np.ndarray], path: str) -> DiscriminatorShape:
    """D's widths, depth and image size as the file's tensors give them."""
    first = _tensor(state, "main.0.weight", 4, path, "discriminator")
    classifier = _tensor(state, "conv2.weight", 4, path, "discriminator")
    repeat_num = _count_blocks(state, "main.{}.weight", 0, 2)
    return DiscriminatorShape(image_size=classifier.shape[2] * 2**repeat_num,
                              conv_dim=first.shape[0], c_dim=classifier.shape[0],
                              repeat_num=repeat_num)


def _agree(flag: str, given: int | None, found: int, where: str) -> int:
    """The value the file implies; an explicit flag must say the same."""
    if given is not None and given != found:
        raise UserError(f"--{flag}={given}, but {where} ({flag} {found})")
    return found


def convert_tensors(state: dict[str, np.ndarray], tensors: Sequence[OfficialTensor],
                    model, path: str) -> dict[str, np.ndarray]:
    """Check ``state`` holds exactly ``tensors`` in the official shapes; convert them.

    Running statistics may be absent (files from PyTorch versions before 0.4.1 have no
    num_batches_tracked); every other official tensor must be there. Raises ValueError
    naming the first missing, misshapen or unexpected tensor.

    Returns:
        Keras variable path (below the model's name) -> array in Keras's layout.
    """
    variables = {w.path.split("/", 1)[1]: w for w in model.weights}
    mapped = {t.keras for t in tensors}
    if mapped != set(variables):  # the mapping and the Keras model must cover each other
        raise RuntimeError(f"official mapping and Keras {model.name} disagree: "
                           f"{sorted(mapped ^ set(variables))}")
    converted = {}
    for tensor in tensors:
        expected = tensor.official_shape(tuple(variables[tensor.keras].shape))
        if tensor.name not in state:
            if tensor.dropped:
                continue
            raise UserError(f"{path}: missing tensor {tensor.name} (expected shape {expected})")
        value = state[tensor.name]
        if tuple(value.shape) != expected:
            raise UserError(f"{path}: {tensor.name} has shape {tuple(value.shape)}, expected "
                            f"{expected}")
        if not tensor.dropped:
            if not np.issubdtype(value.dtype, np.floating):
                raise UserError(f"{path}: {tensor.name} has dtype {value.dtype}, expected a "
                                f"floating-point tensor")
            converted[tensor.keras] = tensor.to_keras(value)
    known = {t.name for t in tensors}
    unexpected = [name for name in state if name not in known]
    if unexpected:
        raise UserError(f"{path}: unexpected tensor {unexpected[0]} "
                        f"({len(unexpected)} unexpected in all)")
    dropped = sum(1 for t in tensors if t.dropped and t.name in state)
    logging.info("%s: %d tensors mapped, %d running-statistics buffers dropped", path,
                 len(converted), dropped)
    return converted


def assign(model, arrays: dict[str, np.ndarray]) -> None:
    for variable in model.weights:
        variable.assign(arrays[variable.path.split("/", 1)[1]])


def iteration_of(generator_path: str, discriminator_path: str | None,
                 iteration: int | None) -> int:
    """The training iteration: --iteration, else the official file names' ``N-G.ckpt``."""
    if iteration is not None:
        if iteration < 0:
            raise UserError(f"--iteration={iteration}: must not be negative")
        return iteration
    found = {}
    for path in (generator_path, discriminator_path):
        match = CHECKPOINT_NAME.search(os.path.basename(path)) if path else None
        if path and not match:
            raise UserError(f"cannot read the iteration from the name of {path} (official "
                            f"names are like 200000-G.ckpt); give --iteration")
        if match:
            found[path] = int(match.group(1))
    if len(set(found.values())) > 1:
        raise UserError("the generator and discriminator are from different iterations: "
                        + ", ".join(f"{p} ({n})" for p, n in found.items()))
    return found[generator_path]


@dataclasses.dataclass
class OfficialNetworks:
    """The official G (and D) as Keras networks, with the run settings they imply."""

    config: TrainConfig
    layout: LabelLayout
    generator: Generator
    discriminator: Discriminator | None
    iteration: int


def load_official(generator_path: str, discriminator_path: str | None = None,
                  image_size: int | None = None,
                  selected_attrs: Sequence[str] = OFFICIAL_ATTRS, c_dim: int | None = None,
                  g_conv_dim: int | None = None, d_conv_dim: int | None = None,
                  g_repeat_num: int | None = None, d_repeat_num: int | None = None,
                  iteration: int | None = None) -> OfficialNetworks:
    """The official checkpoints as Keras G (and D), after checking every tensor.

    Shapes come from the files; an explicit option must agree with them. Without a
    discriminator, ``image_size`` is required and D's shape takes the official defaults
    (or ``d_conv_dim``/``d_repeat_num``); ``discriminator`` is then None.

    Args:
        generator_path: the official ``N-G.ckpt``.
        discriminator_path: the official ``N-D.ckpt``, optional.
        image_size: the training resolution (implied by D's classifier kernel).
        selected_attrs: the CelebA attributes, in label-vector order.
        c_dim, g_conv_dim, d_conv_dim, g_repeat_num, d_repeat_num: as in training.
        iteration: the checkpoint number; by default from the file names.
    """
    if len(set(selected_attrs)) != len(selected_attrs) or not selected_attrs:
        raise UserError(f"--selected_attrs must name distinct attributes; got "
                        f"{', '.join(selected_attrs) or 'none'}")
    layout = LabelLayout((celeba_label_set(tuple(selected_attrs)),))
    iteration = iteration_of(generator_path, discriminator_path, iteration)

    g_state = load_state_dict(generator_path)
    g_shape = generator_shape(g_state, generator_path)
    stem = f"{generator_path}: main.0.weight takes 3 + {g_shape.c_dim} input channels"
    _agree("c_dim", c_dim, g_shape.c_dim, stem)
    if layout.width != g_shape.c_dim:
        raise UserError(f"--selected_attrs names {layout.width} attributes "
                        f"({', '.join(selected_attrs)}), but {stem}")
    _agree("g_conv_dim", g_conv_dim, g_shape.conv_dim,
           f"{generator_path}: main.0.weight has {g_shape.conv_dim} output channels")
    _agree("g_repeat_num", g_repeat_num, g_shape.repeat_num,
           f"{generator_path} has {g_shape.repeat_num} residual blocks")

    d_state = None
    if discriminator_path is None:
        if image_size is None:
            raise UserError("--image_size is required without --discriminator")
        defaults = TrainConfig()
        d_conv_dim = defaults.d_conv_dim if d_conv_dim is None else d_conv_dim
        d_repeat_num = defaults.d_repeat_num if d_repeat_num is None else d_repeat_num
    else:
        d_state = load_state_dict(discriminator_path)
        d_shape = discriminator_shape(d_state, discriminator_path)
        where = f"{discriminator_path}: conv2.weight"
        if d_shape.c_dim != g_shape.c_dim:
            raise UserError(f"{where} has {d_shape.c_dim} logits, but {stem}")
        d_conv_dim = _agree("d_conv_dim", d_conv_dim, d_shape.conv_dim,
                            f"{discriminator_path}: main.0.weight has {d_shape.conv_dim} "
                            f"output channels")
        d_repeat_num = _agree("d_repeat_num", d_repeat_num, d_shape.repeat_num,
                              f"{discriminator_path} has {d_shape.repeat_num} stride-2 convs")
        image_size = _agree("image_size", image_size, d_shape.image_size,
                            f"{where} has a {d_shape.image_size // 2**d_repeat_num}-pixel "
                            f"kernel after {d_repeat_num} halvings")
    if image_size <= 0 or image_size % 4 or image_size % 2**d_repeat_num:
        raise UserError(f"--image_size={image_size} must be a positive multiple of 4 and "
                        f"of 2**d_repeat_num = {2**d_repeat_num}")

    config = TrainConfig(dataset="celeba", selected_attrs=tuple(selected_attrs),
                         image_size=image_size, c_dim=g_shape.c_dim,
                         g_conv_dim=g_shape.conv_dim, d_conv_dim=d_conv_dim,
                         g_repeat_num=g_shape.repeat_num, d_repeat_num=d_repeat_num)
    generator, discriminator = build_networks(config.model_shape(), layout)
    assign(generator, convert_tensors(g_state, generator_tensors(g_shape.repeat_num),
                                      generator, generator_path))
    if d_state is None:
        discriminator = None
    else:
        assign(discriminator, convert_tensors(d_state, discriminator_tensors(d_repeat_num),
                                              discriminator, discriminator_path))
    return OfficialNetworks(config, layout, generator, discriminator, iteration)


def _new_run(run_dir: str) -> RunDirectory:
    run = RunDirectory(run_dir)
    if os.path.exists(run.spec_path):
        raise UserError(f"{run_dir} already holds a run; choose a new --run_dir")
    return run


def write_run(networks: OfficialNetworks, run_dir: str) -> str:
    """A new run directory holding the networks as checkpoint ``ckpt-<iteration>``.

    Without a discriminator the checkpoint holds G only, so nothing can take an
    untrained D for the official one. Returns the checkpoint's path.
    """
    run = _new_run(run_dir)
    config = dataclasses.replace(networks.config, run_dir=run_dir)
    run.claim(make_spec(config, networks.layout))
    saved = {"generator": networks.generator}
    if networks.discriminator is not None:
        saved["discriminator"] = networks.discriminator
    path = Checkpoints(run, **saved).save(networks.iteration)
    logging.info("Wrote %s (%s)", path, " and ".join(saved))
    return path


def convert(generator_path: str, run_dir: str, discriminator_path: str | None = None,
            **options) -> str:
    """``load_official`` then ``write_run``; nothing is written for a refused file.

    Returns:
        The written checkpoint's path (RUN/checkpoints/ckpt-N).
    """
    _new_run(run_dir)  # fail before the slow part
    networks = load_official(generator_path, discriminator_path, **options)
    return write_run(networks, run_dir)
