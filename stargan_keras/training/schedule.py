"""Learning-rate schedule: constant, then linear decay to zero over the last iterations."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="stargan_keras")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(i) = initial * min(1, (num_iters - i) / num_iters_decay) at training iteration i.

    The optimizer counts its own updates, which are not training iterations: D may see
    several batches per iteration (one per dataset in joint training) and G is updated on
    the last iteration of each n_critic cycle. ``updates_per_iter``, ``stride`` and
    ``offset`` map update k to iteration ``(k // updates_per_iter) * stride + offset``.
    """

    def __init__(self, initial_learning_rate: float, num_iters: int, num_iters_decay: int,
                 updates_per_iter: int = 1, stride: int = 1, offset: int = 0):
        self.initial_learning_rate = initial_learning_rate
        self.num_iters = num_iters
        self.num_iters_decay = num_iters_decay
        self.updates_per_iter, self.stride, self.offset = updates_per_iter, stride, offset

    def iteration(self, step):
        return (step // self.updates_per_iter) * self.stride + self.offset

    def __call__(self, step):
        iteration = ops.cast(self.iteration(ops.cast(step, "int64")), "float32")
        if self.num_iters_decay <= 0:
            return ops.cast(self.initial_learning_rate, "float32")
        remaining = (float(self.num_iters) - iteration) / float(self.num_iters_decay)
        return self.initial_learning_rate * ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "num_iters": self.num_iters,
                "num_iters_decay": self.num_iters_decay, "updates_per_iter": self.updates_per_iter,
                "stride": self.stride, "offset": self.offset}
