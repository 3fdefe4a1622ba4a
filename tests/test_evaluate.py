"""End to end: a tiny trained run, a tiny classifier, the evaluate library and CLIs."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY
from PIL import Image

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.evaluation.classifier_training import train_and_save
from stargan_keras.evaluation.evaluate_run import evaluate, load_networks
from stargan_keras.evaluation.report import (
    METRICS_FILE,
    PAPER_REFERENCE,
    REPORT_FILE,
    TENSORBOARD_DIR,
    write_report,
)
from stargan_keras.training.loop import train

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow

CHARTS = ("classification_error.png", "reconstruction_l1.png", "fid.png",
          "ground_truth_l1.png")


def _train(root, dataset):
    config = TrainConfig(run_dir=str(root / f"run_{dataset}"), dataset=dataset, **TINY)
    model = train(config)
    classifier_dir = str(root / f"cls_{dataset}")
    train_and_save(make_sources(config), classifier_dir, dataset=dataset, arch="small",
                   image_size=16, num_steps=2, batch_size=4, learning_rate=1e-3,
                   num_test_images=8, seed=0)
    return config.run_dir, classifier_dir, model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("evaluate"), "synthetic")


def test_loaded_networks_are_the_trained_ones(tiny):
    run_dir, _, model = tiny
    _, _, generator, discriminator, iteration = load_networks(run_dir)
    assert iteration == 10
    images = tf.random.stateless_uniform((2, 16, 16, 3), seed=(1, 2), minval=-1, maxval=1)
    labels = tf.constant([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]], tf.float32)
    np.testing.assert_array_equal(generator([images, labels], training=False),
                                  model.generator([images, labels], training=False))
    np.testing.assert_array_equal(discriminator(images, training=False)[1],
                                  model.discriminator(images, training=False)[1])


def test_report_files_and_their_schema(tiny, tmp_path):
    run_dir, classifier_dir, _ = tiny
    metrics = evaluate(run_dir, classifier_dir, num_images=8, seed=0, progress=False)
    paths = write_report(metrics, str(tmp_path))
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        (METRICS_FILE, REPORT_FILE) + CHARTS)
    with open(tmp_path / METRICS_FILE) as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(metrics))
    assert set(saved) == {"run_dir", "iteration", "dataset", "num_images", "seed", "classifier",
                          "classification", "reconstruction", "fid_kid", "ground_truth"}
    assert saved["iteration"] == 10 and saved["num_images"] == {"synthetic": 8}
    targets = [f"synthetic->{n}" for n in ("red", "green", "blue", "square", "large")]
    cls = saved["classification"]
    assert list(cls["per_target"]) == targets
    assert set(cls["per_target"]["synthetic->red"]) == {"error", "accuracy", "target_accuracy",
                                                        "kept_rate", "critic_target_accuracy"}
    assert 0 <= cls["critic_target_accuracy"] <= 1
    assert cls["error"] == pytest.approx(np.mean([e["error"]
                                                  for e in cls["per_target"].values()]))
    assert 0 <= cls["floor"] <= 1 and set(cls["real_error"]) == {"synthetic"}
    assert list(saved["reconstruction"]["per_target"]) == targets
    assert list(saved["ground_truth"]["per_target"]) == targets
    assert set(saved["ground_truth"]) == {"l1", "psnr", "ssim", "changed", "input_l1",
                                          "input_psnr", "l1_gain", "psnr_gain", "per_target"}
    assert set(saved["ground_truth"]["per_target"]["synthetic->large"]) == (
        set(saved["ground_truth"]) - {"per_target"})
    # Flipping the size changes every image, so every one has a gain to make.
    assert saved["ground_truth"]["per_target"]["synthetic->large"]["changed"] == 8
    dist = saved["fid_kid"]
    assert dist["features"].startswith("classifier penultimate features")
    # Colours are always switched on; square and large flip both ways.
    assert set(dist["per_domain"]) == {"synthetic:red", "synthetic:green", "synthetic:blue",
                                       "synthetic:square=0", "synthetic:square=1",
                                       "synthetic:large=0", "synthetic:large=1"}
    assert sum(d["num_fake"] for d in dist["per_domain"].values()) == 5 * 8
    report = (tmp_path / REPORT_FILE).read_text()
    for heading in ("# Evaluation of", "## Classification of translations, per target",
                    "## Classifier error on real held-out images (the floor)",
                    "## FID and KID per target domain", "## Against the rendered ground truth"):
        assert heading in report
    assert "| synthetic->large |" in report
    assert "| truth PSNR gained over returning the input (dB) |" in report
    # The paper's figure is quoted as what it is, not set beside the run's as a row.
    assert PAPER_REFERENCE in report and "| paper" not in report
    assert "## Two classifiers" not in report and "classification_second" not in saved
    for chart in CHARTS:
        with Image.open(tmp_path / chart) as image:
            assert image.format == "PNG" and image.mode == "RGB" and image.width == 670
    tags = set()
    for name in os.listdir(tmp_path / TENSORBOARD_DIR):
        for event in tf.compat.v1.train.summary_iterator(str(tmp_path / TENSORBOARD_DIR / name)):
            tags |= {(v.tag, event.step) for v in event.summary.value}
    assert {("eval/classification_error", 10), ("eval/classifier_real_error", 10),
            ("eval/reconstruction_l1", 10), ("eval/fid", 10),
            ("eval/ground_truth_ssim", 10), ("eval/critic_target_accuracy", 10),
            ("eval/ground_truth_psnr_gain", 10), ("eval/ground_truth_l1_gain", 10)} <= tags


def test_evaluation_is_deterministic(tiny):
    run_dir, classifier_dir, _ = tiny
    first = evaluate(run_dir, classifier_dir, num_images=8, seed=3, progress=False)
    assert first == evaluate(run_dir, classifier_dir, num_images=8, seed=3, progress=False)


def test_inception_features_from_a_weights_file(tiny, tmp_path):
    run_dir, classifier_dir, _ = tiny
    weights = str(tmp_path / "inception.weights.h5")
    keras.utils.set_random_seed(0)
    keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg",
                                   input_shape=(75, 75, 3)).save_weights(weights)
    metrics = evaluate(run_dir, classifier_dir, num_images=8, inception_weights=weights,
                       inception_size=75, progress=False)
    assert metrics["fid_kid"]["features"] == ("InceptionV3 pool features "
                                              "(inception.weights.h5, 75 px)")
    assert all(np.isfinite(d["fid"]) and d["fid"] >= 0
               for d in metrics["fid_kid"]["per_domain"].values() if d["fid"] is not None)
    with pytest.raises(FileNotFoundError, match="--inception_weights=.*missing.h5"):
        evaluate(run_dir, classifier_dir, num_images=8, progress=False,
                 inception_weights=str(tmp_path / "missing.h5"))


def test_bad_inputs_are_named(tiny, tmp_path):
    run_dir, classifier_dir, _ = tiny
    with pytest.raises(FileNotFoundError, match="is .* a run directory"):
        evaluate(str(tmp_path), classifier_dir, progress=False)
    with pytest.raises(FileNotFoundError, match="classifier.keras not found"):
        evaluate(run_dir, str(tmp_path), progress=False)


def test_joint_run_with_cross_dataset_targets(tmp_path):
    run_dir, classifier_dir, _ = _train(tmp_path, "synthetic_both")
    metrics = evaluate(run_dir, classifier_dir, num_images=4, progress=False)
    per_target = metrics["classification"]["per_target"]
    assert len(per_target) == 2 * 9
    assert "synthetic->cross" in per_target and "synthetic_single->red" in per_target
    assert "kept_rate" in per_target["synthetic_single->red"]
    assert len(metrics["ground_truth"]["per_target"]) == 18
    # Translations from both sets are pooled per target domain.
    assert metrics["fid_kid"]["per_domain"]["synthetic_single:plain"]["num_fake"] == 8
    assert set(metrics["classification"]["real_error"]) == {"synthetic", "synthetic_single"}
    # One dataset of the joint run: its images, every set's targets, no rendered truth.
    single = evaluate(run_dir, classifier_dir, num_images=4, progress=False,
                      overrides={"dataset": "synthetic_single"})
    assert list(single["num_images"]) == ["synthetic_single"]
    assert len(single["classification"]["per_target"]) == 9
    assert "ground_truth" not in single
    assert single["fid_kid"]["per_domain"]["synthetic:red"]["fid"] is None


def test_command_lines(tiny, tmp_path):
    run_dir, small_classifier, _ = tiny
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    classifier = subprocess.run(
        [sys.executable, "-m", "stargan_keras.train_classifier", "--dataset=synthetic",
         "--image_size=16", f"--run_dir={tmp_path / 'cls'}", "--arch=convnet", "--num_steps=2",
         "--batch_size=4", "--num_test_images=8"],
        capture_output=True, text=True, env=env, timeout=300)
    assert classifier.returncode == 0, classifier.stderr
    assert "synthetic: real-test error" in classifier.stdout
    report = tmp_path / "report"
    evaluated = subprocess.run(
        [sys.executable, "-m", "stargan_keras.evaluate", f"--run_dir={run_dir}",
         f"--classifier={small_classifier}", f"--second_classifier={tmp_path / 'cls'}",
         f"--output={report}", "--num_images=4"],
        capture_output=True, text=True, env=env, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "classification error of translations" in evaluated.stdout
    assert "the classifiers disagree on the target label in" in evaluated.stdout
    _check_second_classifier_report(report)
    failed = subprocess.run(
        [sys.executable, "-m", "stargan_keras.evaluate", f"--run_dir={run_dir}",
         f"--classifier={tmp_path / 'nothing'}", f"--output={tmp_path / 'report2'}"],
        capture_output=True, text=True, env=env, timeout=300)
    assert failed.returncode == 2 and "classifier.keras not found" in failed.stderr
    missing = tmp_path / "no_rafd"
    no_data = subprocess.run(
        [sys.executable, "-m", "stargan_keras.train_classifier", "--dataset=rafd",
         f"--rafd_image_dir={missing}", f"--run_dir={tmp_path / 'cls2'}"],
        capture_output=True, text=True, env=env, timeout=300)
    assert no_data.returncode == 2
    assert f"--rafd_image_dir={missing}: no such folder" in no_data.stderr
    assert not (tmp_path / "cls2").exists()


def _check_second_classifier_report(report):
    saved = json.loads((report / METRICS_FILE).read_text())
    assert saved["classifier"]["arch"] == "small"
    assert saved["second_classifier"]["arch"] == "convnet"
    first, second = saved["classification"], saved["classification_second"]
    assert set(second) == set(first) and second["critic_target_accuracy"] is None
    assert list(second["per_target"]) == list(first["per_target"])
    assert set(second["per_target"]["synthetic->red"]) == {"error", "accuracy",
                                                           "target_accuracy", "kept_rate"}
    disagreement = saved["classifier_disagreement"]
    assert set(disagreement) == {"mean", "per_target"}
    assert list(disagreement["per_target"]) == list(first["per_target"])
    assert disagreement["mean"] == pytest.approx(np.mean(list(
        disagreement["per_target"].values())))
    for key, value in disagreement["per_target"].items():
        # Two verdicts disagree at least as often as their accuracies differ.
        gap = abs(first["per_target"][key]["target_accuracy"]
                  - second["per_target"][key]["target_accuracy"])
        assert gap - 1e-9 <= value <= 1.0
    assert "psnr_gain" in saved["ground_truth"]
    text = (report / REPORT_FILE).read_text()
    for row in ("| second classifier: classification error of translations |",
                "| the classifiers disagree on the target label (mean over targets) |",
                "## Two classifiers, per target",
                "| source -> target | error (small) | error (convnet) |",
                "## The second classifier's error on real held-out images (its floor)"):
        assert row in text
    assert (report / "classifier_disagreement.png").exists()
    tags = set()
    for name in os.listdir(report / TENSORBOARD_DIR):
        for event in tf.compat.v1.train.summary_iterator(str(report / TENSORBOARD_DIR / name)):
            tags |= {v.tag for v in event.summary.value}
    assert {"eval/second_classification_error", "eval/classifier_disagreement",
            "eval/classifier_disagreement/synthetic->square",
            "eval/ground_truth_psnr_gain"} <= tags
