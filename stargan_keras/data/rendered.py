"""Built-in data drawn from explicit scenes, and the exact truth of a translation.

A rendered source (the synthetic shapes, the synthetic faces) draws scenes, blocks of
``BLOCK`` at a time, as a pure function of (seed, stream, block), and paints them; it
keeps the scene behind each held-out image, and ``truth(scenes, labels)`` paints the same
identity with ``labels`` set. Evaluation compares G's translations with it.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from stargan_keras.errors import UserError
from stargan_keras.labels import LabelLayout, LabelSet, select_attributes

BLOCK = 64  # scenes are drawn in blocks of this many, one stateless seed per block
_SPLITS = {"train": 0, "held_out": 1}


@dataclasses.dataclass(frozen=True)
class SceneLabels:
    """Where a view's labels live in its scenes.

    A multi-label view has an exclusive ``group`` of attributes (the index of the one
    that is on is ``scenes[group_key]``) and 0/1 ``flags`` (attribute, scene key); a
    single-label view has ``classes``, the index of the class in ``scenes[class_key]``.
    """

    group: tuple[str, ...] = ()
    group_key: str = ""
    flags: tuple[tuple[str, str], ...] = ()
    classes: tuple[str, ...] = ()
    class_key: str = ""

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.group + tuple(name for name, _ in self.flags)


class RenderedSource:
    """A label set's view of a rendered world: a training stream and a held-out split.

    Subclasses define ``draw(seed, stream, block)`` -> a block of scenes and
    ``paint(scenes)`` -> images in [-1, 1].

    Args:
        name: the label set's name.
        scene_labels: where the view's labels live in a scene.
        selected_attrs: for a multi-label view, the attributes to learn (a subset that
            keeps the exclusive group together or leaves it out).
        image_size, seed: the images' side and the world's seed.
        stream: the first of two stream numbers (training, held out), distinct per view.
        pool_size: None to train on every scene of an endless stream; where painting
            costs more than a training step can spare, the number of scenes painted
            once (as 8-bit images, like decoded photos) and reshuffled each epoch.
    """

    def __init__(self, name: str, scene_labels: SceneLabels, selected_attrs: tuple[str, ...],
                 image_size: int, seed: int, stream: int, pool_size: int | None = None):
        self.scene_labels = scene_labels
        if scene_labels.classes:
            self.label_set = LabelSet(name, scene_labels.classes, multi_label=False)
        else:
            self._columns = select_attributes(scene_labels.attributes, selected_attrs,
                                              f"--dataset={name}")
            group = scene_labels.group
            chosen = [c for c in group if c in selected_attrs]
            if chosen and len(chosen) != len(group):
                raise UserError(f"selected_attrs must name all of {', '.join(group)} or none "
                                f"of them (they are one exclusive group); got "
                                f"{', '.join(chosen)}")
            self.label_set = LabelSet(name, tuple(selected_attrs), multi_label=True,
                                      exclusive=(group,) if chosen else ())
        self.image_size, self.seed, self.stream = image_size, seed, stream
        self.pool_size = pool_size

    def labels(self, scenes: dict[str, tf.Tensor]) -> tf.Tensor:
        """This view's labels [N, dim] of a batch of scenes."""
        known = self.scene_labels
        if known.classes:
            return tf.one_hot(scenes[known.class_key], len(known.classes))
        every = tf.concat([tf.one_hot(scenes[known.group_key], len(known.group))]
                          + [tf.cast(scenes[key], tf.float32)[:, None]
                             for _, key in known.flags], axis=1)
        return tf.gather(every, self._columns, axis=1)

    def apply(self, scenes: dict[str, tf.Tensor], labels: tf.Tensor) -> dict[str, tf.Tensor]:
        """The scenes with this view's labels [N, dim] set."""
        known, scenes = self.scene_labels, dict(scenes)
        if known.classes:
            scenes[known.class_key] = tf.argmax(labels, axis=1, output_type=tf.int32)
            return scenes
        names = self.label_set.names
        if self.label_set.exclusive:
            columns = [names.index(c) for c in known.group]
            scenes[known.group_key] = tf.argmax(tf.gather(labels, columns, axis=1), axis=1,
                                                output_type=tf.int32)
        for name, key in known.flags:
            if name in names:
                scenes[key] = tf.cast(labels[:, names.index(name)] > 0.5, tf.float32)
        return scenes

    def truth(self, scenes: dict[str, tf.Tensor], labels: tf.Tensor) -> tf.Tensor:
        """The images of ``scenes`` with this view's ``labels`` set."""
        return self.paint(self.apply(scenes, labels))

    def _blocks(self, split: str, first_block: int) -> tf.data.Dataset:
        stream = self.stream + _SPLITS[split]
        return tf.data.Dataset.range(first_block, 1 << 62).map(
            lambda b: self.draw(self.seed, stream, b))

    def train_examples(self, start: int = 0,
                       share: tuple[int, int] | None = None) -> tf.data.Dataset:
        """The endless training stream of (image, labels), from example ``start`` on
        (``share``: see ``pipeline.Source``)."""
        def to_examples(scenes):
            return self.paint(scenes), self.labels(scenes)

        if self.pool_size:
            return self._pool_examples(start, share)
        blocks = self._blocks("train", start // BLOCK)
        if share is None:
            return (blocks.map(to_examples, num_parallel_calls=tf.data.AUTOTUNE)
                    .unbatch().skip(start % BLOCK))
        # Drawing scenes is cheap; only the share's scenes are painted. Painted in
        # batches of a multiple of 16 scenes (padded with copies), as whole blocks are:
        # the per-image ops then take the same vectorised code paths, so each image is
        # bit-identical to the one the whole stream paints.
        count, period = share
        padded = -(-count // 16) * 16

        def to_padded_examples(scenes):
            def pad(v):
                return tf.concat([v, tf.repeat(v[:1], padded - count, axis=0)], axis=0)
            images, labels = to_examples({k: pad(v) for k, v in scenes.items()})
            return images[:count], labels[:count]

        scenes = (blocks.unbatch().skip(start % BLOCK).enumerate()
                  .filter(lambda t, _: t % period < count).map(lambda _, scene: scene))
        return (scenes.batch(count, drop_remainder=True)
                .map(to_padded_examples, num_parallel_calls=tf.data.AUTOTUNE).unbatch())

    def _pool_examples(self, start: int, share: tuple[int, int] | None) -> tf.data.Dataset:
        """Example ``i`` is pool image ``permutation(i // pool_size)[i % pool_size]``."""
        images, labels = self._painted_pool()
        size, key = self.pool_size, tf.constant(self.seed, tf.int64) * 1000 + self.stream

        def epoch_order(epoch):
            order = tf.argsort(tf.random.stateless_uniform((size,), seed=tf.stack([key, epoch])))
            return tf.data.Dataset.from_tensor_slices(order)

        order = (tf.data.Dataset.range(start // size, 1 << 62).flat_map(epoch_order)
                 .skip(start % size))
        if share is not None:
            count, period = share
            order = (order.enumerate().filter(lambda t, _: t % period < count)
                     .map(lambda _, index: index))

        def example(index):
            image = tf.cast(tf.gather(images, index), tf.float32) / 127.5 - 1.0
            return image, tf.gather(labels, index)

        return order.map(example, num_parallel_calls=tf.data.AUTOTUNE)

    def _painted_pool(self) -> tuple[tf.Tensor, tf.Tensor]:
        """The first ``pool_size`` training scenes painted, as uint8 images and labels."""
        if getattr(self, "_pool", None) is None:
            def paint_block(scenes):
                images = tf.round((self.paint(scenes) + 1.0) * 127.5)
                return tf.cast(images, tf.uint8), self.labels(scenes)

            blocks = (self._blocks("train", 0).take(-(-self.pool_size // BLOCK))
                      .map(paint_block, num_parallel_calls=tf.data.AUTOTUNE))
            images, labels = zip(*blocks)
            self._pool = (tf.concat(images, 0)[:self.pool_size],
                          tf.concat(labels, 0)[:self.pool_size])
        return self._pool

    def held_out(self, count: int) -> tuple[tf.Tensor, tf.Tensor, dict[str, tf.Tensor]]:
        """The first ``count`` held-out (images, labels, scenes), disjoint from training."""
        blocks = self._blocks("held_out", 0).take(-(-count // BLOCK))
        scenes = next(iter(blocks.batch(1 << 20)))
        scenes = {k: tf.reshape(v, (-1,) + tuple(v.shape[2:]))[:count] for k, v in scenes.items()}
        return self.paint(scenes), self.labels(scenes), scenes


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
