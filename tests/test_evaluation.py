import numpy as np
import pytest
import tensorflow as tf
from oracles import SIZE, code_classifier, code_generator, identity_generator

from stargan_keras.data.rendered import ground_truth
from stargan_keras.data.synthetic import MULTI_LABEL_NAMES, synthetic_sources
from stargan_keras.evaluation.evaluate_run import (
    classification_summary,
    disagreement_summary,
    reconstruction_summary,
)
from stargan_keras.evaluation.sweep import (
    SECOND,
    Column,
    held_out_parts,
    sweep,
    truth_summary,
)
from stargan_keras.labels import LabelLayout


def _setup(dataset, count=6):
    sources = synthetic_sources(dataset, SIZE, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    return sources, layout, held_out_parts(sources, layout, count)


def test_columns_cover_the_grid_with_cross_dataset_targets():
    sources, layout, parts = _setup("synthetic_both")
    columns = sweep(identity_generator, layout, parts, batch=4)
    names = MULTI_LABEL_NAMES + ("plain", "hbar", "vbar", "cross")
    assert list(columns) == ([f"synthetic->{n}" for n in names]
                             + [f"synthetic_single->{n}" for n in names])
    column = columns["synthetic_single->red"]
    assert (column.source_set, column.target_set, column.label) == (1, 0, "red")
    # Batches of 4 over 6 images: every image scored once.
    assert column.values("rec_l1").shape == (6,)


def test_identity_generator_reconstructs_exactly():
    _, layout, parts = _setup("synthetic")
    summary = reconstruction_summary(sweep(identity_generator, layout, parts))
    assert summary["l1"] == 0.0 and summary["psnr"] == float("inf")


@pytest.mark.parametrize("dataset", ["synthetic", "synthetic_both"])
@pytest.mark.parametrize("right", [True, False])
def test_classification_of_translations_by_an_oracle(dataset, right):
    sources, layout, parts = _setup(dataset)
    # D reads the code the other way from the classifier: G fools one judge, not both.
    fooled = code_classifier(layout, not right).model
    columns = sweep(code_generator, layout, parts, classifier=code_classifier(layout, right),
                    critic=lambda images, training=False: (None, fooled(images)))
    floor = {"synthetic": {"error": 0.25}}
    summary = classification_summary(columns, floor)
    expected = 0.0 if right else 1.0
    assert summary["error"] == expected and summary["accuracy"] == 1.0 - expected
    assert summary["target_accuracy"] == 1.0 - expected
    # Multi-label columns judge the unchanged labels too (an oracle keeps or loses all).
    assert summary["kept_rate"] == 1.0 - expected
    assert summary["floor"] == 0.25
    assert summary["critic_target_accuracy"] == expected
    assert all(e["critic_target_accuracy"] == expected for e in summary["per_target"].values())
    assert all(e["error"] == expected for e in summary["per_target"].values())
    if dataset == "synthetic_both":  # single-label targets have no other labels to keep
        assert "kept_rate" not in summary["per_target"]["synthetic->cross"]


@pytest.mark.parametrize("dataset", ["synthetic", "synthetic_both"])
def test_disagreement_where_one_classifier_misreads_a_label(dataset):
    sources, layout, parts = _setup(dataset)
    # B agrees with A except that it reads "square" the other way.
    columns = sweep(code_generator, layout, parts, classifier=code_classifier(layout),
                    second_classifier=code_classifier(layout, misread=("square",)),
                    reconstruction=False)
    disagreement = disagreement_summary(columns)
    squares = {key for key in columns if key.endswith("->square")}
    assert disagreement["per_target"] == {key: 1.0 if key in squares else 0.0
                                          for key in columns}
    assert disagreement["mean"] == len(squares) / len(columns)  # 1/5, or 2/18
    first = classification_summary(columns, {})
    second = classification_summary(columns, {}, SECOND)
    assert first["error"] == 0.0 and first["target_accuracy"] == 1.0
    for key, entry in second["per_target"].items():
        # B misreads "square" in every image, so no multi-label domain is ever right,
        # while the target verdicts differ only where the square is the target.
        in_shapes = columns[key].target_set == 0
        assert entry["error"] == (1.0 if in_shapes else 0.0)
        assert entry["target_accuracy"] == (0.0 if key in squares else 1.0)
        assert "critic_target_accuracy" not in entry
    assert second["critic_target_accuracy"] is None


def _perfect_generator(sources, layout, parts):
    """G that renders the exact truth of whichever held-out scene it is given."""
    all_images = np.concatenate([p.images.numpy() for p in parts])
    all_scenes = {k: tf.concat([p.scenes[k] for p in parts], 0) for k in parts[0].scenes}

    def perfect(inputs, training=False):
        images, targets = inputs
        index = [int(np.argmin(np.abs(all_images - image).sum(axis=(1, 2, 3))))
                 for image in images.numpy()]
        scenes = {k: tf.gather(v, index) for k, v in all_scenes.items()}
        return ground_truth(sources, layout, scenes, targets)

    return perfect


def test_ground_truth_error_is_zero_for_a_perfect_generator():
    sources, layout, parts = _setup("synthetic_both")
    result = truth_summary(sweep(_perfect_generator(sources, layout, parts), layout, parts,
                                 truth_sources=sources, reconstruction=False))
    assert result["l1"] == 0.0 and result["psnr"] == float("inf")
    assert result["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert len(result["per_target"]) == 18
    # Everything the input got wrong, G gets right: the whole L1, an infinite PSNR gain.
    assert result["psnr_gain"] == float("inf") and np.isfinite(result["input_psnr"])
    assert result["l1_gain"] == result["input_l1"] > 0.01


def test_returning_the_input_gains_nothing():
    sources, layout, parts = _setup("synthetic_both")
    identity = truth_summary(sweep(identity_generator, layout, parts, truth_sources=sources,
                                   reconstruction=False))
    # Identity is wrong exactly where a target changes the scene.
    assert identity["l1"] > 0.01
    assert identity["psnr_gain"] == 0.0 and identity["l1_gain"] == 0.0
    assert identity["psnr"] == float("inf")  # some inputs already are their truth
    assert np.isfinite(identity["input_psnr"])  # the gains skip those
    for key, entry in identity["per_target"].items():
        if entry["changed"]:
            assert entry["psnr_gain"] == 0.0 and entry["l1_gain"] == 0.0, key
        else:
            assert entry["psnr_gain"] is None and entry["input_psnr"] is None, key
    # A flipped shape or size changes every image; a colour only those of another colour.
    assert identity["per_target"]["synthetic->square"]["changed"] == 6
    assert identity["per_target"]["synthetic->large"]["changed"] == 6
    assert 0 < identity["per_target"]["synthetic->red"]["changed"] < 6
    assert identity["changed"] == sum(e["changed"] for e in identity["per_target"].values())


def test_an_input_that_differs_from_its_truth_by_rounding_is_unchanged():
    column = Column(0, 0, "red")
    for name, values in (("truth_l1", [0.1, 0.2]), ("truth_psnr", [20.0, 15.0]),
                         ("truth_ssim", [0.9, 0.8]), ("input_l1", [4e-9, 0.3]),
                         ("input_psnr", [170.0, 10.0])):
        column.add(name, values)
    summary = truth_summary({"synthetic->red": column})
    assert summary["changed"] == 1
    assert summary["input_psnr"] == 10.0 and summary["psnr_gain"] == 5.0
    assert summary["l1_gain"] == pytest.approx(0.1)


def test_a_partial_edit_gains_less_than_the_whole_edit():
    sources, layout, parts = _setup("synthetic")
    perfect = _perfect_generator(sources, layout, parts)

    def top_half(inputs, training=False):
        # The truth in the top half of the image, the input in the bottom half.
        return tf.concat([perfect(inputs)[:, :SIZE // 2], inputs[0][:, SIZE // 2:]], axis=1)

    partial = truth_summary(sweep(top_half, layout, parts, truth_sources=sources,
                                  reconstruction=False))
    whole = truth_summary(sweep(perfect, layout, parts, truth_sources=sources,
                                reconstruction=False))
    assert 0.0 < partial["psnr_gain"] < whole["psnr_gain"] == float("inf")
    assert 0.0 < partial["l1_gain"] < whole["l1_gain"]
    assert partial["input_l1"] == whole["input_l1"]


def test_held_out_parts_place_labels_in_the_runs_layout():
    sources, layout, _ = _setup("synthetic_both")
    parts = held_out_parts(sources[1:], layout, 3)  # one dataset of a joint run
    assert parts[0].set_index == 1
    np.testing.assert_array_equal(parts[0].labels[:, -2:], [[0, 1]] * 3)
    single = LabelLayout((sources[0].label_set,))
    with pytest.raises(ValueError, match="not on synthetic_single"):
        held_out_parts(sources[1:], single, 3)
