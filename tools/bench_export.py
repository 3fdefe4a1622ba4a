"""``python -m tools.bench_export --run_dir RUN``: size and latency of every export of G.

Prints JSON: for the portable .keras file, the SavedModel and each TFLite quantization,
the file size in bytes and the median time to translate one image (batch 1) on this
CPU, after warm-up (timed on a random image: latency does not depend on content).
TFLite runs in the LiteRT interpreter (ai-edge-litert) with its default CPU settings,
the others in TensorFlow. Each quantized TFLite model also gets its mean PSNR (dB)
against the float32 one on the run's held-out images, each translated to the labels of
another held-out image; int8 is calibrated on training images, never these.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

import numpy as np
from absl import app, flags

from stargan_keras.cli import check_no_arguments
from stargan_keras.runtime import onednn_helps, use_onednn

FLAGS = flags.FLAGS


def median_ms(run, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def directory_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def held_out_pairs(run_dir: str, translator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` held-out images per label set, with other held-out images' labels."""
    from stargan_keras.data import make_sources
    from stargan_keras.run_dir import RunDirectory

    sources = make_sources(RunDirectory(run_dir).config())
    images, labels = [], []
    for i, source in enumerate(sources):
        set_images, set_labels = source.held_out(count)[:2]
        images.append(np.asarray(set_images))
        labels.append(translator.layout.embed(i, set_labels).numpy())
    return np.concatenate(images), np.roll(np.concatenate(labels), 1, axis=0)


def benchmark(run_dir: str, variants: list[str], repeats: int, calibration_steps: int,
              eval_images: int) -> dict:
    import tensorflow as tf

    from export import tflite
    from export.keras_file import export_keras_file
    from export.saved_model import export_saved_model
    from stargan_keras.evaluation.sweep import psnr
    from stargan_keras.inference.translator import Translator

    translator = Translator.from_run_dir(run_dir)
    size, width = translator.image_size, translator.layout.width
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    labels = rng.integers(0, 2, (1, width)).astype(np.float32)
    held_images, held_targets = held_out_pairs(run_dir, translator, eval_images)
    reference = None
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        if "keras" in variants:
            path = export_keras_file(translator, os.path.join(scratch, "g.keras"))
            from stargan_keras.inference.portable import load_generator

            model = load_generator(path)
            call = tf.function(lambda x, c: model([x, c], training=False))
            results["keras"] = {"bytes": os.path.getsize(path),
                                "ms_per_image": median_ms(lambda: call(image, labels), repeats)}
        if "saved_model" in variants:
            path = export_saved_model(translator, os.path.join(scratch, "stargan"))
            serve = tf.saved_model.load(path).signatures["serving_default"]
            results["saved_model"] = {
                "bytes": directory_bytes(path),
                "ms_per_image": median_ms(lambda: serve(images=image, labels=labels), repeats)}
        for quantize in tflite.QUANTIZATIONS:
            name = f"tflite_{quantize}"
            if name not in variants and not (quantize == "none" and any(
                    v.startswith("tflite_") for v in variants)):
                continue
            calibration = (tflite.calibration_data(run_dir, translator, calibration_steps, 1)
                           if quantize == "int8" else None)
            flatbuffer = tflite.convert(translator, quantize, 1, calibration)
            runner = tflite.interpreter(flatbuffer).get_signature_runner()
            outputs = tflite.run_each(runner, held_images, held_targets)
            if quantize == "none":
                reference = outputs
                if name not in variants:
                    continue
            results[name] = {
                "bytes": len(flatbuffer),
                "ms_per_image": median_ms(
                    lambda run=runner: run(images=image, labels=labels), repeats)}
            if quantize != "none":
                results[name]["psnr_vs_float32_db"] = round(
                    float(np.mean(psnr(outputs, reference))), 2)
    for value in results.values():
        value["ms_per_image"] = round(value["ms_per_image"], 3)
    return {"run_dir": run_dir, "image_size": size, "eval_images": len(held_images),
            "generator_params": translator.generator.count_params(), "repeats": repeats,
            "variants": results}


VARIANTS = ["keras", "saved_model", "tflite_none", "tflite_float16", "tflite_dynamic",
            "tflite_int8"]


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    unknown = sorted(set(FLAGS.variants) - set(VARIANTS))
    if unknown:
        raise app.UsageError(f"--variants: unknown {', '.join(unknown)}; "
                             f"valid: {', '.join(VARIANTS)}")
    use_onednn(onednn_helps(batch=1))  # one image per call, as the exports serve it
    print(json.dumps(benchmark(FLAGS.run_dir, FLAGS.variants, FLAGS.repeats,
                               FLAGS.calibration_steps, FLAGS.eval_images), indent=2))


def define_flags() -> None:
    flags.DEFINE_string("run_dir", None, "Run directory to export and time.", required=True)
    flags.DEFINE_list("variants", VARIANTS, "Which exports to measure.")
    flags.DEFINE_integer("repeats", 50, "Timed runs per variant (the median is reported).",
                         lower_bound=1)
    flags.DEFINE_integer("calibration_steps", 100, "int8 calibration images.", lower_bound=1)
    flags.DEFINE_integer("eval_images", 64, "Held-out images per label set for the PSNR.",
                         lower_bound=1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
