import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.faces import (
    ATTRIBUTES,
    DEFAULT_ATTRIBUTES,
    EXPRESSIONS,
    SyntheticFaces,
    face_sources,
    render,
    sample_scenes,
)
from stargan_keras.data.rendered import ground_truth
from stargan_keras.labels import LabelLayout

SIZE = 48


def _take(dataset, n):
    return [tuple(t.numpy() for t in example) for example in dataset.take(n)]


def _changed(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max(axis=-1) > 0.02


def test_label_sets_carry_celeba_and_rafd_names():
    faces, expressions = face_sources("faces_both", SIZE, 0, DEFAULT_ATTRIBUTES)
    assert faces.label_set.names == ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    assert faces.label_set.multi_label and faces.label_set.exclusive == (
        ("Black_Hair", "Blond_Hair", "Brown_Hair"),)
    assert expressions.label_set.names == EXPRESSIONS and not expressions.label_set.multi_label
    # The config's default attributes are CelebA's, so they apply here as they are.
    sources = make_sources(TrainConfig(dataset="faces", image_size=SIZE))
    assert sources[0].label_set == faces.label_set
    with pytest.raises(ValueError, match="all of Black_Hair, Blond_Hair, Brown_Hair or none"):
        SyntheticFaces("faces", SIZE, 0, ("Black_Hair", "Male"))
    with pytest.raises(ValueError, match="Smiling"):
        SyntheticFaces("faces", SIZE, 0, ("Smiling",))


def test_training_stream_is_a_pure_function_of_seed_and_index():
    source = SyntheticFaces("faces", 16, seed=3, train_faces=96)
    whole = _take(source.train_examples(), 200)  # two epochs and a bit
    again = _take(SyntheticFaces("faces", 16, seed=3, train_faces=96).train_examples(150), 50)
    for (image, labels), (image2, labels2) in zip(whole[150:], again):
        np.testing.assert_array_equal(image, image2)
        np.testing.assert_array_equal(labels, labels2)
    # Each epoch shows every training face once, in a new order.
    first, second = [np.stack([w[0] for w in whole[i:i + 96]]) for i in (0, 96)]
    assert not np.array_equal(first, second)
    key = [sorted(map(bytes, e.reshape(96, -1))) for e in (first, second)]
    assert key[0] == key[1]
    # Painted as 8-bit images, like decoded photos.
    np.testing.assert_allclose(np.round((first + 1) * 127.5), (first + 1) * 127.5, atol=1e-4)
    other = _take(SyntheticFaces("faces", 16, seed=4, train_faces=96).train_examples(), 1)
    assert not np.array_equal(other[0][0], whole[0][0])


def test_a_workers_share_is_its_slice_of_the_stream():
    source = SyntheticFaces("faces_expressions", 16, seed=0, train_faces=64)
    whole = _take(source.train_examples(8), 48)
    share = _take(source.train_examples(8, share=(3, 8)), 18)
    expected = [w for t, w in enumerate(whole) if t % 8 < 3]
    for (image, labels), (image2, labels2) in zip(share, expected):
        np.testing.assert_array_equal(image, image2)
        np.testing.assert_array_equal(labels, labels2)


def test_held_out_faces_are_not_training_faces():
    source = SyntheticFaces("faces", 16, seed=0, train_faces=128)
    train = np.stack([e[0] for e in _take(source.train_examples(), 128)])
    held, labels, scenes = source.held_out(70)
    assert held.shape == (70, 16, 16, 3) and labels.shape == (70, 5)
    train_keys = {bytes(np.round((t + 1) * 127.5).astype(np.uint8)) for t in train}
    held_keys = {bytes(np.round((h + 1) * 127.5).astype(np.uint8)) for h in held.numpy()}
    assert not train_keys & held_keys
    np.testing.assert_array_equal(labels[:, :3], tf.one_hot(scenes["hair"], 3))
    np.testing.assert_array_equal(labels[:, 3], scenes["male"])


def test_labels_are_drawn_apart_from_identity():
    source = SyntheticFaces("faces", 16, seed=0)
    blocks = [sample_scenes(0, 10, tf.constant(b, tf.int64)) for b in range(64)]
    scenes = {k: tf.concat([b[k] for b in blocks], 0) for k in blocks[0]}
    labels = source.labels(scenes).numpy()
    # Every attribute on in a share like CelebA's, hair colours one each.
    np.testing.assert_array_equal(labels[:, :3].sum(axis=1), np.ones(4096))
    assert np.all(np.abs(labels[:, :3].mean(axis=0) - 1 / 3) < 0.03)
    assert abs(labels[:, 3].mean() - 0.45) < 0.03 and abs(labels[:, 4].mean() - 0.65) < 0.03
    # No identity trait follows a label.
    for trait in ("face_width", "jaw", "hair_length", "eye_spacing", "light"):
        for column in range(5):
            r = np.corrcoef(scenes[trait].numpy(), labels[:, column])[0, 1]
            assert abs(r) < 0.06, (trait, column, r)


def _one_face_with(scenes, **changes):
    one = {k: v[:1] for k, v in scenes.items()}
    for key, value in changes.items():
        one[key] = tf.constant([value], one[key].dtype)
    return render(one, 64)[0].numpy()


def _regions(scenes):
    """Boolean masks [64, 64] of the top of the head, the brows, the chin and the face."""
    cx, cy = float(scenes["cx"][0]), float(scenes["cy"][0])
    rx = float(scenes["face_width"][0])
    ry = rx * float(scenes["face_length"][0])
    eye_y = cy + float(scenes["eye_height"][0]) * ry
    y, x = (np.mgrid[0:64, 0:64] + 0.5) / 64
    near_x = np.abs(x - cx) < 0.6 * rx
    return {
        "top": (y > cy - 1.0 * ry) & (y < cy - 0.7 * ry) & near_x,
        "brows": (np.abs(y - (eye_y - 0.2 * ry)) < 0.08 * ry) & near_x,
        "chin": (y > cy + 0.7 * ry) & (y < cy + 0.95 * ry) & near_x,
        "face": ((x - cx) / (1.15 * rx)) ** 2 + ((y - cy) / (1.1 * ry)) ** 2 < 1,
    }


@pytest.fixture(scope="module")
def upright_scenes():
    """Held-out scenes turned upright and frontal, so the regions above are exact."""
    _, _, scenes = SyntheticFaces("faces", 64, seed=0).held_out(64)
    scenes = dict(scenes)
    scenes["roll"] = tf.zeros_like(scenes["roll"])
    scenes["yaw"] = tf.zeros_like(scenes["yaw"])
    return scenes


@pytest.mark.parametrize("index", range(6))
def test_each_attribute_is_a_local_change_in_the_places_real_faces_show_it(upright_scenes, index):
    scenes = {k: v[index:index + 1] for k, v in upright_scenes.items()}
    regions = _regions(scenes)
    base = _one_face_with(scenes, male=0.0, young=1.0, glasses=0.0, hair=0, expression=5)
    # Hair colour: the top of the head and the brows; not the whole picture.
    blond = _one_face_with(scenes, male=0.0, young=1.0, glasses=0.0, hair=1, expression=5)
    changed = _changed(base, blond)
    assert changed[regions["top"]].mean() > 0.5 and changed[regions["brows"]].any()
    assert 0.05 < changed.mean() < 0.6
    # Male: hair shape and a beard on the chin.
    male = _one_face_with(scenes, male=1.0, young=1.0, glasses=0.0, hair=0, expression=5)
    changed = _changed(base, male)
    assert changed[regions["chin"]].mean() > 0.5 and changed[~regions["face"]].any()
    # Old: grey hair at the top and lines on the face; the background stays.
    old = _one_face_with(scenes, male=0.0, young=0.0, glasses=0.0, hair=0, expression=5)
    changed = _changed(base, old)
    assert changed[regions["top"]].mean() > 0.3 and changed[regions["face"]].sum() >= 8
    # None of them touches the background's corners.
    for edited in (blond, male, old):
        changed = _changed(base, edited)
        assert not (changed[:6, :6].any() or changed[:6, -6:].any())
    # Eyeglasses and every expression change the face only.
    glasses = _one_face_with(scenes, male=0.0, young=1.0, glasses=1.0, hair=0, expression=5)
    assert _changed(base, glasses)[regions["face"]].sum() >= 10
    assert not _changed(base, glasses)[~regions["face"]].any()
    for expression in range(len(EXPRESSIONS)):
        if expression == 5:
            continue
        other = _one_face_with(scenes, male=0.0, young=1.0, glasses=0.0, hair=0,
                               expression=expression)
        changed = _changed(base, other)
        assert changed[regions["face"]].sum() >= 6, EXPRESSIONS[expression]
        assert not changed[~regions["face"]].any(), EXPRESSIONS[expression]


def test_every_pair_of_expressions_differs():
    _, _, scenes = SyntheticFaces("faces_expressions", 64, seed=0).held_out(1)
    faces = [_one_face_with(scenes, expression=e) for e in range(len(EXPRESSIONS))]
    for a in range(len(faces)):
        for b in range(a + 1, len(faces)):
            assert _changed(faces[a], faces[b]).sum() >= 6, (EXPRESSIONS[a], EXPRESSIONS[b])


def test_ground_truth_keeps_identity_and_sets_targets():
    sources = face_sources("faces_both", 32, 0, ATTRIBUTES)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    images, labels, scenes = sources[0].held_out(8)
    labels = layout.embed(0, labels)
    np.testing.assert_allclose(ground_truth(sources, layout, scenes, labels), images, atol=1e-6)
    # Eyeglasses on: faces that had them are unchanged, the others all change.
    targets = tf.concat([labels[:, :5], tf.ones((8, 1)), labels[:, 6:]], axis=1)
    changed = _changed(ground_truth(sources, layout, scenes, targets), images)
    had = scenes["glasses"].numpy() == 1
    assert not changed[had].any() and changed[~had].any(axis=(1, 2)).all()
    # A cross-dataset target (the RaFD-like set) changes the expression only.
    cross = layout.embed(1, tf.one_hot(tf.fill((8,), 4), len(EXPRESSIONS)))
    expected = dict(scenes)
    expected["expression"] = tf.fill((8,), 4)
    np.testing.assert_allclose(ground_truth(sources, layout, scenes, cross),
                               sources[0].paint(expected), atol=1e-6)
