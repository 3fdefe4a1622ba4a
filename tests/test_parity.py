"""The training step is the official one: parity with the official PyTorch solver.

The official solver's arithmetic (yunjey/stargan ``solver.py``: ``train`` for one dataset,
``train_multi`` for CelebA + RaFD with the mask vector) is written out below in PyTorch,
on the official modules (``official_torch_models.py``) with PyTorch's own initial weights.
The Keras model is the one training builds (``build_model``: its optimizers, loss weights
and ``train_step``), started from the same weights through the project's converter. Both
see the same images, target labels and gradient-penalty alpha; every loss term and every
weight must agree after each n_critic cycle.

Tolerance (float32): the two frameworks sum convolutions in different orders, so their
gradients differ by rounding, ~1e-6 relative. One Adam update moves each weight by about
its learning rate (1e-4) whatever the gradient's size, and sums of such updates are what
the weights carry; WEIGHT_ATOL = 5e-7 is 1/200 of one update and about twice the rounding
seen here (up to 2.4e-7 after the three joint cycles of the last test). A wrong loss
weight, loss term, update order or optimizer setting moves weights by a sizeable part of an
update (docs/official_differences.md lists the mutations checked to fail this file).
Logged loss terms are compared with rtol 1e-5 (float32 reductions over at most a few
thousand values).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import torch
import torch.nn.functional as F
from conftest import TINY
from official_torch_models import OfficialDiscriminator, OfficialGenerator

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.labels import LabelLayout
from stargan_keras.official.weights import (
    convert_tensors,
    discriminator_tensors,
    generator_tensors,
)
from stargan_keras.training.adam import adam
from stargan_keras.training.loop import build_model

WEIGHT_ATOL = 5e-7
NOISE_FLOOR = 1e-5  # a gradient below this share of its tensor's largest is rounding
OUTPUT_ATOL = 5e-5  # G's outputs in [-1, 1]: the forward pass alone differs by ~3e-6
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6

# The official code's defaults (solver.py / main.py), written out on purpose rather than
# read from TrainConfig, so that a changed default shows up here.
OFFICIAL = dict(lr=1e-4, betas=(0.5, 0.999), lambda_cls=1.0, lambda_rec=10.0, lambda_gp=10.0)


class OfficialSolver:
    """The official D and G updates, one dataset at a time, as solver.py computes them."""

    def __init__(self, layout: LabelLayout, image_size: int, seed: int):
        torch.manual_seed(seed)  # PyTorch's default initialisation, as the official code
        self.layout = layout
        self.c_dims = [s.dim for s in layout.label_sets]
        width = sum(self.c_dims) + (2 if layout.joint else 0)  # + the mask vector
        self.G = OfficialGenerator(TINY["g_conv_dim"], width, TINY["g_repeat_num"]).train()
        self.D = OfficialDiscriminator(image_size, TINY["d_conv_dim"], sum(self.c_dims),
                                       TINY["d_repeat_num"]).train()
        self.noisy: dict[tuple[int, str], np.ndarray] = {}
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), OFFICIAL["lr"],
                                            OFFICIAL["betas"])
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), OFFICIAL["lr"],
                                            OFFICIAL["betas"])

    def reset_grad(self):
        self.g_optimizer.zero_grad()
        self.d_optimizer.zero_grad()

    def backward(self, loss, network):
        """``loss.backward()``, noting the weights whose gradient is at rounding level
        (test bookkeeping, no part of the official step)."""
        loss.backward()
        for name, weight in network.named_parameters():
            size = weight.grad.abs()
            # Exact zeros are no noise: a label set's own weights in the other set's update.
            noisy = ((size > 0) & (size <= NOISE_FLOOR * size.max())).numpy()
            key = (id(network), name)
            self.noisy[key] = self.noisy.get(key, False) | noisy

    def classification_loss(self, logit, target, set_index):
        if self.layout.label_sets[set_index].multi_label:  # CelebA
            return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / (
                logit.size(0))
        return F.cross_entropy(logit, target)  # RaFD: target holds class indices

    def domain(self, labels, set_index):
        """(label for the loss, condition for G) from one set's labels [N, dim]."""
        label = labels if self.layout.label_sets[set_index].multi_label else labels.argmax(1)
        if not self.layout.joint:
            return label, labels
        n = labels.size(0)
        before, after = sum(self.c_dims[:set_index]), sum(self.c_dims[set_index + 1:])
        mask = F.one_hot(torch.full((n,), set_index), 2).float()
        return label, torch.cat([torch.zeros(n, before), labels, torch.zeros(n, after), mask],
                                dim=1)

    def out_cls(self, out_cls, set_index):
        start = sum(self.c_dims[:set_index])
        return out_cls[:, start:start + self.c_dims[set_index]]

    def gradient_penalty(self, y, x):
        dydx = torch.autograd.grad(outputs=y, inputs=x, grad_outputs=torch.ones(y.size()),
                                   retain_graph=True, create_graph=True, only_inputs=True)[0]
        dydx = dydx.view(dydx.size(0), -1)
        return torch.mean((torch.sqrt(torch.sum(dydx**2, dim=1)) - 1) ** 2)

    def train_d(self, x_real, label_org, c_trg, alpha, set_index):
        out_src, out_cls = self.D(x_real)
        d_loss_real = -torch.mean(out_src)
        d_loss_cls = self.classification_loss(self.out_cls(out_cls, set_index), label_org,
                                              set_index)
        x_fake = self.G(x_real, c_trg)
        out_src, _ = self.D(x_fake.detach())
        d_loss_fake = torch.mean(out_src)
        alpha = alpha.view(-1, 1, 1, 1)
        x_hat = (alpha * x_real.data + (1 - alpha) * x_fake.data).requires_grad_(True)
        out_src, _ = self.D(x_hat)
        d_loss_gp = self.gradient_penalty(out_src, x_hat)
        d_loss = (d_loss_real + d_loss_fake + OFFICIAL["lambda_cls"] * d_loss_cls
                  + OFFICIAL["lambda_gp"] * d_loss_gp)
        self.reset_grad()
        self.backward(d_loss, self.D)
        self.d_optimizer.step()
        return {"D/loss_real": d_loss_real.item(), "D/loss_fake": d_loss_fake.item(),
                "D/loss_cls": d_loss_cls.item(), "D/loss_gp": d_loss_gp.item()}

    def train_g(self, x_real, label_trg, c_org, c_trg, set_index):
        x_fake = self.G(x_real, c_trg)
        out_src, out_cls = self.D(x_fake)
        g_loss_fake = -torch.mean(out_src)
        g_loss_cls = self.classification_loss(self.out_cls(out_cls, set_index), label_trg,
                                              set_index)
        x_reconst = self.G(x_fake, c_org)
        g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))
        g_loss = (g_loss_fake + OFFICIAL["lambda_rec"] * g_loss_rec
                  + OFFICIAL["lambda_cls"] * g_loss_cls)
        self.reset_grad()
        self.backward(g_loss, self.G)
        self.g_optimizer.step()
        return {"G/loss_fake": g_loss_fake.item(), "G/loss_rec": g_loss_rec.item(),
                "G/loss_cls": g_loss_cls.item()}

    def cycle(self, batch, n_critic: int) -> dict[str, float]:
        """n_critic iterations of the official loop; returns the last iteration's terms
        averaged over the datasets (what the Keras step logs)."""
        sets = len(self.c_dims)
        per_set = batch["images"].shape[0] // (n_critic * sets)

        def part(key, i, s):
            rows = slice((i * sets + s) * per_set, (i * sets + s + 1) * per_set)
            value = torch.from_numpy(np.asarray(batch[key][rows]))
            return value.permute(0, 3, 1, 2).contiguous() if key == "images" else value

        logs = {}
        for i in range(n_critic):
            for s in range(sets):  # train_multi: for dataset in ['CelebA', 'RaFD']
                start, end = self.layout.span(s)
                label_org, c_org = self.domain(part("labels", i, s)[:, start:end], s)
                label_trg, c_trg = self.domain(part("target_labels", i, s)[:, start:end], s)
                x_real = part("images", i, s)
                loss = self.train_d(x_real, label_org, c_trg, part("alpha", i, s), s)
                if (i + 1) % n_critic == 0:
                    loss.update(self.train_g(x_real, label_trg, c_org, c_trg, s))
                    for name, value in loss.items():
                        logs[name] = logs.get(name, 0.0) + value / sets
        return logs


def _keras_model(dataset: str, n_critic: int, solver: OfficialSolver):
    config = TrainConfig(dataset=dataset, **{**TINY, "n_critic": n_critic,
                                             "num_iters": 1000, "num_iters_decay": 0})
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    model = build_model(config, layout)
    _assign_official(model, solver)
    return model, sources, layout


def _official_arrays(solver: OfficialSolver, model, noisy: bool = False
                     ) -> dict[str, dict[str, np.ndarray]]:
    """The official G and D (or, with ``noisy``, the masks of their noise-level
    gradients) through the project's converter, keyed like the Keras weights."""
    arrays = {}
    for torch_net, keras_net, tensors in (
            (solver.G, model.generator, generator_tensors(TINY["g_repeat_num"])),
            (solver.D, model.discriminator, discriminator_tensors(TINY["d_repeat_num"]))):
        if noisy:
            state = {name: np.broadcast_to(solver.noisy.get((id(torch_net), name), False),
                                           weight.shape).astype(np.float32)
                     for name, weight in torch_net.named_parameters()}
        else:
            state = {k: v.detach().numpy() for k, v in torch_net.state_dict().items()}
        arrays[keras_net.name] = convert_tensors(state, tensors, keras_net, "official")
    return arrays


def _assign_official(model, solver: OfficialSolver) -> None:
    arrays = _official_arrays(solver, model)
    for net in (model.generator, model.discriminator):
        for weight in net.weights:
            weight.assign(arrays[net.name][weight.path.split("/", 1)[1]])


def _weight_errors(model, solver: OfficialSolver) -> tuple[dict[str, float], float]:
    """Largest difference per weight, and the share of weight elements left out.

    Left out are the elements whose official gradient was at rounding level (below
    NOISE_FLOOR of its tensor's largest) in some update: Adam divides each step by the
    gradient's own size, so there the step's sign and size are rounding noise, in either
    framework. And the centre tap of G's label channels, whose exact gradient is 0: the
    label is tiled, that tap never reaches the zero padding, so it adds the same value at
    every pixel of an image, which the instance norm right after subtracts. Neither
    changes G's outputs beyond rounding; ``_output_error`` checks that.
    """
    arrays, noisy = _official_arrays(solver, model), _official_arrays(solver, model, True)
    errors, left_out, total = {}, 0, 0
    for net in (model.generator, model.discriminator):
        for weight in net.weights:
            key = weight.path.split("/", 1)[1]
            skip = noisy[net.name][key] > 0
            if key == "stem_conv/kernel":
                centre = weight.shape[0] // 2
                skip[centre, centre, 3:] = True
            error = np.where(skip, 0.0, np.abs(weight.numpy() - arrays[net.name][key]))
            errors[weight.path] = float(error.max())
            left_out, total = left_out + int(skip.sum()), total + skip.size
    return errors, left_out / total


def _output_error(model, solver: OfficialSolver, batch) -> float:
    """Largest difference between the two G's outputs on the batch's images."""
    images, targets = batch["images"][:4], batch["target_labels"][:4]
    with torch.no_grad():
        official = solver.G(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
                            solver.domain(torch.from_numpy(targets), 0)[1]
                            if not solver.layout.joint else torch.from_numpy(targets))
    ours = model.generator([images, targets], training=True).numpy()
    return float(np.abs(ours - official.permute(0, 2, 3, 1).numpy()).max())


def run_side_by_side(dataset: str, n_critic: int, cycles: int, seed: int = 0):
    """Train both for ``cycles`` n_critic cycles on the same batches; returns, per cycle,
    (Keras logs, official logs, largest weight difference, weight name)."""
    keras_model = None
    layout = LabelLayout(tuple(s.label_set for s in make_sources(
        TrainConfig(dataset=dataset, **TINY))))
    solver = OfficialSolver(layout, TINY["image_size"], seed)
    keras_model, sources, layout = _keras_model(dataset, n_critic, solver)
    step = tf.function(keras_model.train_step)
    batches = iter(training_batches(sources, layout, TINY["batch_size"], n_critic, seed=seed))
    results = []
    for _ in range(cycles):
        batch = {k: v.numpy() for k, v in next(batches).items()}
        keras_logs = {k: float(v) for k, v in step(batch).items()}
        official_logs = solver.cycle(batch, n_critic)
        errors, left_out = _weight_errors(keras_model, solver)
        worst = max(errors, key=errors.get)
        results.append((keras_logs, official_logs, errors[worst], worst, left_out,
                        _output_error(keras_model, solver, batch)))
    return results


def _check(results):
    for cycle, (keras_logs, official_logs, weight_error, worst, left_out,
                output_error) in enumerate(results):
        assert set(keras_logs) == set(official_logs) and len(official_logs) == 7
        for name, value in official_logs.items():
            assert keras_logs[name] == pytest.approx(value, rel=LOSS_RTOL, abs=LOSS_ATOL), (
                f"cycle {cycle}: {name}")
        assert weight_error <= WEIGHT_ATOL, f"cycle {cycle}: {worst} off by {weight_error:.2e}"
        assert left_out < 0.01, f"cycle {cycle}: {left_out:.1%} of the weights left out"
        assert output_error <= OUTPUT_ATOL, f"cycle {cycle}: G's outputs off by {output_error}"


@pytest.mark.parametrize("dataset", [
    "synthetic",  # multi-label, binary cross-entropy: the CelebA setting
    "synthetic_single",  # single-label, softmax cross-entropy: the RaFD setting
    "synthetic_both",  # both with the mask vector: D_1, G_1, D_2, G_2 per iteration
])
def test_one_d_and_one_g_update_equal_the_official_solver(dataset):
    _check(run_side_by_side(dataset, n_critic=1, cycles=1))


def test_consecutive_cycles_stay_on_the_official_track():
    # Joint training (both losses, the mask vector and the update order) over three
    # cycles of n_critic 2: G's updates follow the second of two D updates, on that
    # iteration's slices, and Adam's moments carry over from cycle to cycle.
    _check(run_side_by_side("synthetic_both", n_critic=2, cycles=3))


def test_initial_weights_are_pytorch_defaults_unless_keras_is_asked():
    config = TrainConfig(dataset="synthetic", **TINY)
    layout = LabelLayout(tuple(s.label_set for s in make_sources(config)))
    solver = OfficialSolver(layout, TINY["image_size"], seed=0)
    for weight_init in ("official", "keras"):
        model = build_model(dataclasses.replace(config, weight_init=weight_init), layout)
        shapes = _official_arrays(solver, model)  # names and layouts of the official tensors
        for net in (model.generator, model.discriminator):
            torch_net = solver.G if net is model.generator else solver.D
            official = dict(torch_net.named_parameters())
            tensors = generator_tensors if net is model.generator else discriminator_tensors
            for tensor in tensors(TINY[f"{net.name[0]}_repeat_num"]):
                if tensor.dropped or tensor.keras.endswith(("gamma", "beta")):
                    continue  # norms: scale 1, offset 0 in both (test_models)
                value = [w for w in net.weights
                         if w.path.split("/", 1)[1] == tensor.keras][0].numpy()
                assert value.shape == shapes[net.name][tensor.keras].shape
                fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(
                    official[tensor.name.replace(".bias", ".weight")])
                if weight_init == "keras":
                    bound = 0.0 if tensor.kind == "vector" else np.sqrt(6 / (fan_in + fan_out))
                else:  # kaiming_uniform(a=sqrt(5)) and the bias rule: both 1/sqrt(fan_in)
                    bound = 1 / np.sqrt(fan_in)
                assert np.abs(value).max() <= bound * (1 + 1e-6), tensor.keras
                if bound and value.size >= 100:  # a uniform draw fills its range
                    assert np.abs(value).max() >= 0.9 * bound, tensor.keras
                    assert value.std() == pytest.approx(bound / np.sqrt(3), rel=0.2)


def test_adam_is_torch_adam():
    # Gradients from 1e-9 to 1: PyTorch adds its epsilon (1e-8) to the bias-corrected
    # sqrt(v); Keras' own Adam adds 1e-7 to the uncorrected one, which differs where
    # gradients are small.
    rng = np.random.default_rng(0)
    start = rng.normal(size=(64,)).astype(np.float32)
    grads = [(rng.normal(size=(64,)) * 10.0 ** rng.uniform(-9, 0, 64)).astype(np.float32)
             for _ in range(4)]
    torch_weight = torch.nn.Parameter(torch.from_numpy(start.copy()))
    torch_adam = torch.optim.Adam([torch_weight], OFFICIAL["lr"], OFFICIAL["betas"])
    results = {}
    for epsilon in ("official", "keras"):
        optimizer = adam(OFFICIAL["lr"], *OFFICIAL["betas"], epsilon)
        weight = tf.Variable(start)
        for grad in grads:
            optimizer.apply_gradients([(tf.constant(grad), weight)])
        results[epsilon] = weight.numpy()
    for grad in grads:
        torch_weight.grad = torch.from_numpy(grad)
        torch_adam.step()
    expected = torch_weight.detach().numpy()
    # Weights near 1 carry float32 steps of 1.2e-7: two of those allowed; a step is ~4e-4.
    np.testing.assert_allclose(results["official"], expected, rtol=0, atol=2.4e-7)
    assert np.abs(results["keras"] - expected).max() > 1e-5
