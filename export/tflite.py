"""``python -m export.tflite --run_dir RUN --quantize none|float16|dynamic|int8 --output g.tflite``.

G as a LiteRT (TFLite) flatbuffer for phones: fixed input shapes ``images`` [B, S, S, 3]
float32 in [-1, 1] and ``labels`` [B, c] (B = --batch, 1 by default), output
``translated_images`` [B, S, S, 3]; builtin ops only. The label layout, label names,
image size and crop are in the model's metadata under the name "stargan" (read them
with ``read_metadata``): ``crop_size`` is the first label set's crop, ``crop_sizes`` each
label set's by name (in a joint run, crop a photo with the crop of the label set its
target names: RaFD's for a target naming RaFD expressions). Quantization:

* ``none``: float32 weights and arithmetic.
* ``float16``: float16 weights, dequantized to float32 when loaded.
* ``dynamic``: int8 weights; activations quantized on the fly where kernels allow.
* ``int8``: int8 weights and activations, with ranges calibrated on the run's training
  data (--calibration_steps batches); the interface stays float32.
"""

from __future__ import annotations

import json
import os

import flatbuffers
import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from ai_edge_litert import schema_py_generated as schema

from export.command import define_run_flags, make_folders, run_translator
from export.saved_model import export_metadata
from stargan_keras.cli import user_errors
from stargan_keras.errors import UserError
from stargan_keras.inference.translator import Translator

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
METADATA_NAME = "stargan"
INPUT_NAMES = ("images", "labels")
OUTPUT_NAME = "translated_images"


def generator_function(translator: Translator, batch: int):
    """(concrete function with the fixed input shapes, the tf.Module tracking G's weights)."""
    generator, size = translator.generator, translator.image_size
    module = tf.Module()
    module.weights = [variable.value for variable in generator.weights]

    @tf.function(input_signature=[
        tf.TensorSpec([batch, size, size, 3], tf.float32, name=INPUT_NAMES[0]),
        tf.TensorSpec([batch, translator.layout.width], tf.float32, name=INPUT_NAMES[1])])
    def translate(images, labels):
        return {OUTPUT_NAME: generator([images, labels], training=False)}

    return translate.get_concrete_function(), module


def calibration_data(run_dir: str, translator: Translator, steps: int, batch: int):
    """A representative dataset: ``steps`` batches of the run's training images, each with
    the labels of other training images as targets (as training draws its targets)."""
    from stargan_keras.data import make_sources
    from stargan_keras.run_dir import RunDirectory

    config = RunDirectory(run_dir).config()
    try:
        sources = make_sources(config)
    except (ValueError, FileNotFoundError) as error:
        raise UserError(f"int8 calibration needs the run's training data ({config.dataset}): "
                        f"{error}") from None
    per_source = -(-steps * batch // len(sources))
    images, labels = [], []
    for i, source in enumerate(sources):
        for image, label in source.train_examples(0).take(per_source):
            images.append(image.numpy())
            labels.append(translator.layout.embed(i, label[None])[0].numpy())
    images, labels = np.stack(images), np.stack(labels)
    targets = np.roll(labels, 1, axis=0)

    def batches():
        for step in range(steps):
            rows = slice(step * batch, (step + 1) * batch)
            yield {INPUT_NAMES[0]: images[rows], INPUT_NAMES[1]: targets[rows]}
    return batches


def convert(translator: Translator, quantize: str = "none", batch: int = 1,
            representative_dataset=None) -> bytes:
    """G as a .tflite flatbuffer with the "stargan" metadata."""
    if quantize not in QUANTIZATIONS:
        raise UserError(f"--quantize={quantize!r}: expected one of {', '.join(QUANTIZATIONS)}")
    if quantize == "int8" and representative_dataset is None:
        raise ValueError("int8 quantization needs a representative dataset")
    function, module = generator_function(translator, batch)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    metadata = {**export_metadata(translator), "quantize": quantize, "batch": batch,
                "inputs": list(INPUT_NAMES), "output": OUTPUT_NAME}
    return finish(converter.convert(), METADATA_NAME, json.dumps(metadata).encode())


def export_tflite(translator: Translator, path: str, quantize: str = "none", batch: int = 1,
                  representative_dataset=None) -> str:
    """Convert G (see ``convert``) and write it to ``path``, creating missing folders."""
    make_folders(os.path.dirname(path))  # before the conversion's seconds, not after
    flatbuffer = convert(translator, quantize, batch, representative_dataset)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    logging.info("Wrote %s (%s, %d bytes)", path, quantize, len(flatbuffer))
    return path


def finish(flatbuffer: bytes, name: str, data: bytes) -> bytes:
    """The model with its signature's tensors named as the signature names them (the
    converter calls them e.g. "StatefulPartitionedCall:0") and one more metadata entry
    (a named buffer, as the TFLite schema has)."""
    model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    for signature in model.signatureDefs or []:
        tensors = model.subgraphs[signature.subgraphIndex].tensors
        for mapping in (signature.inputs or []) + (signature.outputs or []):
            tensors[mapping.tensorIndex].name = mapping.name
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = name, len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [entry]
    builder = flatbuffers.Builder(len(flatbuffer) + len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_metadata(flatbuffer: bytes, name: str = METADATA_NAME) -> dict:
    """The JSON metadata entry ``name`` of a .tflite model."""
    model = schema.Model.GetRootAs(flatbuffer, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode() == name:
            return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    raise KeyError(f"the model has no {name!r} metadata")


def interpreter(flatbuffer: bytes):
    """A LiteRT interpreter with tensors allocated, for tests and benchmarks, on every
    core (G at 128 px on this 2-core CPU: 440 ms with LiteRT's default threads, 290 ms)."""
    from ai_edge_litert.interpreter import Interpreter

    model = Interpreter(model_content=flatbuffer, num_threads=os.cpu_count())
    model.allocate_tensors()
    return model


def run_each(runner, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A batch-1 model's signature runner applied image by image: [N, S, S, 3]."""
    return np.concatenate([runner(images=images[i:i + 1], labels=labels[i:i + 1])[OUTPUT_NAME]
                           for i in range(len(images))])


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    with user_errors():
        translator = run_translator(argv)
        calibration = None
        if FLAGS.quantize == "int8":
            calibration = calibration_data(FLAGS.run_dir, translator, FLAGS.calibration_steps,
                                           FLAGS.batch)
        export_tflite(translator, FLAGS.output, FLAGS.quantize, FLAGS.batch, calibration)


def define_flags() -> None:
    """Flags of this command, defined only when it runs (tests import the module)."""
    define_run_flags()
    flags.DEFINE_enum("quantize", "none", list(QUANTIZATIONS), "Quantization (see above).")
    flags.DEFINE_string("output", "g.tflite", "The .tflite file to write.")
    flags.DEFINE_integer("batch", 1, "Fixed batch size of the model's inputs.", lower_bound=1)
    flags.DEFINE_integer("calibration_steps", 100,
                         "Batches of training data that calibrate int8 ranges.", lower_bound=1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
