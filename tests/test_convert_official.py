"""Official PyTorch checkpoints -> run directory: numerically equal to PyTorch, strict on names."""

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from official_torch_models import OfficialDiscriminator, OfficialGenerator, randomize

from stargan_keras.errors import UserError
from stargan_keras.official.weights import (
    KERNEL,
    OFFICIAL_ATTRS,
    OfficialTensor,
    convert,
    discriminator_tensors,
    generator_tensors,
    load_official,
    load_state_dict,
    write_run,
)
from stargan_keras.run_dir import Checkpoints, RunDirectory


def _save_official(tmp_path, image_size, g_conv_dim, g_repeat_num, d_conv_dim, d_repeat_num,
                   c_dim=5, legacy_format=False):
    """Random official G and D saved as the official code does: 200000-{G,D}.ckpt."""
    g = randomize(OfficialGenerator(g_conv_dim, c_dim, g_repeat_num), seed=1)
    d = randomize(OfficialDiscriminator(image_size, d_conv_dim, c_dim, d_repeat_num), seed=2)
    paths = str(tmp_path / "200000-G.ckpt"), str(tmp_path / "200000-D.ckpt")
    # The published files predate PyTorch's zip format; the legacy format must load too.
    torch.save(g.state_dict(), paths[0], _use_new_zipfile_serialization=not legacy_format)
    torch.save(d.state_dict(), paths[1])
    return g, d, paths


def _restore(run_dir):
    """G and D exactly as translate / evaluate / the exporters load them."""
    run = RunDirectory(run_dir)
    g, d = run.build_networks()
    networks = {"generator": g}
    if Checkpoints(run).holds("discriminator"):
        networks["discriminator"] = d
    iteration = Checkpoints(run, **networks).restore(partial=True)
    return run, g, d, iteration


def _inputs(n, image_size, c_dim, seed):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (n, 3, image_size, image_size)).astype(np.float32)
    labels = rng.integers(0, 2, (n, c_dim)).astype(np.float32)
    return images, labels


def _nhwc(x):
    return np.transpose(x, (0, 2, 3, 1))


def _check_same_outputs(torch_g, torch_d, keras_g, keras_d, image_size, c_dim):
    images, labels = _inputs(2, image_size, c_dim, seed=image_size)
    x, c = torch.from_numpy(images), torch.from_numpy(labels)
    # Train mode, as the official test code runs: norms use each image's statistics.
    torch_g.train(), torch_d.train()
    with torch.no_grad():
        want_fake = torch_g(x, c).numpy()
        want_src, want_cls = (t.numpy() for t in torch_d(x))
        eval_fake = torch_g.eval()(x, c).numpy()
    got_fake = keras_g([_nhwc(images), labels]).numpy()
    got_src, got_cls = (t.numpy() for t in keras_d(_nhwc(images)))
    assert got_fake.shape == (2, image_size, image_size, 3)
    assert np.abs(got_fake - _nhwc(want_fake)).max() <= 1e-4
    assert np.abs(got_src - _nhwc(want_src)).max() <= 1e-4
    assert np.abs(got_cls - want_cls).max() <= 1e-4
    # The dropped running statistics matter in eval mode, which the official code never uses.
    assert np.abs(got_fake - _nhwc(eval_fake)).max() > 1e-2
    return got_fake, got_src, got_cls


@pytest.mark.parametrize("image_size", [128, 256])
def test_official_networks_match_pytorch(tmp_path, image_size):
    # Small widths and depths; the same shape logic as the published models
    # (six halvings in D, so its classifier kernel is 2 at 128 px and 4 at 256 px).
    torch_g, torch_d, (g_path, d_path) = _save_official(
        tmp_path, image_size, g_conv_dim=8, g_repeat_num=2, d_conv_dim=4, d_repeat_num=6,
        legacy_format=image_size == 128)
    networks = load_official(g_path, d_path)
    assert networks.config.model_shape() == {
        "image_size": image_size, "g_conv_dim": 8, "d_conv_dim": 4, "g_repeat_num": 2,
        "d_repeat_num": 6, "g_upsample": "transpose", "g_attention": False, "g_skip": False}
    assert networks.discriminator.cls_head.kernel.shape[:2] == (image_size // 64,) * 2
    _check_same_outputs(torch_g, torch_d, networks.generator, networks.discriminator,
                        image_size, 5)


def test_official_widths_at_128_match_pytorch(tmp_path):
    torch_g, torch_d, (g_path, d_path) = _save_official(tmp_path, 128, 64, 6, 64, 6)
    networks = load_official(g_path, d_path, image_size=128)
    assert networks.generator.count_params() == 8_430_528
    assert networks.discriminator.count_params() == 44_762_048
    _check_same_outputs(torch_g, torch_d, networks.generator, networks.discriminator, 128, 5)


def test_run_directory_records_the_official_setup(tmp_path):
    _, _, (g_path, d_path) = _save_official(tmp_path, 128, 4, 1, 4, 6)
    run_dir = str(tmp_path / "run")
    path = convert(g_path, run_dir, d_path)
    assert path == os.path.join(run_dir, "checkpoints", "ckpt-200000")
    run, _, _, iteration = _restore(run_dir)
    assert iteration == 200000
    spec = run.read_spec()
    assert spec["dataset"] == spec["config"]["dataset"] == "celeba"
    assert spec["config"]["run_dir"] == run_dir
    assert spec["model"] == {"image_size": 128, "g_conv_dim": 4, "d_conv_dim": 4,
                             "g_repeat_num": 1, "d_repeat_num": 6, "g_upsample": "transpose",
                             "g_attention": False, "g_skip": False}
    label_set = run.layout().label_sets[0]
    assert label_set.names == OFFICIAL_ATTRS == (
        "Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    assert label_set.multi_label and label_set.name == "celeba"
    assert label_set.exclusive == (("Black_Hair", "Blond_Hair", "Brown_Hair"),)


def test_converted_run_restores_like_a_trained_one(tmp_path):
    torch_g, torch_d, (g_path, d_path) = _save_official(tmp_path, 128, 8, 2, 4, 6)
    path = convert(g_path, str(tmp_path / "run"), d_path)
    names = [name for name, _ in tf.train.list_variables(path)]
    assert any(n.startswith("generator/") for n in names)
    _, keras_g, keras_d, _ = _restore(str(tmp_path / "run"))
    _check_same_outputs(torch_g, torch_d, keras_g, keras_d, 128, 5)


def test_transposed_kernels_need_no_spatial_flip():
    torch.manual_seed(0)
    official = torch.nn.ConvTranspose2d(6, 4, 4, 2, 1, bias=False)
    x = torch.randn(2, 6, 5, 7)
    with torch.no_grad():
        want = _nhwc(official(x).numpy())
    layer = keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same", use_bias=False)
    layer.build((None, 5, 7, 6))
    weight = official.weight.detach().numpy()  # (in, out, kH, kW)
    kernel = OfficialTensor("w", "up0_conv/kernel", KERNEL).to_keras(weight)
    layer.kernel.assign(kernel)
    assert np.abs(layer(_nhwc(x.numpy())).numpy() - want).max() <= 1e-5
    layer.kernel.assign(kernel[::-1, ::-1])
    assert np.abs(layer(_nhwc(x.numpy())).numpy() - want).max() > 0.1


def test_every_official_tensor_is_mapped_once():
    # Conv kernel, norm weight/bias and the three dropped buffers per norm, named as the
    # official nn.Sequential stacks name them.
    for tensors, module in ((generator_tensors(3), OfficialGenerator(8, 5, 3)),
                            (discriminator_tensors(4), OfficialDiscriminator(64, 4, 5, 4))):
        assert [t.name for t in tensors] == list(module.state_dict())
    names = {t.name: t.keras for t in generator_tensors(6)}
    assert names["main.0.weight"] == "stem_conv/kernel"
    assert names["main.13.main.4.bias"] == "res4/norm2/beta"
    assert names["main.15.weight"] == "up0_conv/kernel"
    assert names["main.21.weight"] == "out_conv/kernel"
    assert {t.name: t.keras for t in discriminator_tensors(6)}["conv2.weight"] == "cls_conv/kernel"


def test_custom_attributes_and_generator_only(tmp_path):
    torch_g, _, (g_path, _) = _save_official(tmp_path, 16, 4, 1, 4, 2, c_dim=3)
    run_dir = str(tmp_path / "run")
    attrs = ("Blond_Hair", "Male", "Gray_Hair")
    networks = load_official(g_path, image_size=16, selected_attrs=attrs, d_repeat_num=2)
    assert networks.discriminator is None
    path = write_run(networks, run_dir)
    run, _, _, iteration = _restore(run_dir)
    assert iteration == 200000
    assert run.read_spec()["model"]["d_conv_dim"] == 64  # official default without a D
    assert run.layout().label_sets[0].names == attrs
    assert run.layout().label_sets[0].exclusive == (("Blond_Hair", "Gray_Hair"),)
    # Without --discriminator the checkpoint holds G only, so nothing can mistake an
    # untrained D for the official one.
    names = [name for name, _ in tf.train.list_variables(path)]
    assert not any(n.startswith("discriminator/") for n in names)
    images, labels = _inputs(2, 16, 3, seed=0)
    with torch.no_grad():
        want = torch_g(torch.from_numpy(images), torch.from_numpy(labels)).numpy()
    got = networks.generator([_nhwc(images), labels]).numpy()
    assert np.abs(got - _nhwc(want)).max() <= 1e-4


def test_checkpoints_without_running_statistics_load(tmp_path):
    # Files written before PyTorch 0.4.1 lack num_batches_tracked; stats are unused anyway.
    g = randomize(OfficialGenerator(4, 5, 1), seed=3)
    state = {k: v for k, v in g.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = str(tmp_path / "1000-G.ckpt")
    torch.save(state, path)
    assert convert(path, str(tmp_path / "run"), image_size=16, d_repeat_num=2).endswith(
        "ckpt-1000")


def _g_file(tmp_path, edit, name="200000-G.ckpt"):
    state = randomize(OfficialGenerator(4, 5, 2), seed=4).state_dict()
    edit(state)
    path = str(tmp_path / name)
    torch.save(state, path)
    return path


@pytest.mark.parametrize("edit,message", [
    (lambda s: s.update({"main.10.main.3.weight": torch.zeros(16, 16, 3, 2)}),
     r"main\.10\.main\.3\.weight has shape \(16, 16, 3, 2\), expected \(16, 16, 3, 3\)"),
    (lambda s: s.pop("main.4.bias"), r"missing tensor main\.4\.bias \(expected shape \(8,\)\)"),
    (lambda s: s.update({"main.4.running_var": torch.ones(4)}),
     r"main\.4\.running_var has shape \(4,\), expected \(8,\)"),
    (lambda s: s.update({"main.11.weight": torch.zeros(8, 16, 4, 4)}),  # (out, in) swapped
     r"main\.11\.weight has shape \(8, 16, 4, 4\), expected \(16, 8, 4, 4\)"),
    (lambda s: s.update({"main.1.weight": torch.ones(4, dtype=torch.int64)}),
     r"main\.1\.weight has dtype int64, expected a floating-point tensor"),
    (lambda s: s.update({"module.main.0.weight": torch.zeros(1)}),
     r"unexpected tensor module\.main\.0\.weight \(1 unexpected in all\)"),
    (lambda s: s.update({"main.0.weight": torch.zeros(4, 8, 4, 4)}),
     r"main\.0\.weight has shape \(4, 8, 4, 4\), expected \(4, 8, 7, 7\)"),
])
def test_mismatched_generator_is_refused_naming_the_first_mismatch(tmp_path, edit, message):
    path = _g_file(tmp_path, edit)
    run_dir = tmp_path / "run"
    with pytest.raises(ValueError, match=message) as error:
        convert(path, str(run_dir), image_size=16, d_repeat_num=2)
    assert path in str(error.value)
    assert not run_dir.exists()  # nothing is written for a refused file


@pytest.mark.parametrize("options,message", [
    (dict(image_size=64), r"--image_size=64, but .*200000-D\.ckpt: conv2\.weight has a "
                          r"2-pixel kernel after 3 halvings \(image_size 16\)"),
    (dict(g_repeat_num=6), r"--g_repeat_num=6, but .*200000-G\.ckpt has 1 residual blocks"),
    (dict(g_conv_dim=64), r"--g_conv_dim=64, but .*main\.0\.weight has 4 output channels"),
    (dict(d_conv_dim=64), r"--d_conv_dim=64, but .*main\.0\.weight has 8 output channels"),
    (dict(c_dim=4), r"--c_dim=4, but .*main\.0\.weight takes 3 \+ 5 input channels"),
    (dict(selected_attrs=("Male", "Young")),
     r"--selected_attrs names 2 attributes \(Male, Young\), but .*takes 3 \+ 5 input channels"),
    (dict(selected_attrs=("Male",) * 5), r"--selected_attrs must name distinct attributes"),
])
def test_options_must_agree_with_the_files(tmp_path, options, message):
    _, _, (g_path, d_path) = _save_official(tmp_path, 16, 4, 1, 8, 3)
    with pytest.raises(ValueError, match=message):
        convert(g_path, str(tmp_path / "run"), d_path, **options)


def test_wrong_files_are_refused(tmp_path):
    _, _, (g_path, d_path) = _save_official(tmp_path, 16, 4, 1, 8, 3)
    run_dir = str(tmp_path / "run")
    with pytest.raises(ValueError, match=r"200000-D\.ckpt: main\.0\.weight takes 3 input "
                                         r"channels; G takes 3 image channels plus"):
        convert(d_path, run_dir, image_size=16)  # a D given as G
    with pytest.raises(ValueError, match=r"200000-G\.ckpt: missing tensor conv2\.weight; "
                                         r"is this an official StarGAN discriminator"):
        convert(g_path, run_dir, g_path)
    # A pickled module (not a state dict) could run code on load: weights_only refuses it.
    whole = str(tmp_path / "200000-whole.ckpt")
    torch.save(OfficialGenerator(4, 5, 1), whole)
    with pytest.raises(ValueError, match=r"200000-whole\.ckpt is not a PyTorch state dict "
                                         r"that loads with weights_only=True"):
        convert(whole, run_dir, image_size=16, iteration=1)
    with pytest.raises(FileNotFoundError, match="nowhere-G.ckpt not found"):
        convert(str(tmp_path / "nowhere-G.ckpt"), run_dir, image_size=16, iteration=1)
    assert not os.path.exists(run_dir)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 3), np.float32))
    return buffer.getvalue()


# Files that are not checkpoints, as a user may pass them by mistake.
NOT_CHECKPOINTS = {
    "empty": b"",
    "random bytes": np.random.default_rng(0).bytes(4096),
    "text": b"main.0.weight 0.1 0.2 0.3\nmain.1.weight 1 1 1\n",
    "JSON": b'{"main.0.weight": [0.1, 0.2]}',
    "numpy .npy": _npy(),
    "a plain pickle": pickle.dumps({"main.0.weight": [0.1, 0.2]}, protocol=2),
    "a zip of other files": _zip({"notes.txt": b"not weights"}),
    "a zip laid out as a checkpoint, holding junk": _zip({"archive/data.pkl": b"junk",
                                                         "archive/version": b"3\n"}),
}


def _refused_as_a_bad_file(path: str) -> None:
    with pytest.raises(UserError, match=f"^{re.escape(path)} is not a PyTorch state dict "
                                        "that loads with weights_only=True: "):
        load_state_dict(path)


@pytest.mark.parametrize("kind", NOT_CHECKPOINTS)
def test_files_that_are_not_checkpoints_are_the_users_mistake(tmp_path, kind):
    path = tmp_path / "200000-G.ckpt"
    path.write_bytes(NOT_CHECKPOINTS[kind])
    _refused_as_a_bad_file(str(path))


@pytest.mark.parametrize("legacy_format", [False, True], ids=["zip", "legacy"])
def test_a_truncated_checkpoint_is_the_users_mistake_wherever_it_ends(tmp_path, legacy_format):
    """A download cut short, at 120 points spread over the file (every kind of section)."""
    _, _, (g_path, _) = _save_official(tmp_path, 16, 4, 1, 4, 2, legacy_format=legacy_format)
    with open(g_path, "rb") as f:
        data = f.read()
    cut = str(tmp_path / "cut-G.ckpt")
    for end in np.linspace(0, len(data) - 1, 120).astype(int):
        with open(cut, "wb") as f:
            f.write(data[:end])
        _refused_as_a_bad_file(cut)
    assert set(load_state_dict(g_path)) == {t.name for t in generator_tensors(1)}


@pytest.mark.parametrize("error", [
    ImportError("libtorch_cpu.so: cannot open shared object file"),
    TypeError("load() got an unexpected keyword argument 'weights_only'"),
    AttributeError("module 'torch' has no attribute 'load'"),
    KeyError("main.0.weight"),
    RuntimeError("CUDA error: no kernel image is available for execution on the device"),
], ids=lambda error: type(error).__name__)
def test_a_broken_torch_keeps_its_traceback(tmp_path, monkeypatch, error):
    """The installation's or our own failure is not blamed on the file."""
    _, _, (g_path, _) = _save_official(tmp_path, 16, 4, 1, 4, 2)

    def load(*args, **kwargs):
        raise error

    monkeypatch.setattr(torch, "load", load)
    with pytest.raises(type(error)) as raised:
        load_state_dict(g_path)
    assert raised.value is error


def test_iteration_comes_from_the_names_or_the_flag(tmp_path):
    g = randomize(OfficialGenerator(4, 5, 1), seed=5).state_dict()
    d = randomize(OfficialDiscriminator(16, 4, 5, 2), seed=6).state_dict()
    for name, state in (("190000-G.ckpt", g), ("200000-D.ckpt", d), ("generator.pt", g)):
        torch.save(state, str(tmp_path / name))
    with pytest.raises(ValueError, match="different iterations"):
        convert(str(tmp_path / "190000-G.ckpt"), str(tmp_path / "a"),
                str(tmp_path / "200000-D.ckpt"))
    with pytest.raises(ValueError, match="cannot read the iteration from the name of "
                                         ".*generator.pt .*give --iteration"):
        convert(str(tmp_path / "generator.pt"), str(tmp_path / "b"), image_size=16)
    path = convert(str(tmp_path / "generator.pt"), str(tmp_path / "c"), image_size=16,
                   d_repeat_num=2, iteration=42)
    assert path.endswith("ckpt-42")
    with pytest.raises(ValueError, match="already holds a run"):
        convert(str(tmp_path / "generator.pt"), str(tmp_path / "c"), image_size=16,
                d_repeat_num=2, iteration=42)
    with pytest.raises(ValueError, match="--image_size is required without --discriminator"):
        convert(str(tmp_path / "190000-G.ckpt"), str(tmp_path / "d"))


def test_command_line(tmp_path):
    _, _, (g_path, d_path) = _save_official(tmp_path, 16, 4, 1, 4, 3)
    run_dir = str(tmp_path / "run")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "stargan_keras.convert_official", "--generator", g_path,
               "--discriminator", d_path, "--image_size", "16", "--run_dir", run_dir]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(os.path.join("checkpoints", "ckpt-200000"))
    with open(os.path.join(run_dir, "run.json")) as f:
        assert json.load(f)["config"]["selected_attrs"] == list(OFFICIAL_ATTRS)
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 2
    assert f"error: {run_dir} already holds a run" in again.stderr
