"""What a person watches during training: progress bar, TensorBoard, sample grids.

Scores (classification error, reconstruction, the error against rendered truth on
synthetic data) are the ``TrainingEvaluator``'s.
"""

from __future__ import annotations

import os
import sys
import time

import keras
import tensorflow as tf
from absl import logging

from stargan_keras import image_grid as images
from stargan_keras.evaluation import sweep as evaluation
from stargan_keras.evaluation.sweep import HeldOut
from stargan_keras.labels import grid_targets
from stargan_keras.run_dir import RunDirectory
from stargan_keras.training.engine import StarGAN


class TrainingMonitor:
    """Logs losses, learning rates and images/s; writes sample grids.

    Args:
        model: the StarGAN being trained.
        run: its run directory.
        samples: the fixed held-out images of the sample grid, per label set
            (``sweep.held_out_parts``).
        images_per_cycle: images one train_step consumes, for images/s.
    """

    def __init__(self, model: StarGAN, run: RunDirectory, num_iters: int,
                 samples: list[HeldOut], images_per_cycle: int):
        self.model, self.run, self.num_iters = model, run, num_iters
        self.samples = (tf.concat([part.images for part in samples], 0),
                        tf.concat([part.labels for part in samples], 0))
        self.images_per_cycle = images_per_cycle
        self.writer = tf.summary.create_file_writer(run.logs)
        names = list(model.metric_names) + ["images/s"]
        # A live bar on a terminal; one log line per log_step in files and CI logs.
        self.progbar = (keras.utils.Progbar(num_iters, stateful_metrics=names)
                        if sys.stdout.isatty() else None)
        self._last_time, self._last_iteration = None, None

    def start(self, iteration: int) -> None:
        self._last_time, self._last_iteration = time.perf_counter(), iteration

    def log(self, iteration: int, logs: dict) -> None:
        """Scalars for TensorBoard (stepped by iteration) and the progress bar."""
        now = time.perf_counter()
        cycles = (iteration - self._last_iteration) / self.model.n_critic
        rate = cycles * self.images_per_cycle / max(now - self._last_time, 1e-9)
        self._last_time, self._last_iteration = now, iteration
        values = {k: float(v) for k, v in logs.items()}
        with self.writer.as_default(step=iteration):
            for name, value in values.items():
                tf.summary.scalar(name, value)
            tf.summary.scalar("G/lr", self._lr(self.model.g_optimizer))
            tf.summary.scalar("D/lr", self._lr(self.model.d_optimizer))
            tf.summary.scalar("images_per_s", rate)
        if self.progbar:
            self.progbar.update(iteration, list(values.items()) + [("images/s", rate)])
        else:
            logging.info("Iteration %d/%d: %s, %.1f images/s", iteration, self.num_iters,
                         ", ".join(f"{k} {v:.4f}" for k, v in values.items()), rate)

    @staticmethod
    def _lr(optimizer) -> float:
        return float(optimizer.learning_rate)

    def sample(self, iteration: int) -> str:
        """Write the sample grid: rows are the fixed images, columns input then targets."""
        sample_images, sample_labels = self.samples
        generator = self.model.averaged_generator()
        columns = [sample_images] + [
            evaluation.translate(generator, sample_images, targets)
            for _, targets in grid_targets(self.model.layout, sample_labels)]
        picture = images.viewable(images.to_uint8(images.grid(columns)))
        path = os.path.join(self.run.samples, f"{iteration:06d}-images.png")
        images.write_png(picture, path)
        with self.writer.as_default(step=iteration):
            tf.summary.image("samples", picture[None])
        logging.info("Iteration %d: sample grid %s", iteration, path)
        return path

    def close(self) -> None:
        self.writer.flush()
