"""TFLite export: fixed shapes, names, builtin ops, metadata, and each quantization's error."""

import subprocess
import sys

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from export import tflite
from stargan_keras.data.synthetic import SyntheticShapes
from stargan_keras.evaluation.sweep import psnr

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def held_out():
    """Held-out images (never seen in training or calibration) with shuffled targets."""
    images, labels, _ = SyntheticShapes("synthetic", 16, seed=0).held_out(8)
    return images.numpy(), np.roll(labels.numpy(), 3, axis=0).astype(np.float32)


@pytest.fixture(scope="module")
def float32_model(translator):
    return tflite.convert(translator, "none")


def run_lite(flatbuffer, images, labels):
    return tflite.run_each(tflite.interpreter(flatbuffer).get_signature_runner(), images, labels)


def test_float32_equals_keras(translator, float32_model, held_out):
    images, labels = held_out
    expected = translator.generator([images, labels]).numpy()
    assert np.abs(run_lite(float32_model, images, labels) - expected).max() <= 1e-4


def test_fixed_named_inputs_builtin_ops_and_metadata(float32_model):
    model = tflite.interpreter(float32_model)
    inputs = {d["name"]: (list(d["shape"]), d["dtype"]) for d in model.get_input_details()}
    assert inputs == {"images": ([1, 16, 16, 3], np.float32), "labels": ([1, 5], np.float32)}
    (output,) = model.get_output_details()
    assert output["name"] == "translated_images" and list(output["shape"]) == [1, 16, 16, 3]
    flat = schema.Model.GetRootAs(float32_model, 0)
    codes = {max(flat.OperatorCodes(i).BuiltinCode(), flat.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(flat.OperatorCodesLength())}
    assert schema.BuiltinOperator.CUSTOM not in codes and schema.BuiltinOperator.CONV_2D in codes
    metadata = tflite.read_metadata(float32_model)
    assert metadata["label_names"] == ["red", "green", "blue", "square", "large"]
    assert metadata["image_size"] == 16 and metadata["quantize"] == "none"


def test_batch_option_fixes_another_batch(translator, held_out):
    model = tflite.interpreter(tflite.convert(translator, "none", batch=2))
    shapes = {d["name"]: list(d["shape"]) for d in model.get_input_details()}
    assert shapes == {"images": [2, 16, 16, 3], "labels": [2, 5]}


def test_float16_within_1e_2(translator, float32_model, held_out):
    images, labels = held_out
    half = run_lite(tflite.convert(translator, "float16"), images, labels)
    assert np.abs(half - run_lite(float32_model, images, labels)).max() <= 1e-2


def test_dynamic_and_int8_psnr_against_float32(run_dir, translator, float32_model, held_out):
    images, labels = held_out
    reference = run_lite(float32_model, images, labels)
    calibration = tflite.calibration_data(run_dir, translator, steps=16, batch=1)
    first = next(calibration())
    assert first["images"].shape == (1, 16, 16, 3) and first["labels"].shape == (1, 5)
    scores = {}
    for quantize in ("dynamic", "int8"):
        model = tflite.convert(translator, quantize, representative_dataset=calibration)
        assert tflite.read_metadata(model)["quantize"] == quantize
        scores[quantize] = float(np.mean(psnr(run_lite(model, images, labels), reference)))
    # This 10-iteration run is barely trained; the README reports a trained run's figures.
    assert scores["dynamic"] >= 35.0 and scores["int8"] >= 25.0, scores


def test_cli_writes_the_file(run_dir, tmp_path):
    output = tmp_path / "new" / "g.tflite"  # a folder that does not exist yet
    done = subprocess.run([sys.executable, "-m", "export.tflite", f"--run_dir={run_dir}",
                           "--quantize=float16", f"--output={output}"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert tflite.read_metadata(output.read_bytes())["quantize"] == "float16"


def test_export_creates_missing_folders(tmp_path):
    from runs import untrained_run

    from stargan_keras import Translator

    translator = Translator.from_run_dir(untrained_run(str(tmp_path / "run"), "synthetic"))
    path = str(tmp_path / "not" / "yet" / "g.tflite")
    assert tflite.export_tflite(translator, path, "float16") == path
    with open(path, "rb") as f:
        assert tflite.read_metadata(f.read())["quantize"] == "float16"


def test_bench_tool_reports_size_latency_and_psnr(run_dir, float32_model):
    from tools.bench_export import benchmark

    report = benchmark(run_dir, ["tflite_none", "tflite_float16"], repeats=2,
                       calibration_steps=2, eval_images=4)
    assert report["image_size"] == 16 and report["eval_images"] == 4
    assert set(report["variants"]) == {"tflite_none", "tflite_float16"}
    assert report["variants"]["tflite_none"]["bytes"] == len(float32_model)
    assert report["variants"]["tflite_float16"]["psnr_vs_float32_db"] > 40
    assert all(v["ms_per_image"] > 0 for v in report["variants"].values())


def test_a_joint_run_carries_each_label_sets_crop(tmp_path):
    from runs import untrained_joint_run

    from stargan_keras import Translator

    translator = Translator.from_run_dir(untrained_joint_run(str(tmp_path / "both"), 20, 36))
    metadata = tflite.read_metadata(tflite.convert(translator))
    assert metadata["crop_size"] == 20
    assert metadata["crop_sizes"] == {"synthetic": 20, "synthetic_single": 36}
