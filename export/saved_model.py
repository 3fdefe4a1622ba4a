"""``python -m export.saved_model --run_dir RUN --output models/stargan``: G for TF Serving.

Writes ``models/stargan/<version>/`` (1, then the next number on each re-export; TF
Serving serves the highest) with three signatures:

* ``serving_default``: ``images`` float32 [N, S, S, 3] in [-1, 1] and ``labels``
  float32 [N, c] -> ``images`` float32 [N, S, S, 3] in [-1, 1].
* ``translate_bytes``: ``image_bytes`` string [N] (JPEG, PNG, BMP, GIF; any size,
  cropped and resized as in training) and ``labels`` -> ``png_bytes`` string [N]. The
  ``_bytes`` suffix makes TF Serving's REST API base64-encode them. In a joint run each
  image is cropped as the images of the label set its row's mask names were (a target
  naming RaFD expressions: the RaFD crop).
* ``metadata``: ``unused`` int32 [] (TF Serving rejects a signature without inputs,
  tensorflow/serving#1676) -> ``label_names`` [c], ``layout_json``, ``image_size``,
  ``crop_size`` (the first label set's; 0: the largest centred square) and
  ``crop_sizes`` int32 [label sets] (each label set's, in layout order).

The same facts are in ``<version>/assets.extra/stargan.json``. G goes through a plain
``tf.Module``, so each variable is stored once (Keras 3.15's ``model.export`` stores
them twice, keras-team/keras#23553).
"""

from __future__ import annotations

import json
import os

import tensorflow as tf
from absl import app, flags, logging

from export.command import define_run_flags, make_folders, run_translator
from stargan_keras import image_grid as image_utils
from stargan_keras.cli import user_errors
from stargan_keras.data.preprocess import center_crop_resize, decode_rgb
from stargan_keras.inference.translator import Translator
from stargan_keras.labels import LabelLayout

METADATA_FILE = os.path.join("assets.extra", "stargan.json")
SIGNATURES = ("serving_default", "translate_bytes", "metadata")


def label_names(layout: LabelLayout) -> list[str]:
    """A name per entry of G's label vector; mask entries are ``mask:<label set>``."""
    names = [name for label_set in layout.label_sets for name in label_set.names]
    if layout.joint:
        names += [f"mask:{label_set.name}" for label_set in layout.label_sets]
    return names


def export_metadata(translator: Translator) -> dict:
    """What a client needs to prepare photos: ``crop_size`` is the first label set's crop,
    ``crop_sizes`` each label set's by name (they differ only in a joint run)."""
    return {"labels": translator.layout.to_json(),
            "label_names": label_names(translator.layout),
            "image_size": translator.image_size, "crop_size": translator.crop_size,
            "crop_sizes": {label_set.name: crop for label_set, crop in
                           zip(translator.layout.label_sets, translator.crop_sizes)}}


def assert_shape(tensor: tf.Tensor, expected: list[int | None], description: str) -> tf.Operation:
    """An assertion that ``tensor`` has shape ``expected`` (None: any size) at run time.

    TF Serving feeds tensors without checking them against the signature, so a wrong
    rank or size must be caught in the graph. The shape is compared as text ("2,16,16,3"
    against "\\d+,16,16,3"): unlike ``tf.rank``, that cannot be constant-folded from
    the signature's static shape, and it puts the shape received into the message.
    """
    received = tf.strings.reduce_join(tf.strings.as_string(tf.shape(tensor)), separator=",")
    pattern = ",".join(r"\d+" if size is None else str(size) for size in expected)
    return tf.debugging.Assert(tf.strings.regex_full_match(received, pattern),
                               [f"{description}; received shape", received])


class ServingModule(tf.Module):
    """G behind the serving signatures.

    The module tracks G's underlying ``tf.Variable``s, not the Keras model: a SavedModel
    that tracks Keras 3 variables themselves restores in TF2 but not through the TF1
    session loader that TF Serving's C++ ``LoadSavedModel`` is (the functions then read
    variables the restore never filled; tests/test_serving.py loads it that way).
    """

    def __init__(self, translator: Translator):
        super().__init__(name="stargan")
        generator = translator.generator
        self.weights = [variable.value for variable in generator.weights]
        self._generate = lambda images, labels: generator([images, labels], training=False)
        self._size, self._crop = translator.image_size, translator.crop_size
        self._crops = translator.crop_sizes
        self._mask = translator.layout.logits_dim  # where a joint row's mask begins
        self._width = translator.layout.width
        self._names = label_names(translator.layout)
        self._layout_json = json.dumps(translator.layout.to_json())
        size, width = self._size, self._width
        labels = tf.TensorSpec([None, width], tf.float32, name="labels")
        self.serving_default = tf.function(
            self._translate_images,
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="images"),
                             labels])
        self.translate_bytes = tf.function(
            self._translate_bytes,
            input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes"), labels])
        self.metadata = tf.function(
            self._metadata, input_signature=[tf.TensorSpec([], tf.int32, name="unused")])

    def _check_labels(self, labels: tf.Tensor, count: tf.Tensor) -> list:
        check = assert_shape(labels, [None, self._width],
                             f"labels must be float32 [N, {self._width}] "
                             f"({', '.join(self._names)})")
        with tf.control_dependencies([check]):
            return [tf.debugging.assert_equal(tf.shape(labels)[0], count,
                                              message="labels must have one row per image")]

    def _translate_images(self, images: tf.Tensor, labels: tf.Tensor) -> dict:
        check = assert_shape(images, [None, self._size, self._size, 3],
                             f"images must be float32 [N, {self._size}, {self._size}, 3] "
                             "in [-1, 1]")
        with tf.control_dependencies([check]):
            checks = self._check_labels(labels, tf.shape(images)[0])
        with tf.control_dependencies(checks):
            return {"images": self._generate(images, labels)}

    def _translate_bytes(self, image_bytes: tf.Tensor, labels: tf.Tensor) -> dict:
        check = assert_shape(image_bytes, [None], "image_bytes must be a string vector [N]")
        with tf.control_dependencies([check]):
            checks = self._check_labels(labels, tf.shape(image_bytes)[0])
        with tf.control_dependencies(checks):
            images = tf.map_fn(self._prepare, (image_bytes, labels),
                               fn_output_signature=tf.TensorSpec([self._size, self._size, 3]))
        fakes = self._generate(images, labels)
        png = tf.map_fn(tf.io.encode_png, image_utils.to_uint8(fakes),
                        fn_output_signature=tf.TensorSpec([], tf.string))
        return {"png_bytes": png}

    def _prepare(self, row: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        """One photo cropped as the label set its target's mask names was trained."""
        data, labels = row
        image = decode_rgb(data)
        if len(set(self._crops)) == 1:
            return center_crop_resize(image, self._crop, self._size)
        label_set = tf.cast(tf.argmax(labels[self._mask:]), tf.int32)
        return tf.switch_case(label_set, [
            lambda crop=crop: center_crop_resize(image, crop, self._size)
            for crop in self._crops])

    def _metadata(self, unused: tf.Tensor) -> dict:
        del unused  # only there because TF Serving needs an input
        return {"label_names": tf.constant(self._names),
                "layout_json": tf.constant(self._layout_json),
                "image_size": tf.constant(self._size, tf.int32),
                "crop_size": tf.constant(self._crop or 0, tf.int32),
                "crop_sizes": tf.constant([crop or 0 for crop in self._crops], tf.int32)}


def versions(base_dir: str) -> list[int]:
    """The numbered version folders in ``base_dir`` (as TF Serving reads them), ascending;
    none if the folder does not exist."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(name) for name in os.listdir(base_dir) if name.isdigit())


def next_version(base_dir: str) -> int:
    """One more than the highest numbered version in ``base_dir`` (1 if none)."""
    return max(versions(base_dir), default=0) + 1


def export_saved_model(translator: Translator, base_dir: str) -> str:
    """Write the next version of the SavedModel under ``base_dir``; returns its path.

    The version is written under a hidden name and renamed into place, so a model
    server polling ``base_dir`` never loads half of it.
    """
    version = next_version(base_dir)
    final = os.path.join(base_dir, str(version))
    temporary = os.path.join(base_dir, f".tmp-{version}")
    make_folders(base_dir)
    module = ServingModule(translator)
    signatures = {name: getattr(module, name).get_concrete_function() for name in SIGNATURES}
    tf.saved_model.save(module, temporary, signatures=signatures)
    os.makedirs(os.path.join(temporary, "assets.extra"), exist_ok=True)
    with open(os.path.join(temporary, METADATA_FILE), "w") as f:
        json.dump(export_metadata(translator), f, indent=2)
    os.rename(temporary, final)
    logging.info("Wrote SavedModel version %d to %s", version, final)
    return final


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    with user_errors():
        translator = run_translator(argv)
        print(export_saved_model(translator, FLAGS.output))


def define_flags() -> None:
    """Flags of this command, defined only when it runs (tests import the module)."""
    define_run_flags()
    flags.DEFINE_string("output", "models/stargan",
                        "Base folder; the export goes to its next numbered version.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
