"""Translation quality: translate held-out images to every test-grid column and score them.

``sweep`` is the one loop behind every measurement (the evaluate CLI and the training-time
evaluator): for each held-out image and each
column of the official test grid it makes the translation G(x, c) and the
reconstruction G(G(x, c), c_org), and keeps per-image scores, never the images, so
memory does not grow with the number of images.
"""

from __future__ import annotations

import dataclasses
import sys

import keras
import numpy as np
import tensorflow as tf

from stargan_keras.errors import UserError
from stargan_keras.evaluation.classifier import predict_labels, translation_scores
from stargan_keras.evaluation.image_metrics import l1_error, psnr, ssim
from stargan_keras.labels import LabelLayout, grid_targets


def translate(generator, images: tf.Tensor, targets: tf.Tensor, batch: int = 64) -> tf.Tensor:
    """G(images, targets) in chunks, to bound memory on large held-out sets."""
    return tf.concat([generator([images[i:i + batch], targets[i:i + batch]], training=False)
                      for i in range(0, int(images.shape[0]), batch)], axis=0)


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """Held-out images of one label set, with their labels placed in the run's layout.

    Attributes:
        set_index: the label set's index in the layout.
        images: [N, H, W, 3] in [-1, 1].
        labels: [N, layout.width].
        scenes: the scenes behind built-in rendered images (for their truth), else None.
    """

    set_index: int
    images: tf.Tensor
    labels: tf.Tensor
    scenes: dict | None = None


@dataclasses.dataclass
class Column:
    """The scores of one (source set -> target label) column, one entry per image.

    ``scores`` maps a metric to its per-image values: ``rec_l1`` and ``rec_psnr`` (x
    against G(G(x, c), c_org)); with a classifier ``correct``, ``target_correct``
    and, for multi-label targets, ``kept`` (see ``classifier.translation_scores``), and
    the same names prefixed with ``SECOND`` from a second classifier; with a feature
    extractor ``features`` [N, F] and ``target_value`` (the changed label's target, 0 or
    1); with rendered truth ``truth_l1``, ``truth_psnr`` and ``truth_ssim`` of G(x, c),
    and ``input_l1`` and ``input_psnr`` of x itself against the same truth (what
    returning the input would score); with a critic (D) ``critic_target_correct``.
    """

    source_set: int
    target_set: int
    label: str
    scores: dict[str, list] = dataclasses.field(default_factory=dict)

    def add(self, name: str, values) -> None:
        self.scores.setdefault(name, []).append(np.asarray(values))

    def values(self, name: str) -> np.ndarray:
        return np.concatenate(self.scores[name])


def held_out_parts(sources: list, layout: LabelLayout, count: int) -> list[HeldOut]:
    """The first ``count`` held-out images of every source, labels placed in ``layout``."""
    parts = []
    for source in sources:
        if source.label_set not in layout.label_sets:
            known = ", ".join(s.name for s in layout.label_sets)
            raise UserError(f"the run was trained on {known}, not on {source.label_set.name} "
                            f"with labels {', '.join(source.label_set.names)}")
        index = layout.label_sets.index(source.label_set)
        images, labels, scenes = source.held_out(count)
        parts.append(HeldOut(index, images, layout.embed(index, labels), scenes))
    return parts


# The prefix of the second classifier's per-image scores in a Column.
SECOND = "second_"


def column_key(layout: LabelLayout, source_set: int, label: str) -> str:
    return f"{layout.label_sets[source_set].name}->{label}"


def sweep(generator, layout: LabelLayout, held_out: list[HeldOut], *, classifier=None,
          second_classifier=None, features=None, truth_sources: list | None = None, critic=None,
          reconstruction: bool = True, batch: int = 64,
          progress: bool = False) -> dict[str, Column]:
    """Score every held-out image translated to every column of the official test grid.

    Args:
        generator: G, called as ``G([images, labels], training=False)``.
        layout: the run's label layout; columns cover all its sets (cross-dataset too).
        held_out: the images to translate, per label set.
        classifier: an ``EvaluationClassifier`` (or anything with its ``predict``), to
            judge whether translations reach their target domain; None to skip.
        second_classifier: another judge (best of another architecture family), scored
            under the same names prefixed with ``SECOND``; None to skip.
        features: images -> features [N, F] for FID/KID; None to skip.
        truth_sources: the rendered sources of every set in the layout (built-in
            data), to render the true translation of each held-out scene; None to skip.
        critic: the run's D, to score how often its own classifier (the one G is
            trained to satisfy) reads the changed label as asked; far above the
            evaluation classifier's figure, G fools D instead of translating.
        reconstruction: also score G(G(x, c), c_org) against x (one more G call).
        batch: images per generator call.
        progress: show a progress bar.

    Returns:
        Columns by key ``"<source set>-><label>"``, in grid order per source set.
    """
    from stargan_keras.data.rendered import ground_truth

    chunks = sum(-(-int(h.images.shape[0]) // batch) for h in held_out)
    progbar = keras.utils.Progbar(chunks, verbose=1 if sys.stdout.isatty() else 2,
                                  unit_name="batch") if progress else None
    columns: dict[str, Column] = {}
    done = 0
    for part in held_out:
        for start in range(0, int(part.images.shape[0]), batch):
            images = part.images[start:start + batch]
            labels = part.labels[start:start + batch]
            scenes = (None if part.scenes is None
                      else {k: v[start:start + batch] for k, v in part.scenes.items()})
            for target_set, (label, targets) in _grid_with_sets(layout, labels):
                key = column_key(layout, part.set_index, label)
                column = columns.setdefault(key, Column(part.set_index, target_set, label))
                fakes = generator([images, targets], training=False)
                if reconstruction:
                    reconstructed = generator([fakes, labels], training=False)
                    column.add("rec_l1", l1_error(reconstructed, images))
                    column.add("rec_psnr", psnr(reconstructed, images))
                label_set = layout.label_sets[target_set]
                set_start, set_end = layout.span(target_set)
                set_targets = targets[:, set_start:set_end].numpy()
                for prefix, judge in (("", classifier), (SECOND, second_classifier)):
                    if judge is not None:
                        predicted = judge.predict(fakes, label_set)
                        for name, values in translation_scores(predicted, set_targets,
                                                               label_set, label).items():
                            column.add(prefix + name, values)
                if critic is not None:
                    logits = critic(fakes, training=False)[1][:, set_start:set_end]
                    i = label_set.index(label)
                    read = predict_labels(logits, label_set.multi_label)[:, i]
                    column.add("critic_target_correct", read == set_targets[:, i])
                if features is not None:
                    column.add("features", features(fakes))
                    column.add("target_value", set_targets[:, label_set.index(label)])
                if truth_sources is not None and scenes is not None:
                    truth = ground_truth(truth_sources, layout, scenes, targets)
                    column.add("truth_l1", l1_error(fakes, truth))
                    column.add("truth_psnr", psnr(fakes, truth))
                    column.add("truth_ssim", ssim(fakes, truth))
                    column.add("input_l1", l1_error(images, truth))
                    column.add("input_psnr", psnr(images, truth))
            done += 1
            if progbar is not None:
                progbar.update(done)
    return columns


def _grid_with_sets(layout: LabelLayout, labels: tf.Tensor):
    """grid_targets' columns, each with the index of the label set it changes."""
    sets = [i for i, s in enumerate(layout.label_sets) for _ in s.names]
    return zip(sets, grid_targets(layout, labels))


# An input whose mean L1 to its truth is below this is its own truth: the same face
# painted in batches of another size differs by float rounding (at most 4e-9 over 200
# held-out faces at 64 px), while the smallest edit of the built-in data moves far more
# (contemptuous against neutral: at least 5e-4).
UNCHANGED_L1 = 1e-5


def truth_summary(columns: dict[str, Column]) -> dict:
    """Truth L1, PSNR and SSIM of G's translations, and what they gain over the input.

    ``l1``, ``psnr`` and ``ssim`` are means over all translations (and per column).
    ``psnr_gain`` is the mean truth PSNR of G's translations minus that of their inputs
    (``input_psnr``), and ``l1_gain`` the input's truth L1 minus G's (both positive when G
    is closer to the truth than doing nothing), over the translations whose truth differs
    from the input (``changed``: their number): where the input already is the truth its
    PSNR is infinite and there is nothing to gain. None where a column changes nothing.
    A partial edit (a stripe of the shape recoloured) shows as a small gain.
    """
    def summary(chosen: list[Column]) -> dict:
        def pooled(name: str) -> np.ndarray:
            return np.concatenate([c.values(name) for c in chosen])

        result = {m: float(pooled(f"truth_{m}").mean()) for m in ("l1", "psnr", "ssim")}
        changed = pooled("input_l1") > UNCHANGED_L1
        result["changed"] = int(changed.sum())
        if not changed.any():
            return {**result, "input_l1": None, "input_psnr": None, "l1_gain": None,
                    "psnr_gain": None}
        input_l1, input_psnr = (float(pooled(f"input_{m}")[changed].mean())
                                for m in ("l1", "psnr"))
        return {**result, "input_l1": input_l1, "input_psnr": input_psnr,
                "l1_gain": input_l1 - float(pooled("truth_l1")[changed].mean()),
                "psnr_gain": float(pooled("truth_psnr")[changed].mean()) - input_psnr}

    return {**summary(list(columns.values())),
            "per_target": {key: summary([c]) for key, c in columns.items()}}
