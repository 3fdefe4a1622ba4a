"""Domain labels: label sets, the joint layout with its mask vector, and target sampling."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import tensorflow as tf

from stargan_keras.errors import UserError

# CelebA's hair colours are mutually exclusive: choosing one clears the others.
CELEBA_HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")


@dataclasses.dataclass(frozen=True)
class LabelSet:
    """The domain labels one dataset knows.

    Attributes:
        name: the dataset's name, e.g. "celeba".
        names: label names in label-vector order.
        multi_label: True for independent binary attributes (CelebA), False for one
            class per image (RaFD), which changes the classification loss.
        exclusive: groups of names of which at most one may be on (hair colours).
    """

    name: str
    names: tuple[str, ...]
    multi_label: bool
    exclusive: tuple[tuple[str, ...], ...] = ()

    @property
    def dim(self) -> int:
        return len(self.names)

    def index(self, label: str) -> int:
        if label not in self.names:
            raise UserError(
                f"unknown label {label!r} for {self.name}; valid labels: {', '.join(self.names)}")
        return self.names.index(label)

    def exclusive_group(self, label: str) -> tuple[str, ...]:
        return next((g for g in self.exclusive if label in g), ())

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> LabelSet:
        return cls(name=data["name"], names=tuple(data["names"]),
                   multi_label=bool(data["multi_label"]),
                   exclusive=tuple(tuple(g) for g in data.get("exclusive", ())))


def select_attributes(all_names: Sequence[str], selected: Sequence[str], source: str) -> list[int]:
    """Column indices of ``selected`` within ``all_names``; unknown names fail with the list."""
    unknown = [s for s in selected if s not in all_names]
    if unknown:
        raise UserError(f"unknown attribute(s) {', '.join(unknown)} in {source}; "
                        f"valid names: {', '.join(all_names)}")
    if len(set(selected)) != len(selected):
        raise UserError(f"selected_attrs lists a name twice: {', '.join(selected)}")
    return [list(all_names).index(s) for s in selected]


@dataclasses.dataclass(frozen=True)
class LabelLayout:
    """How the label sets share G's label vector: [set 0 | set 1 | ... | mask].

    With one label set there is no mask and the vector is that set's labels. With
    several (joint training), a one-hot mask says which set is known; the other sets'
    entries are zeros. D's classifier has one logit per label, no mask logits.
    """

    label_sets: tuple[LabelSet, ...]

    @property
    def joint(self) -> bool:
        return len(self.label_sets) > 1

    @property
    def logits_dim(self) -> int:
        return sum(s.dim for s in self.label_sets)

    @property
    def width(self) -> int:
        return self.logits_dim + (len(self.label_sets) if self.joint else 0)

    def span(self, set_index: int) -> tuple[int, int]:
        start = sum(s.dim for s in self.label_sets[:set_index])
        return start, start + self.label_sets[set_index].dim

    def embed(self, set_index: int, labels: tf.Tensor) -> tf.Tensor:
        """Place one set's labels [N, dim] into full label vectors [N, width]."""
        labels = tf.cast(labels, tf.float32)
        n = tf.shape(labels)[0]
        start, end = self.span(set_index)
        parts = [tf.zeros((n, start)), labels, tf.zeros((n, self.logits_dim - end))]
        if self.joint:
            mask = tf.one_hot(set_index, len(self.label_sets))
            parts.append(tf.tile(mask[None], (n, 1)))
        return tf.concat(parts, axis=1)

    def mask(self, labels: tf.Tensor, set_index: int) -> tf.Tensor | None:
        """Per-example weight [N] of one set: its mask entry, or None without a mask."""
        if not self.joint:
            return None
        return labels[:, self.logits_dim + set_index]

    def describe(self) -> str:
        """The label sets and their names, for messages: "set: a, b; other: c"."""
        return "; ".join(f"{s.name}: {', '.join(s.names)}" for s in self.label_sets)

    def to_json(self) -> list[dict]:
        return [s.to_json() for s in self.label_sets]

    @classmethod
    def from_json(cls, data: list[dict]) -> LabelLayout:
        return cls(tuple(LabelSet.from_json(d) for d in data))


def permuted_targets(labels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Target labels as the official code draws them: the batch's labels, shuffled."""
    n = tf.shape(labels)[0]
    order = tf.argsort(tf.random.stateless_uniform((n,), seed=seed))
    return tf.gather(labels, order)


def change_one(label_set: LabelSet, labels: tf.Tensor, label: str) -> tf.Tensor:
    """Source labels [N, dim] with one label changed, as the official test grid does.

    Multi-label: an exclusive label (a hair colour) is switched on and its group off;
    any other attribute is flipped. Single-label: the class becomes ``label``.
    """
    i = label_set.index(label)
    if not label_set.multi_label:
        return tf.one_hot(tf.fill((tf.shape(labels)[0],), i), label_set.dim)
    group = label_set.exclusive_group(label)
    columns = []
    for j, name in enumerate(label_set.names):
        if j == i:
            columns.append(tf.ones_like(labels[:, j]) if group else 1.0 - labels[:, j])
        elif name in group:
            columns.append(tf.zeros_like(labels[:, j]))
        else:
            columns.append(labels[:, j])
    return tf.stack(columns, axis=1)


def grid_targets(layout: LabelLayout, labels: tf.Tensor) -> list[tuple[str, tf.Tensor]]:
    """The official test grid's columns: every label of every set changed in turn.

    ``labels`` [N, width] are the source labels in the layout; for a set the images do
    not know (joint training), its labels start from zeros, as the official code does.
    """
    columns = []
    for i, label_set in enumerate(layout.label_sets):
        start, end = layout.span(i)
        for name in label_set.names:
            targets = change_one(label_set, labels[:, start:end], name)
            columns.append((name, layout.embed(i, targets)))
    return columns
