"""Evaluation during training: a cheap subset of the evaluate CLI, the one in-training scorer.

Every ``eval_step`` iterations (``due``) the training loop hands G to ``evaluate``, which
translates the held-out images to every test-grid column and logs to TensorBoard (under
the names the evaluate CLI uses): the classification error of the translations when a
classifier is given (``--eval_classifier``), reconstruction L1/PSNR, and on built-in
rendered data the error against the rendered truth (``eval/ground_truth_l1``, ``_psnr``,
``_ssim``) and what G gains over returning the input (``eval/ground_truth_psnr_gain``,
``_l1_gain``), also written to the run's ``translation_error.json``. FID/KID and a
second classifier are left to the evaluate CLI. On rendered data without
``--eval_step`` only the truth is scored, at every sample grid (``--sample_step``).
"""

from __future__ import annotations

import json

import tensorflow as tf
from absl import logging

from stargan_keras.config import RENDERED_DATASETS, TrainConfig
from stargan_keras.errors import UserError
from stargan_keras.evaluation.classifier import EvaluationClassifier
from stargan_keras.evaluation.evaluate_run import classification_summary, reconstruction_summary
from stargan_keras.evaluation.report import scalars
from stargan_keras.evaluation.sweep import HeldOut, held_out_parts, sweep, truth_summary
from stargan_keras.labels import LabelLayout

# In the run directory: the latest truth figures (rendered data), as JSON.
TRUTH_FILE = "translation_error.json"


class TrainingEvaluator:
    """Scores G every ``every`` iterations and writes the scalars to ``logdir``.

    Args:
        every: iterations between evaluations.
        layout: the run's label layout.
        held_out: the images to translate.
        logdir: TensorBoard folder (the run's logs).
        classifier: an ``EvaluationClassifier`` covering the layout, or None.
        truth_sources: the rendered sources of the layout, to score against their truth;
            None otherwise.
        reconstruction: also score G(G(x, c), c_org) against x.
        truth_file: where to write the latest truth figures as JSON, or None.
    """

    def __init__(self, every: int, layout: LabelLayout, held_out: list[HeldOut], logdir: str,
                 classifier: EvaluationClassifier | None = None,
                 truth_sources: list | None = None, reconstruction: bool = True,
                 truth_file: str | None = None):
        if every <= 0:
            raise UserError(f"--eval_step={every}: must be positive")
        if classifier is not None:
            for label_set in layout.label_sets:
                classifier.head(label_set)  # fails now, not at the first evaluation
        self.every, self.layout, self.held_out = every, layout, held_out
        self.classifier, self.truth_sources = classifier, truth_sources
        self.reconstruction, self.truth_file = reconstruction, truth_file
        self.writer = tf.summary.create_file_writer(logdir)

    @classmethod
    def from_config(cls, config: TrainConfig, layout: LabelLayout, sources: list,
                    logdir: str, truth_file: str | None = None) -> TrainingEvaluator | None:
        """The evaluator ``config`` asks for: every --eval_step iterations; on rendered
        data without it, the truth alone at every --sample_step; otherwise None."""
        truth = sources if config.dataset in RENDERED_DATASETS else None
        if not config.eval_step and truth is None:
            return None
        classifier = (EvaluationClassifier.load(config.eval_classifier)
                      if config.eval_classifier else None)
        return cls(config.eval_step or config.sample_step, layout,
                   held_out_parts(sources, layout, config.num_eval_images), logdir,
                   classifier, truth, reconstruction=bool(config.eval_step),
                   truth_file=truth_file if truth is not None else None)

    def due(self, iteration: int) -> bool:
        """Whether ``iteration`` is one to evaluate at (a multiple of ``every``)."""
        return iteration % self.every == 0

    def evaluate(self, iteration: int, generator) -> dict[str, float]:
        """Score G now and log the scalars; returns them."""
        columns = sweep(generator, self.layout, self.held_out, classifier=self.classifier,
                        truth_sources=self.truth_sources, reconstruction=self.reconstruction)
        metrics = {}
        if self.reconstruction:
            metrics["reconstruction"] = reconstruction_summary(columns)
        if self.classifier is not None:
            metrics["classification"] = classification_summary(columns, {})
        if self.truth_sources is not None:
            metrics["ground_truth"] = truth_summary(columns)
            if self.truth_file:
                with open(self.truth_file, "w") as f:
                    json.dump({**metrics["ground_truth"], "iteration": iteration}, f, indent=2)
        values = scalars(metrics)
        with self.writer.as_default(step=iteration):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        self.writer.flush()
        logging.info("Iteration %d evaluation: %s", iteration,
                     ", ".join(f"{k[len('eval/'):]} {v:.4f}" for k, v in values.items()
                               if k.count("/") == 1))
        return values
