"""Adam as the official code runs it (torch.optim.Adam), beside Keras' own."""

from __future__ import annotations

import keras
from keras import ops

from stargan_keras.config import ADAM_EPSILONS


@keras.saving.register_keras_serializable(package="stargan_keras")
class TorchAdam(keras.optimizers.Adam):
    """torch.optim.Adam's update: epsilon (default 1e-8) added to the bias-corrected
    sqrt(v_hat).

    ``keras.optimizers.Adam`` adds its epsilon (default 1e-7) to the uncorrected
    sqrt(v) ("epsilon hat"), which in PyTorch's terms is an epsilon of
    1e-7 / sqrt(1 - beta2**t): 3e-6 on the first update with beta2 = 0.999. The two
    agree where |gradient| is far above that, and differ on the near-zero gradients
    (for example G's label channels, which instance norm all but cancels).
    """

    def __init__(self, learning_rate=1e-4, beta_1: float = 0.5, beta_2: float = 0.999,
                 epsilon: float = 1e-8, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        correction1 = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        correction2 = 1 - ops.power(ops.cast(self.beta_2, dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(correction2)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / correction1), denominator))


def adam(learning_rate, beta1: float, beta2: float,
         epsilon: str = "official") -> keras.optimizers.Optimizer:
    """The training optimizer: ``TorchAdam`` ("official") or ``keras.optimizers.Adam``
    with its defaults ("keras", ``--adam_epsilon=keras``)."""
    if epsilon not in ADAM_EPSILONS:
        raise ValueError(f"--adam_epsilon={epsilon!r}: expected one of {', '.join(ADAM_EPSILONS)}")
    if epsilon == "keras":
        return keras.optimizers.Adam(learning_rate, beta1, beta2)
    return TorchAdam(learning_rate, beta1, beta2)
