"""Translate your own images: targets by attribute name, source labels from D's classifier.

    >>> translator = Translator.from_run_dir("runs/celeba")
    >>> blond = translator("face.jpg", "Blond_Hair,Male=0")      # uint8 [128, 128, 3]
    >>> group = translator("group.jpg", "Blond_Hair", align_faces=True)  # the whole photo

With ``align_faces`` each face found is framed as the training images were (see
``stargan_keras.inference.faces``), translated, and pasted back into the photo.


A target is written as comma-separated changes applied to each image's own labels:
``name`` changes a label as the official test grid does (an exclusive label such as a
hair colour is switched on and its group off; any other attribute is flipped; a
single-label class becomes the class), ``name=1`` / ``name=0`` sets it. All names of one
target belong to one label set; in joint runs the mask vector then names that set.
"""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np
import tensorflow as tf
from absl import logging

from stargan_keras import image_grid as image_utils
from stargan_keras.data.preprocess import center_crop_resize, crop_window, decode_rgb
from stargan_keras.errors import UserError
from stargan_keras.inference.faces import Face, FaceDetector, Framing
from stargan_keras.labels import LabelLayout, LabelSet, change_one, grid_targets
from stargan_keras.run_dir import RunDirectory, restore_networks

SIZES = ("model", "original")
# What to do with a photo in which no face is found, when faces are asked for.
NO_FACE = ("center", "skip")


class NoFaceError(ValueError):
    """No face was found in a photo that was to be translated face by face."""


def crop_sizes_for(spec: dict) -> tuple[int | None, ...]:
    """The training crop of each label set of a run, in layout order: CelebA's and RaFD's
    official crops, else None (the largest centred square, as for synthetic data and
    folders of your own images). A joint run (dataset "both") cropped its CelebA images
    with CelebA's crop and its RaFD images with RaFD's."""
    config = spec.get("config", {})
    celeba = int(config.get("celeba_crop_size", 178))
    rafd = int(config.get("rafd_crop_size", 256))
    crops = {"celeba": (celeba,), "rafd": (rafd,), "both": (celeba, rafd)}
    sets = len(spec.get("labels", ())) or 1
    return crops.get(spec.get("dataset"), (None,) * sets)


def paste_back(original: np.ndarray, translated: tf.Tensor, crop_size: int | None) -> np.ndarray:
    """The photo at its own size with the crop window replaced by the translation.

    Args:
        original: uint8 [H, W, 3], the photo as read.
        translated: [S, S, 3] in [-1, 1], G's output for the photo's crop.
        crop_size: the crop the photo was prepared with.
    """
    top, left, side = (int(v) for v in crop_window(original.shape[0], original.shape[1],
                                                     crop_size))
    resized = tf.image.resize((translated + 1.0) / 2.0, (side, side), method="bilinear",
                              antialias=True) * 2.0 - 1.0
    result = np.array(original, copy=True)
    result[top:top + side, left:left + side] = image_utils.to_uint8(resized).numpy()
    return result


@dataclasses.dataclass(frozen=True)
class Change:
    """One label change of a target: ``value`` None changes it as the test grid does."""

    name: str
    value: float | None


def parse_changes(text: str, flag: str = "--attrs") -> list[Change]:
    """``"Blond_Hair,Male=0"`` -> [Change("Blond_Hair", None), Change("Male", 0.0)]."""
    changes = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise UserError(f"{flag}={text!r}: empty attribute name")
        name, sep, value = part.partition("=")
        if not sep:
            changes.append(Change(name.strip(), None))
        elif value.strip() in ("0", "1"):
            changes.append(Change(name.strip(), float(value)))
        else:
            raise UserError(f"{flag}={text!r}: value of {name.strip()!r} must be 0 or 1, "
                            f"got {value!r}")
    return changes


def set_index_of(layout: LabelLayout, names: list[str], text: str, flag: str) -> int:
    """The one label set that knows every name; unknown names fail with the valid ones."""
    owners = []
    for name in names:
        found = [i for i, s in enumerate(layout.label_sets) if name in s.names]
        if not found:
            raise UserError(f"{flag}={text!r}: unknown attribute {name!r}; valid attributes "
                            f"are {layout.describe()}")
        owners.append(found[0])
    if len(set(owners)) > 1:
        raise UserError(f"{flag}={text!r} mixes labels of several label sets "
                        f"({layout.describe()}); one target speaks of one set")
    return owners[0]


def set_label(label_set: LabelSet, labels: tf.Tensor, name: str, value: float) -> tf.Tensor:
    """``labels`` [N, dim] with ``name`` set to ``value``; switching on an exclusive
    label clears its group, and a single-label class can only be switched on."""
    if not label_set.multi_label or (value == 1.0 and label_set.exclusive_group(name)):
        if value == 0.0:
            raise UserError(f"{name}=0: {label_set.name} has one class per image; name the "
                            f"class to translate to instead ({', '.join(label_set.names)})")
        return change_one(label_set, labels, name)
    column = label_set.index(name)
    return tf.concat([labels[:, :column], tf.fill((tf.shape(labels)[0], 1), value),
                      labels[:, column + 1:]], axis=1)


def target_labels(layout: LabelLayout, source: tf.Tensor, text: str) -> tf.Tensor:
    """Targets [N, width] of one ``--attrs`` value, from source labels [N, width]."""
    changes = parse_changes(text)
    set_index = set_index_of(layout, [c.name for c in changes], text, "--attrs")
    label_set = layout.label_sets[set_index]
    start, end = layout.span(set_index)
    labels = tf.cast(source[:, start:end], tf.float32)
    for change in changes:
        if change.value is None:
            labels = change_one(label_set, labels, change.name)
        else:
            labels = set_label(label_set, labels, change.name, change.value)
    return layout.embed(set_index, labels)


def named_targets(layout: LabelLayout, source: tf.Tensor,
                  attrs: list[str] | None) -> list[tuple[str, tf.Tensor]]:
    """(name, targets [N, width]) per ``--attrs`` value, or the official test grid if none;
    a name is its value with "+" for "," (fit for file names)."""
    if not attrs:
        return grid_targets(layout, source)
    return [(text.replace(",", "+").replace(" ", ""), target_labels(layout, source, text))
            for text in attrs]


def given_labels(layout: LabelLayout, text: str, count: int,
                 predicted: tf.Tensor | None) -> tf.Tensor:
    """Source labels [count, width] from ``--source_attrs``: the names listed are on and
    every other label of their set off; sets not named keep ``predicted`` (zeros if None)."""
    changes = parse_changes(text, "--source_attrs")
    base = predicted if predicted is not None else tf.zeros((count, layout.width))
    parts = []
    named = {set_index_of(layout, [c.name], text, "--source_attrs") for c in changes}
    for i, label_set in enumerate(layout.label_sets):
        start, end = layout.span(i)
        labels = base[:, start:end]
        if i in named:
            labels = tf.zeros_like(labels)
            for change in (c for c in changes if c.name in label_set.names):
                labels = set_label(label_set, labels, change.name,
                                   1.0 if change.value is None else change.value)
        parts.append(labels)
    parts.append(base[:, layout.logits_dim:])
    return tf.concat(parts, axis=1)


def labels_from_logits(layout: LabelLayout, logits: tf.Tensor) -> tf.Tensor:
    """D's classifier logits [N, logits_dim] -> 0/1 labels [N, width] (mask entries 0).

    Multi-label: each attribute whose probability exceeds 0.5, keeping only the most
    likely label of an exclusive group; single-label: the most likely class.
    """
    parts = []
    for i, label_set in enumerate(layout.label_sets):
        start, end = layout.span(i)
        set_logits = logits[:, start:end]
        if not label_set.multi_label:
            parts.append(tf.one_hot(tf.argmax(set_logits, axis=1), label_set.dim))
            continue
        labels = tf.cast(set_logits > 0.0, tf.float32)
        for group in label_set.exclusive:
            columns = [label_set.index(n) for n in group]
            best = tf.gather(columns, tf.argmax(tf.gather(set_logits, columns, axis=1), axis=1))
            keep = tf.one_hot(best, label_set.dim)
            in_group = tf.reduce_sum(tf.one_hot(columns, label_set.dim), axis=0)
            labels = labels * (1.0 - in_group) + labels * keep
        parts.append(labels)
    parts.append(tf.zeros((tf.shape(logits)[0], layout.width - layout.logits_dim)))
    return tf.concat(parts, axis=1)


def read_image(image) -> np.ndarray:
    """A path, encoded bytes or an array [H, W, 3|4|1] -> uint8 [H, W, 3]."""
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as f:
            image = f.read()
    if isinstance(image, bytes):
        try:
            return decode_rgb(tf.constant(image)).numpy()
        except tf.errors.InvalidArgumentError as error:
            # Keep TensorFlow's reason, without its op and device decorations.
            reason = error.message.split("}} ")[-1].split(" [Op:")[0]
            raise UserError(f"not a readable image: {reason}") from None
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise UserError(f"expected an image [H, W, 3], got an array of shape {array.shape}")
    if array.dtype != np.uint8:
        raise UserError(f"expected uint8 pixels, got {array.dtype}")
    return np.broadcast_to(array, array.shape[:2] + (3,)) if array.shape[2] == 1 \
        else array[..., :3]


class Translator:
    """G of a trained run with everything needed to translate photos as training saw them.

    Args:
        generator: G.
        layout: the run's label layout.
        image_size: the side G was trained at.
        crop_size: the training crop (None: the largest centred square); in a joint run
            the first label set's.
        classifier: D, whose classifier predicts the source labels of unlabelled photos;
            None (a .keras file of G alone) requires source labels to be given.
        crop_sizes: the training crop of each label set (default: ``crop_size`` for all).
            A photo is cropped as its label set's images were (see ``photo_set``).
    """

    def __init__(self, generator, layout: LabelLayout, image_size: int,
                 crop_size: int | None, classifier=None,
                 crop_sizes: tuple[int | None, ...] | None = None):
        self.generator, self.layout = generator, layout
        self.image_size, self.crop_size, self.classifier = image_size, crop_size, classifier
        self.crop_sizes = tuple(crop_sizes or (crop_size,) * len(layout.label_sets))
        if len(self.crop_sizes) != len(layout.label_sets):
            raise ValueError(f"crop_sizes {self.crop_sizes}: expected one per label set "
                             f"({layout.describe()})")
        self.framing = Framing(image_size, crop_size)
        self._detector = None
        # Compiled once for any batch: G called eagerly runs op by op, 20-30% slower per
        # image (tools/benchmark.py's keras_eager_* figures).
        images = tf.TensorSpec([None, image_size, image_size, 3], tf.float32)
        self._generate = tf.function(
            lambda x, c: generator([x, c], training=False),
            input_signature=[images, tf.TensorSpec([None, layout.width], tf.float32)])
        self._classify = None if classifier is None else tf.function(
            lambda x: classifier(x, training=False)[1], input_signature=[images])

    @classmethod
    def from_run_dir(cls, run_dir: str, iteration: int | None = None) -> Translator:
        """G and D of a run directory, restored from its latest (or given) checkpoint.

        A checkpoint of G alone (an import without the official D) gives no classifier,
        rather than an untrained D that would invent source labels.
        """
        run = RunDirectory(run_dir)
        spec = run.read_spec()
        generator, discriminator, _ = restore_networks(run, iteration)
        crops = crop_sizes_for(spec)
        return cls(generator, run.layout(), spec["model"]["image_size"], crops[0],
                   discriminator, crops)

    @classmethod
    def from_keras_file(cls, path: str) -> Translator:
        """G alone from a portable .keras file (see ``stargan_keras.inference.portable``)."""
        from stargan_keras.inference.portable import load_generator

        generator = load_generator(path)
        crops = generator.crop_sizes and tuple(generator.crop_sizes)
        return cls(generator, generator.layout, generator.image_size, generator.crop_size,
                   crop_sizes=crops)

    def photo_set(self, attrs: list[str] | None = None, source_attrs: str | None = None,
                  photo_set: str | None = None) -> int:
        """The label set a photo belongs to, whose training crop it gets: ``photo_set``
        (a label set's name) if given, else the one set ``source_attrs`` names, else the
        one set every target of ``attrs`` names, else the first (CelebA in a joint run;
        the official test grid translates CelebA images)."""
        names = [s.name for s in self.layout.label_sets]
        if photo_set is not None:
            if photo_set not in names:
                raise UserError(f"photo_set={photo_set!r}: expected one of {', '.join(names)}")
            return names.index(photo_set)
        if source_attrs:
            owners = {set_index_of(self.layout, [c.name], source_attrs, "--source_attrs")
                      for c in parse_changes(source_attrs, "--source_attrs")}
            if len(owners) == 1:
                return owners.pop()
        if attrs:
            owners = {set_index_of(self.layout, [c.name for c in parse_changes(text)], text,
                                   "--attrs") for text in attrs}
            if len(owners) == 1:
                return owners.pop()
        return 0

    def for_photo_set(self, index: int) -> Translator:
        """This translator cropping photos as label set ``index``'s training images were
        (itself when that crop is already its own)."""
        crop = self.crop_sizes[index]
        if crop == self.crop_size:
            return self
        view = copy.copy(self)
        view.crop_size, view.framing = crop, Framing(self.image_size, crop)
        return view

    def prepare(self, pixels: np.ndarray) -> tf.Tensor:
        """uint8 [H, W, 3] -> G's input [S, S, 3], exactly as in training."""
        return center_crop_resize(tf.constant(pixels), self.crop_size, self.image_size)

    def source_labels(self, images: tf.Tensor, source_attrs: str | None = None) -> tf.Tensor:
        """Source labels [N, width]: predicted by D, overridden by ``source_attrs``."""
        predicted = None
        if self.classifier is not None:
            predicted = labels_from_logits(self.layout, self._classify(images))
        elif source_attrs is None:
            raise UserError("this model has no classifier (a .keras file, or a run whose "
                            "checkpoint holds G alone): give the source labels "
                            f"(--source_attrs), e.g. {self.layout.label_sets[0].names[0]!r}")
        if source_attrs is None:
            return predicted
        return given_labels(self.layout, source_attrs, int(images.shape[0]), predicted)

    def translate(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """G(images [N, S, S, 3], targets [N, width]) -> [N, S, S, 3], compiled."""
        return self._generate(tf.cast(images, tf.float32), tf.cast(targets, tf.float32))

    def translate_batch(self, prepared: tf.Tensor, attrs: list[str] | None = None,
                        source_attrs: str | None = None) -> list[tuple[str, tf.Tensor]]:
        """(name, G's outputs [N, S, S, 3]) for each target of G's inputs [N, S, S, 3]
        (the official test grid if ``attrs`` is empty), each input's source labels its own.

        All targets go through G as one batch, which costs less per image than one call
        per target (README, Performance: ``keras_b16_ms`` against ``keras_b1_ms``).
        """
        count = int(prepared.shape[0])
        source = self.source_labels(prepared, source_attrs)
        names, targets = zip(*named_targets(self.layout, source, attrs))
        fakes = self.translate(tf.tile(prepared, [len(targets), 1, 1, 1]),
                               tf.concat(targets, axis=0))
        return [(name, fakes[i * count:(i + 1) * count]) for i, name in enumerate(names)]

    def translations(self, pixels: np.ndarray, attrs: list[str] | None = None,
                     source_attrs: str | None = None
                     ) -> tuple[tf.Tensor, list[tuple[str, tf.Tensor]]]:
        """G's input [S, S, 3] for a uint8 photo and (name, G's output [S, S, 3]) for
        each target (the official test grid if ``attrs`` is empty)."""
        prepared = self.prepare(pixels)[None]
        fakes = self.translate_batch(prepared, attrs, source_attrs)
        return prepared[0], [(name, fake[0]) for name, fake in fakes]

    def detect_faces(self, pixels: np.ndarray) -> list[Face]:
        """The faces of a uint8 photo, left to right (the detector loads on first use)."""
        if self._detector is None:
            self._detector = FaceDetector()
        return self._detector(pixels)

    def find_faces(self, pixels: np.ndarray, where: str = "the photo",
                   no_face: str = "center") -> list[Face]:
        """The faces of a photo; none found is logged, naming ``where``, and raises
        ``NoFaceError`` if ``no_face`` is "skip" (with "center" the caller translates the
        centre crop, as without faces)."""
        if no_face not in NO_FACE:
            raise UserError(f"no_face={no_face!r}: expected one of {', '.join(NO_FACE)}")
        faces = self.detect_faces(pixels)
        if not faces:
            if no_face == "skip":
                raise NoFaceError(f"{where}: no face found")
            logging.warning("%s: no face found; translating its centre crop instead", where)
        return faces

    def face_translations(self, pixels: np.ndarray, faces: list[Face],
                          attrs: list[str] | None = None, source_attrs: str | None = None
                          ) -> tuple[tf.Tensor, list[tuple[str, tf.Tensor]]]:
        """G's inputs [F, S, S, 3], each face framed as in training, and (name, G's
        outputs [F, S, S, 3]) per target; each face's source labels are its own."""
        prepared = tf.constant(np.stack([self.framing.crop(pixels, face) for face in faces]))
        return prepared, self.translate_batch(prepared, attrs, source_attrs)

    def paste_faces(self, pixels: np.ndarray, faces: list[Face], fakes: tf.Tensor) -> np.ndarray:
        """The photo with G's outputs [F, S, S, 3] put back on its faces, soft-edged."""
        result = pixels
        for face, fake in zip(faces, np.asarray(fakes)):
            result = self.framing.paste(result, face, fake)
        return result

    def render(self, pixels: np.ndarray, fake: tf.Tensor, size: str = "model") -> np.ndarray:
        """uint8 output: G's S x S image ("model") or pasted back into the photo
        at its own size ("original")."""
        if size not in SIZES:
            raise UserError(f"size={size!r}: expected one of {', '.join(SIZES)}")
        if size == "original":
            return paste_back(pixels, fake, self.crop_size)
        return image_utils.to_uint8(fake).numpy()

    def translate_all(self, image, attrs: list[str] | None = None,
                      source_attrs: str | None = None, size: str | None = None,
                      align_faces: bool = False, no_face: str = "center",
                      photo_set: str | None = None) -> list[tuple[str, np.ndarray]]:
        """(name, uint8 image) for each target of one photo (the test grid if none).

        Args:
            image: a path, encoded bytes or a uint8 array.
            attrs: the targets (``--attrs`` values).
            source_attrs: the photo's labels, instead of D's predictions.
            size: "model" (G's S x S output) or "original" (pasted back into the photo);
                by default "original" with ``align_faces``, else "model".
            align_faces: translate each face found, framed as in training; at the model's
                size each face gives its own image, named ``face<i>_<target>``.
            no_face: with ``align_faces``, a photo without a face is translated by its
                centre crop ("center", logged) or raises ``NoFaceError`` ("skip").
            photo_set: the label set the photo belongs to, for its crop (default: see
                ``photo_set``).
        """
        size = size or ("original" if align_faces else "model")
        pixels = read_image(image)
        where = os.fspath(image) if isinstance(image, (str, os.PathLike)) else "the photo"
        faces = self.find_faces(pixels, where, no_face) if align_faces else []
        return self.photo_outputs(pixels, faces, attrs, source_attrs, size, photo_set)[1]

    def photo_outputs(self, pixels: np.ndarray, faces: list[Face],
                      attrs: list[str] | None = None, source_attrs: str | None = None,
                      size: str = "model", photo_set: str | None = None
                      ) -> tuple[list[list[tf.Tensor]], list[tuple[str, np.ndarray]]]:
        """Everything a photo gives: grid rows (G's input, then its outputs; a row per face,
        or one for the centre crop if ``faces`` is empty) and (name, uint8 image) per output.

        At the model's size each face gives its own images, named ``face<i>_<target>``;
        at the original size each target gives the photo with every face translated.
        The photo is cropped as its label set's training images were (``photo_set``).
        """
        if size not in SIZES:
            raise UserError(f"size={size!r}: expected one of {', '.join(SIZES)}")
        view = self.for_photo_set(self.photo_set(attrs, source_attrs, photo_set))
        if view is not self:
            return view.photo_outputs(pixels, faces, attrs, source_attrs, size, photo_set)
        if not faces:
            prepared, fakes = self.translations(pixels, attrs, source_attrs)
            return ([[prepared] + [fake for _, fake in fakes]],
                    [(name, self.render(pixels, fake, size)) for name, fake in fakes])
        prepared, fakes = self.face_translations(pixels, faces, attrs, source_attrs)
        rows = [[prepared[i]] + [fake[i] for _, fake in fakes] for i in range(len(faces))]
        if size == "original":
            return rows, [(name, self.paste_faces(pixels, faces, fake)) for name, fake in fakes]
        return rows, [(f"face{i}_{name}", image_utils.to_uint8(fake[i]).numpy())
                      for name, fake in fakes for i in range(len(faces))]

    def __call__(self, image, attrs: str, source_attrs: str | None = None,
                 size: str | None = None, align_faces: bool = False,
                 photo_set: str | None = None) -> np.ndarray:
        """One photo (path, bytes or uint8 array) translated to ``attrs``: uint8 [H, W, 3]
        (with ``align_faces`` and the model's size: the first face)."""
        return self.translate_all(image, [attrs], source_attrs, size, align_faces,
                                  photo_set=photo_set)[0][1]
