"""Training the evaluation classifier on real training images, as a library call."""

from __future__ import annotations

import sys

import keras
import tensorflow as tf
from absl import logging

from stargan_keras.errors import UserError
from stargan_keras.evaluation.classifier import EvaluationClassifier, build_classifier, real_error
from stargan_keras.labels import LabelLayout
from stargan_keras.training.losses import classification_loss


def classifier_batches(sources: list, layout: LabelLayout, batch_size: int,
                       seed: int) -> tf.data.Dataset:
    """Endless (images, labels in the layout) batches, ``batch_size`` from every source.

    Only ``train_examples`` is read, so held-out images never reach the classifier.
    Images are flipped left-right at random (seeded by step), which changes no label of
    the supported datasets.
    """
    streams = [source.train_examples(0).batch(batch_size, drop_remainder=True)
               .map(lambda images, labels, i=i: (images, layout.embed(i, labels)))
               for i, source in enumerate(sources)]

    def join_and_flip(step, per_source):
        images = tf.concat([p[0] for p in per_source], axis=0)
        labels = tf.concat([p[1] for p in per_source], axis=0)
        key = tf.stack([tf.constant(seed, tf.int64), step])
        flip = tf.random.stateless_uniform((tf.shape(images)[0],), seed=key) < 0.5
        images = tf.where(flip[:, None, None, None], images[:, :, ::-1, :], images)
        return images, labels

    return (tf.data.Dataset.zip(tuple(streams)).enumerate()
            .map(lambda step, per_source: join_and_flip(step, per_source),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def fit(model: keras.Model, layout: LabelLayout, batches: tf.data.Dataset, num_steps: int,
        learning_rate: float) -> float:
    """Adam on the layout's classification loss (mask-weighted per set); returns the last loss.

    The learning rate decays to 0 along a cosine, so the final weights are not one
    noisy step of a constant rate (which costs the size attribute of the synthetic
    data about a point of error).
    """
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate,
                                                                             num_steps))

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = classification_loss(layout, model(images, training=True), labels)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    progbar = keras.utils.Progbar(num_steps, stateful_metrics=["loss"],
                                  verbose=1 if sys.stdout.isatty() else 2)
    loss = float("nan")
    for i, (images, labels) in enumerate(batches.take(num_steps)):
        loss = float(step(images, labels))
        if (i + 1) % 50 == 0 or i + 1 == num_steps:
            progbar.update(i + 1, [("loss", loss)])
    return loss


def train_and_save(sources: list, directory: str, *, dataset: str, arch: str, image_size: int,
                   num_steps: int, batch_size: int, learning_rate: float,
                   num_test_images: int, seed: int) -> EvaluationClassifier:
    """Train a classifier on the sources' training streams, measure it, save it.

    Args:
        sources: data sources (see ``data.make_sources``), one per label set.
        directory: where classifier.keras and classifier.json go.
        dataset: the --dataset name, recorded for the reader.
        arch: a key of ``classifier.ARCHITECTURES``.
        image_size: input size (the sources' image size).
        num_steps: optimisation steps; each sees ``batch_size`` images per source.
        batch_size: images per source per step.
        learning_rate: Adam's learning rate.
        num_test_images: held-out real images per source for the real-test error.
        seed: seeds the initial weights and the flips.

    Returns:
        The trained classifier; its ``info["real_test_error"]`` maps each label set's
        name to its error on real held-out images.
    """
    for name, value in (("num_steps", num_steps), ("batch_size", batch_size),
                        ("num_test_images", num_test_images)):
        if value <= 0:
            raise UserError(f"--{name}={value}: must be positive")
    layout = LabelLayout(tuple(s.label_set for s in sources))
    keras.utils.set_random_seed(seed)
    model = build_classifier(arch, image_size, layout.logits_dim)
    logging.info("Training a %s classifier (%d parameters) on %s for %d steps", arch,
                 model.count_params(), dataset, num_steps)
    loss = fit(model, layout, classifier_batches(sources, layout, batch_size, seed),
               num_steps, learning_rate)
    info = {"dataset": dataset, "arch": arch, "image_size": image_size,
            "num_steps": num_steps, "batch_size": batch_size,
            "learning_rate": learning_rate, "seed": seed, "final_loss": loss}
    classifier = EvaluationClassifier(model, layout, info)
    errors = {}
    for source in sources:
        images, labels = source.held_out(num_test_images)[:2]
        errors[source.label_set.name] = real_error(classifier, source.label_set, images, labels)
        logging.info("Real-test error on %s: %.2f%% (%d images)", source.label_set.name,
                     100 * errors[source.label_set.name]["error"], int(images.shape[0]))
    classifier.info["real_test_error"] = errors
    classifier.save(directory)
    return classifier
