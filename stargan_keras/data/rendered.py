"""The exact truth of a translation, for built-in data drawn from explicit scenes.

A rendered source (the synthetic shapes, the synthetic faces) keeps the scene behind each
held-out image and has ``truth(scenes, labels)``: the same identity drawn with ``labels``
set. Evaluation compares G's translations with it.
"""

from __future__ import annotations

import tensorflow as tf

from stargan_keras.labels import LabelLayout


def ground_truth(sources: list, layout: LabelLayout, scenes: dict[str, tf.Tensor],
                 targets: tf.Tensor) -> tf.Tensor:
    """The true translations of ``scenes`` to ``targets`` [N, layout.width].

    In joint training the target's mask names the label set it speaks of; without a
    mask there is one set.
    """
    active = (tf.argmax(targets[:, layout.logits_dim:], axis=1, output_type=tf.int32)
              if layout.joint else tf.zeros(tf.shape(targets)[:1], tf.int32))
    truth = None
    for i, source in enumerate(sources):
        start, end = layout.span(i)
        images = source.truth(scenes, targets[:, start:end])
        truth = images if truth is None else tf.where((active == i)[:, None, None, None],
                                                      images, truth)
    return truth
