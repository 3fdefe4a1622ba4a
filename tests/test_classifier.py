import numpy as np
import pytest
import tensorflow as tf
from oracles import SIZE, code_classifier

from stargan_keras.data.synthetic import MULTI_LABEL_NAMES, synthetic_sources
from stargan_keras.evaluation.classifier import (
    EvaluationClassifier,
    build_classifier,
    predict_labels,
    real_error,
    translation_scores,
)
from stargan_keras.evaluation.classifier_training import classifier_batches, train_and_save
from stargan_keras.labels import LabelLayout, LabelSet

COLOURS = LabelSet("shapes", ("red", "green", "blue", "square", "large"), True,
                   (("red", "green", "blue"),))
MARKS = LabelSet("marks", ("plain", "hbar", "vbar", "cross"), False)


def test_resnet18_has_resnet18s_parameter_count():
    # torchvision's resnet18 (1000 classes) has 11,689,512 parameters; batch norm's moving
    # statistics are buffers there and non-trainable weights here.
    model = build_classifier("resnet18", 128, 1000)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 11_689_512
    assert model.get_layer("features").output.shape == (None, 512)


def test_small_classifier_shapes():
    model = build_classifier("small", 32, 9)
    assert model.output.shape == (None, 9)
    assert model.get_layer("features").output.shape == (None, 64)
    with pytest.raises(ValueError, match="unknown classifier architecture 'vgg'"):
        build_classifier("vgg", 32, 9)


def test_convnet_is_a_plain_stack_of_known_size():
    # Per stage two 3x3 conv-BN-ReLU pairs (no biases), widths 32, 64, 128:
    # 864 + 9,216 + 18,432 + 36,864 + 73,728 + 147,456 weights and 896 BN scales and
    # offsets; then the dense features (128 x 128 + 128) and 9 logits (128 x 9 + 9).
    for size in (16, 32, 64):  # global pooling: the count does not depend on the size
        model = build_classifier("convnet", size, 9)
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 305_129
        assert model.count_params() == 305_129 + 896  # and BN's moving statistics
        assert model.output.shape == (None, 9)
        assert model.get_layer("features").output.shape == (None, 128)
    kinds = [type(layer).__name__ for layer in model.layers]
    # No residual connections (nor any other merge): another family than the ResNets.
    assert not {"Add", "Concatenate", "Multiply"} & set(kinds)
    assert kinds.count("Conv2D") == 6 and kinds.count("MaxPooling2D") == 3
    assert kinds[-4:] == ["GlobalAveragePooling2D", "Dense", "Dropout", "Dense"]


def test_the_resnets_have_residual_connections():
    for arch in ("resnet18", "small"):
        kinds = [type(layer).__name__ for layer in build_classifier(arch, 32, 9).layers]
        assert kinds.count("Add") == {"resnet18": 8, "small": 3}[arch]


def test_predict_labels():
    logits = np.array([[2.0, -1.0, 0.5], [-3.0, 4.0, -0.1]])
    np.testing.assert_array_equal(predict_labels(logits, True), [[1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(predict_labels(logits, False), [[1, 0, 0], [0, 1, 0]])


def test_translation_scores_multi_label():
    targets = np.array([[1, 0, 0, 1, 0], [1, 0, 0, 0, 1]], np.float32)
    # Image 0: all as asked. Image 1: red right, but square and large both wrong.
    predicted = np.array([[1, 0, 0, 1, 0], [1, 0, 0, 1, 0]], np.float32)
    scores = translation_scores(predicted, targets, COLOURS, "red")
    np.testing.assert_array_equal(scores["correct"], [True, False])
    np.testing.assert_array_equal(scores["target_correct"], [True, True])
    np.testing.assert_array_equal(scores["kept"], [1.0, 0.0])  # square and large only
    scores = translation_scores(predicted, targets, COLOURS, "large")
    np.testing.assert_array_equal(scores["target_correct"], [True, False])
    # Kept: red, green, blue, square -> image 1 has square wrong.
    np.testing.assert_array_equal(scores["kept"], [1.0, 0.75])


def test_translation_scores_single_label():
    targets = np.eye(4, dtype=np.float32)[[2, 2]]
    predicted = np.eye(4, dtype=np.float32)[[2, 0]]
    scores = translation_scores(predicted, targets, MARKS, "vbar")
    assert set(scores) == {"correct", "target_correct"}
    np.testing.assert_array_equal(scores["correct"], [True, False])


@pytest.mark.parametrize("right,error", [(True, 0.0), (False, 1.0)])
def test_real_error_of_an_oracle(right, error):
    layout = LabelLayout((COLOURS, MARKS))
    classifier = code_classifier(layout, right)
    labels = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 0, 0], [0, 0, 1, 1, 1]], np.float32)
    embedded = layout.embed(0, labels)
    images = tf.concat([tf.concat([2.0 * embedded[:, None, :, None] - 1.0,
                                   tf.zeros((3, 1, 11, 2))], axis=3),
                        tf.zeros((3, 1, SIZE - 11, 3))], axis=2)
    images = tf.concat([images, tf.zeros((3, SIZE - 1, SIZE, 3))], axis=1)
    result = real_error(classifier, COLOURS, images, labels)
    assert result["error"] == error and result["num_images"] == 3
    assert result["attribute_error"] == {n: error for n in COLOURS.names}


def test_head_names_a_missing_label_set():
    classifier = code_classifier(LabelLayout((COLOURS,)))
    assert classifier.head(COLOURS) == (0, 5)
    with pytest.raises(ValueError, match="knows shapes but not marks"):
        classifier.head(MARKS)


@pytest.mark.slow
def test_classifier_batches_embed_labels_and_flip_deterministically():
    sources = synthetic_sources("synthetic_both", 16, 0, MULTI_LABEL_NAMES)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    first = next(iter(classifier_batches(sources, layout, 4, seed=1)))
    again = next(iter(classifier_batches(sources, layout, 4, seed=1)))
    other = next(iter(classifier_batches(sources, layout, 4, seed=2)))
    images, labels = first
    assert images.shape == (8, 16, 16, 3) and labels.shape == (8, layout.width)
    np.testing.assert_array_equal(images, again[0])
    assert not np.array_equal(images, other[0])
    # The first four come from the multi-label set (mask [1, 0]), the rest from marks.
    np.testing.assert_array_equal(labels[:, -2:], [[1, 0]] * 4 + [[0, 1]] * 4)
    raw = [e for e in sources[0].train_examples(0).take(4)]
    for i, (image, label) in enumerate(raw):
        np.testing.assert_array_equal(labels[i, :5], label)
        assert (np.array_equal(images[i], image) or np.array_equal(images[i], image[:, ::-1]))


@pytest.mark.slow
@pytest.mark.parametrize("arch,features", [("small", 64), ("convnet", 128)])
def test_train_and_save_round_trip(tmp_path, arch, features):
    sources = synthetic_sources("synthetic_both", 16, 0, MULTI_LABEL_NAMES)
    classifier = train_and_save(sources, str(tmp_path / "cls"), dataset="synthetic_both",
                                arch=arch, image_size=16, num_steps=3, batch_size=4,
                                learning_rate=1e-3, num_test_images=10, seed=0)
    errors = classifier.info["real_test_error"]
    assert set(errors) == {"synthetic", "synthetic_single"}
    assert all(0.0 <= e["error"] <= 1.0 and e["num_images"] == 10 for e in errors.values())
    assert set(errors["synthetic"]["attribute_error"]) == set(sources[0].label_set.names)
    loaded = EvaluationClassifier.load(str(tmp_path / "cls"))
    assert loaded.layout == classifier.layout and loaded.image_size == 16
    assert loaded.info["real_test_error"] == errors and loaded.info["arch"] == arch
    images = sources[1].held_out(5)[0]
    np.testing.assert_allclose(loaded.logits(images), classifier.logits(images), atol=1e-6)
    # Another input size is resized, not refused.
    assert loaded.features(tf.image.resize(images, (32, 32))).shape == (5, features)


def test_load_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="classifier.keras not found"):
        EvaluationClassifier.load(str(tmp_path))
