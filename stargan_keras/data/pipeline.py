"""Training batches for StarGAN.train_step, a pure function of (seed, iteration)."""

from __future__ import annotations

from typing import Protocol

import tensorflow as tf

from stargan_keras.labels import LabelLayout, LabelSet, permuted_targets


class Source(Protocol):
    """What a dataset provides to training."""

    label_set: LabelSet

    def train_examples(self, start: int = 0,
                       share: tuple[int, int] | None = None) -> tf.data.Dataset:
        """Endless (image [H, W, 3] in [-1, 1], labels [dim]) from example ``start`` on;
        the same ``start`` must always give the same examples. ``share=(count, period)``
        keeps only the first ``count`` of every ``period`` examples from ``start`` on,
        and reads nothing else (asked for only in multi-worker training)."""


def training_batches(sources: list[Source], layout: LabelLayout, batch_size: int, n_critic: int,
                     num_replicas: int = 1, start_iteration: int = 0, seed: int = 0,
                     num_workers: int = 1, worker: int = 0) -> tf.data.Dataset:
    """Endless batches for ``StarGAN.train_step``, one n_critic cycle each.

    Iteration i of the official loop takes examples [i*B, (i+1)*B) of every source, with
    B = batch_size * num_replicas (``--batch_size`` is per replica, as the official flag
    means on its one device). Targets are a seeded permutation of the iteration's labels
    and the gradient-penalty weights a seeded uniform draw, so a run resumed at
    ``start_iteration`` sees exactly the batches an uninterrupted run would. Examples
    are ordered replica-major, so splitting the batch into ``num_replicas`` equal parts
    hands each replica its own share of every iteration.

    With ``num_workers`` > 1 this is only worker ``worker``'s part: the batches of its
    ``num_replicas // num_workers`` replicas, read and decoded without the other workers'
    examples. Its images, labels and alpha are its slice of the global batch; its targets
    are a permutation of its own share's labels (drawn from the same seeded numbers), so
    no worker needs another's labels. One worker gives exactly today's single-device and
    single-machine batches.
    """
    if start_iteration % n_critic:
        raise ValueError(f"start_iteration {start_iteration} is not a multiple of n_critic")
    if num_replicas % num_workers or not 0 <= worker < num_workers:
        raise ValueError(f"worker {worker} of {num_workers}: num_replicas {num_replicas} "
                         "must split evenly over the workers")
    local = num_replicas // num_workers
    global_batch = batch_size * num_replicas
    streams = [_iteration_stream(src, i, layout, global_batch, local * batch_size, worker,
                                 start_iteration, seed)
               for i, src in enumerate(sources)]
    joined = tf.data.Dataset.zip(tuple(streams)).map(
        lambda *per_set: {k: tf.stack([p[k] for p in per_set]) for k in per_set[0]})

    def replica_major(cycle):
        def reorder(value):
            # [n_critic, sets, replicas * b, ...] -> [replicas * n_critic * sets * b, ...]
            tail = list(value.shape[3:])
            value = tf.reshape(value, [n_critic, len(sources), local, batch_size] + tail)
            order = [2, 0, 1, 3] + list(range(4, 4 + len(tail)))
            return tf.reshape(tf.transpose(value, order), [-1] + tail)
        return {k: reorder(v) for k, v in cycle.items()}

    return (joined.batch(n_critic, drop_remainder=True)
            .map(replica_major, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def _iteration_stream(source: Source, set_index: int, layout: LabelLayout, global_batch: int,
                      share: int, worker: int, start_iteration: int,
                      seed: int) -> tf.data.Dataset:
    """This worker's ``share`` examples [worker*share, (worker+1)*share) of every
    iteration's ``global_batch`` of ``source``."""
    start = start_iteration * global_batch
    if share == global_batch:
        examples = source.train_examples(start)
    else:
        examples = source.train_examples(start + worker * share, share=(share, global_batch))
    batches = examples.batch(share, drop_remainder=True).enumerate(start=start_iteration)
    mine = slice(worker * share, (worker + 1) * share)

    def finish(iteration, example):
        images, labels = example
        labels = layout.embed(set_index, labels)
        key = tf.stack([tf.constant(seed, tf.int64),
                        iteration * 2 * len(layout.label_sets) + 2 * set_index])
        if share == global_batch:
            targets = permuted_targets(labels, key)
        else:  # the global draw's numbers for this share: a permutation within it
            order = tf.argsort(tf.random.stateless_uniform((global_batch,), seed=key)[mine])
            targets = tf.gather(labels, order)
        return {
            "images": images,
            "labels": labels,
            "target_labels": targets,
            "alpha": tf.random.stateless_uniform((global_batch,), seed=key + [0, 1])[mine],
        }

    return batches.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
