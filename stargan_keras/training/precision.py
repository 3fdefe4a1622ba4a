"""Mixed precision for training: the Keras dtype policy of the networks, and loss scaling.

Under ``bfloat16`` or ``float16`` the layers compute in that type while their variables,
the optimizers, the losses and the gradient penalty stay float32: G's last layer and
D's outputs are float32 (see ``models``), and instance norm computes its statistics in
float32 (Keras' GroupNormalization upcasts its input). float16's narrow range needs
dynamic loss scaling, which ``LossScaleOptimizer`` does for the updates and ``StarGAN``
for the gradient penalty's inner gradient.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

from stargan_keras.config import PRECISIONS

_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
assert set(_POLICIES) == set(PRECISIONS)


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"mixed precision {precision!r}: expected one of "
                         f"{', '.join(PRECISIONS)}")


@contextlib.contextmanager
def compute_precision(precision: str) -> Iterator[None]:
    """Layers created inside compute in ``precision`` (with float32 variables).

    The global policy is restored on exit, so networks built later in the same process
    (translation, export, tests) stay float32.
    """
    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(_POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@keras.saving.register_keras_serializable(package="stargan_keras")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras' dynamic loss scaling, except that a skipped update (an overflow) still
    counts in ``iterations``.

    Keras leaves the count alone on a skip, so the learning-rate schedule, which reads
    it, would lag the training loop by one update per overflow, and so would the
    iteration the model reports. Counted, the schedule stays on the loop's iteration
    (as a PyTorch scheduler stepped by the loop does). Adam's bias correction counts
    the skipped update too; its moments are untouched, so the next step is at most a
    few percent larger in the first updates, where the overflows happen.
    """

    def _stateful_handle_non_finite_grads(self):
        super()._stateful_handle_non_finite_grads()
        self.inner_optimizer.iterations.assign_add(1)


def scaled_optimizer(optimizer: keras.optimizers.Optimizer,
                     precision: str) -> keras.optimizers.Optimizer:
    """``optimizer`` with dynamic loss scaling when ``precision`` is float16."""
    check_precision(precision)
    if precision != "float16":
        return optimizer
    return LossScaleOptimizer(optimizer)
