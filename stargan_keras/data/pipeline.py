"""Training batches for StarGAN.train_step, a pure function of (seed, iteration)."""

from __future__ import annotations

from typing import Protocol

import tensorflow as tf

from stargan_keras.labels import LabelLayout, LabelSet, permuted_targets


class Source(Protocol):
    """What a dataset provides to training."""

    label_set: LabelSet

    def train_examples(self, start: int = 0) -> tf.data.Dataset:
        """Endless (image [H, W, 3] in [-1, 1], labels [dim]) from example ``start`` on;
        the same ``start`` must always give the same examples."""


def training_batches(sources: list[Source], layout: LabelLayout, batch_size: int, n_critic: int,
                     num_replicas: int = 1, start_iteration: int = 0,
                     seed: int = 0) -> tf.data.Dataset:
    """Endless batches for ``StarGAN.train_step``, one n_critic cycle each.

    Iteration i of the official loop takes examples [i*B, (i+1)*B) of every source, with
    B = batch_size * num_replicas (``--batch_size`` is per replica, as the official flag
    means on its one device). Targets are a seeded permutation of the iteration's labels
    and the gradient-penalty weights a seeded uniform draw, so a run resumed at
    ``start_iteration`` sees exactly the batches an uninterrupted run would. Examples
    are ordered replica-major, so splitting the batch into ``num_replicas`` equal parts
    hands each replica its own share of every iteration.
    """
    if start_iteration % n_critic:
        raise ValueError(f"start_iteration {start_iteration} is not a multiple of n_critic")
    global_batch = batch_size * num_replicas
    streams = [_iteration_stream(src, i, layout, global_batch, start_iteration, seed)
               for i, src in enumerate(sources)]
    joined = tf.data.Dataset.zip(tuple(streams)).map(
        lambda *per_set: {k: tf.stack([p[k] for p in per_set]) for k in per_set[0]})

    def replica_major(cycle):
        def reorder(value):
            # [n_critic, sets, replicas * b, ...] -> [replicas * n_critic * sets * b, ...]
            tail = list(value.shape[3:])
            value = tf.reshape(value, [n_critic, len(sources), num_replicas, batch_size] + tail)
            order = [2, 0, 1, 3] + list(range(4, 4 + len(tail)))
            return tf.reshape(tf.transpose(value, order), [-1] + tail)
        return {k: reorder(v) for k, v in cycle.items()}

    return (joined.batch(n_critic, drop_remainder=True)
            .map(replica_major, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def _iteration_stream(source: Source, set_index: int, layout: LabelLayout, global_batch: int,
                      start_iteration: int, seed: int) -> tf.data.Dataset:
    examples = source.train_examples(start_iteration * global_batch)
    batches = examples.batch(global_batch, drop_remainder=True).enumerate(start=start_iteration)

    def finish(iteration, example):
        images, labels = example
        labels = layout.embed(set_index, labels)
        key = tf.stack([tf.constant(seed, tf.int64),
                        iteration * 2 * len(layout.label_sets) + 2 * set_index])
        return {
            "images": images,
            "labels": labels,
            "target_labels": permuted_targets(labels, key),
            "alpha": tf.random.stateless_uniform((global_batch,), seed=key + [0, 1]),
        }

    return batches.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
