import json
import os

import pytest
import tensorflow as tf
from conftest import TINY
from oracles import code_classifier, code_generator, identity_generator

from stargan_keras.config import TrainConfig
from stargan_keras.data.synthetic import MULTI_LABEL_NAMES, synthetic_sources
from stargan_keras.evaluation.sweep import held_out_parts
from stargan_keras.labels import LabelLayout
from stargan_keras.training.evaluator import TrainingEvaluator


def _tags(logdir):
    found = {}
    for name in os.listdir(logdir):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name)):
            for value in event.summary.value:
                found[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    return found


def test_evaluates_every_eval_step_and_logs_to_tensorboard(tmp_path):
    sources = synthetic_sources("synthetic", 16, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout((sources[0].label_set,))
    evaluator = TrainingEvaluator(10, layout, held_out_parts(sources, layout, 4), str(tmp_path),
                                  classifier=code_classifier(layout), truth_sources=sources)
    assert not evaluator.due(5) and evaluator.due(10) and evaluator.due(20)
    values = evaluator.evaluate(10, code_generator)
    assert values["eval/classification_error"] == 0.0  # the oracle reads G's code
    assert values["eval/target_accuracy"] == 1.0 and values["eval/kept_rate"] == 1.0
    assert set(values) >= {"eval/reconstruction_l1", "eval/reconstruction_psnr",
                           "eval/ground_truth_l1", "eval/ground_truth_psnr",
                           "eval/ground_truth_ssim", "eval/ground_truth_psnr_gain",
                           "eval/ground_truth_l1_gain",
                           "eval/classification_error/synthetic->red"}
    assert "eval/classifier_real_error" not in values and "eval/fid" not in values
    logged = _tags(tmp_path)
    assert logged[("eval/classification_error", 10)] == 0.0
    assert not any(step == 5 for _, step in logged)


def test_from_config(tmp_path):
    sources = synthetic_sources("synthetic", 16, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout((sources[0].label_set,))
    # Synthetic data without --eval_step: the truth alone, at every sample grid.
    truth_only = TrainingEvaluator.from_config(TrainConfig(**TINY), layout, sources,
                                               str(tmp_path), str(tmp_path / "truth.json"))
    assert truth_only.every == TINY["sample_step"] and not truth_only.reconstruction
    assert truth_only.due(TINY["sample_step"]) and not truth_only.due(TINY["sample_step"] + 1)
    values = truth_only.evaluate(TINY["sample_step"], code_generator)
    assert set(values) == {"eval/ground_truth_l1", "eval/ground_truth_psnr",
                           "eval/ground_truth_ssim", "eval/ground_truth_psnr_gain",
                           "eval/ground_truth_l1_gain"}
    written = json.loads((tmp_path / "truth.json").read_text())
    assert written["l1"] == values["eval/ground_truth_l1"]
    assert written["psnr_gain"] == values["eval/ground_truth_psnr_gain"]
    assert written["iteration"] == TINY["sample_step"]
    assert set(written["per_target"]) == {f"synthetic->{name}" for name in MULTI_LABEL_NAMES}
    # Other data without --eval_step: nothing to score.
    assert TrainingEvaluator.from_config(TrainConfig(**{**TINY, "dataset": "folder"}), layout,
                                         sources, str(tmp_path)) is None
    on = TrainConfig(**{**TINY, "eval_step": 5})
    evaluator = TrainingEvaluator.from_config(on, layout, sources, str(tmp_path))
    assert evaluator.classifier is None and evaluator.truth_sources is sources
    assert int(evaluator.held_out[0].images.shape[0]) == TINY["num_eval_images"]
    assert evaluator.due(5)
    values = evaluator.evaluate(5, code_generator)
    assert "eval/classification_error" not in values and "eval/reconstruction_l1" in values


def test_returning_the_input_logs_no_gain(tmp_path):
    sources = synthetic_sources("synthetic", 16, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout((sources[0].label_set,))
    evaluator = TrainingEvaluator(10, layout, held_out_parts(sources, layout, 4), str(tmp_path),
                                  truth_sources=sources, reconstruction=False)
    values = evaluator.evaluate(10, identity_generator)
    assert values["eval/ground_truth_psnr_gain"] == 0.0
    assert values["eval/ground_truth_l1_gain"] == 0.0
    assert _tags(tmp_path)[("eval/ground_truth_psnr_gain", 10)] == 0.0


@pytest.mark.parametrize("overrides,message", [
    ({"eval_step": 7}, "--eval_step=7: must be 0 .off. or a positive multiple of --n_critic=5"),
    ({"eval_step": -5}, "--eval_step=-5"),
    ({"eval_classifier": "cls"}, "--eval_classifier needs --eval_step > 0"),
])
def test_config_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**TINY, **overrides}).validate()


@pytest.mark.slow
def test_training_runs_the_evaluator_every_eval_step(tmp_path):
    from test_train_cli import _summary_steps

    from stargan_keras.training.loop import train

    config = TrainConfig(run_dir=str(tmp_path / "run"), **{**TINY, "eval_step": 5,
                                                          "sample_step": 10})
    train(config)
    steps = _summary_steps(tmp_path / "run" / "logs")
    evaluated = [tag for tag in steps if tag.startswith("eval/reconstruction")]
    assert evaluated and all(sorted(steps[tag]) == [5, 10] for tag in evaluated)
