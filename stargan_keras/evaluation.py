"""Translation-quality metrics."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from stargan_keras.labels import LabelLayout, grid_targets


def l1_error(images: tf.Tensor, references: tf.Tensor) -> tf.Tensor:
    """Per-image mean absolute error on the [-1, 1] scale, [N]."""
    return tf.reduce_mean(tf.abs(images - references), axis=[1, 2, 3])


def psnr(images: tf.Tensor, references: tf.Tensor) -> tf.Tensor:
    """Per-image PSNR in dB for [-1, 1] images (peak-to-peak 2), [N]; inf when equal."""
    mse = tf.reduce_mean(tf.square(images - references), axis=[1, 2, 3])
    return 10.0 * tf.math.log(4.0 / mse) / tf.math.log(10.0)


def translate(generator, images: tf.Tensor, targets: tf.Tensor, batch: int = 64) -> tf.Tensor:
    """G(images, targets) in chunks, to bound memory on large held-out sets."""
    return tf.concat([generator([images[i:i + batch], targets[i:i + batch]], training=False)
                      for i in range(0, int(images.shape[0]), batch)], axis=0)


def ground_truth_error(generator, sources, layout: LabelLayout, held_out) -> dict:
    """L1 and PSNR of translations against rendered truth, per (dataset, target) and mean.

    ``held_out`` holds one (images, labels in the layout, scenes) per source; every image
    is translated to each column of the official test grid, the other label sets'
    columns (cross-dataset targets) included.
    """
    from stargan_keras.data.synthetic import ground_truth

    per_target, l1_all, psnr_all = {}, [], []
    for source, (images, labels, scenes) in zip(sources, held_out):
        for name, targets in grid_targets(layout, labels):
            fakes = translate(generator, images, targets)
            truth = ground_truth(sources, layout, scenes, targets)
            l1 = l1_error(fakes, truth).numpy()
            db = psnr(fakes, truth).numpy()
            per_target[f"{source.label_set.name}->{name}"] = {
                "l1": float(l1.mean()), "psnr": float(db.mean())}
            l1_all.append(l1)
            psnr_all.append(db)
    return {"l1": float(np.concatenate(l1_all).mean()),
            "psnr": float(np.concatenate(psnr_all).mean()),
            "per_target": per_target}
