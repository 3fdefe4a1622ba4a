import numpy as np
import pytest
import tensorflow as tf
from oracles import SIZE, code_classifier, code_generator, identity_generator

from stargan_keras.data.synthetic import MULTI_LABEL_NAMES, synthetic_sources
from stargan_keras.evaluation.evaluate_run import classification_summary, reconstruction_summary
from stargan_keras.evaluation.sweep import held_out_parts, sweep, truth_summary
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


def test_ground_truth_error_is_zero_for_a_perfect_generator():
    sources, layout, parts = _setup("synthetic_both")

    def perfect(inputs, training=False):
        # Renders the truth of whichever held-out scenes the images came from.
        images, targets = inputs
        index = [int(np.argmin(np.abs(all_images - image).sum(axis=(1, 2, 3))))
                 for image in images.numpy()]
        scenes = {k: tf.gather(v, index) for k, v in all_scenes.items()}
        from stargan_keras.data.rendered import ground_truth
        return ground_truth(sources, layout, scenes, targets)

    all_images = np.concatenate([p.images.numpy() for p in parts])
    all_scenes = {k: tf.concat([p.scenes[k] for p in parts], 0) for k in parts[0].scenes}
    result = truth_summary(sweep(perfect, layout, parts, truth_sources=sources,
                                 reconstruction=False))
    assert result["l1"] == 0.0 and result["psnr"] == float("inf")
    assert result["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert len(result["per_target"]) == 18
    # Identity is wrong exactly where a target changes the scene.
    identity = truth_summary(sweep(identity_generator, layout, parts, truth_sources=sources))
    assert identity["l1"] > 0.01


def test_held_out_parts_place_labels_in_the_runs_layout():
    sources, layout, _ = _setup("synthetic_both")
    parts = held_out_parts(sources[1:], layout, 3)  # one dataset of a joint run
    assert parts[0].set_index == 1
    np.testing.assert_array_equal(parts[0].labels[:, -2:], [[0, 1]] * 3)
    single = LabelLayout((sources[0].label_set,))
    with pytest.raises(ValueError, match="not on synthetic_single"):
        held_out_parts(sources[1:], single, 3)
