"""Face framing on real photographs: detection, the template, paste-back, translate, the tool."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from face_photos import astronaut, coffee, group, inside_square, tilted

from stargan_keras.inference import faces as faces_lib
from stargan_keras.inference import translator as translator_lib
from stargan_keras.inference.faces import (
    TEMPLATE_EYES,
    TEMPLATE_MOUTH,
    FaceDetector,
    Framing,
    aligned_image,
)
from stargan_keras.inference.translator import NoFaceError
from stargan_keras.translate import translate_files
from tools.align_faces import align_folder

# MTCNN's landmarks are whole pixels; re-detected on a 178 x 218 aligned image (a face of
# about 80 px) they land within 2 px of the template on these photos.
EYE_TOLERANCE_PX = 3.0


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


@pytest.fixture(scope="module")
def group_faces(detector):
    return detector(group())


def png(path, pixels):
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return str(path)


def test_detector_finds_each_face_of_the_group_left_to_right(group_faces):
    assert len(group_faces) == 3
    # One face in each 512-px panel, in panel order.
    assert [int(face.box[0] // 512) for face in group_faces] == [0, 1, 2]
    for face in group_faces:
        assert face.landmarks.shape == (5, 2) and face.confidence >= 0.9
        left_eye, right_eye = face.landmarks[:2]
        assert left_eye[0] < right_eye[0]


def test_no_face_in_a_photo_of_coffee(detector):
    assert detector(coffee()) == []


@pytest.mark.parametrize("name, photo", [("astronaut", astronaut), ("tilted", tilted)])
def test_eyes_land_on_the_template(detector, name, photo):
    """The aligned image, searched again, has its eyes where the template puts them."""
    pixels = photo()
    (face,) = detector(pixels)
    aligned = aligned_image(pixels, face)
    assert aligned.shape == (218, 178, 3)
    (again,) = detector(aligned)
    error = np.abs(again.landmarks[:2] - TEMPLATE_EYES)
    assert error.max() <= EYE_TOLERANCE_PX, f"{name}: eyes off by {error.max()} px"
    # At twice the size, the same framing: the eyes at twice the coordinates.
    (bigger,) = detector(aligned_image(pixels, face, scale=2))
    error = np.abs((bigger.landmarks[:2] + 0.5) / 2 - 0.5 - TEMPLATE_EYES)
    assert error.max() <= EYE_TOLERANCE_PX, f"{name} at scale 2: eyes off by {error.max()} px"


def test_framing_puts_the_eyes_level_at_the_template_in_g_input(group_faces):
    """Exact: the eye midpoint goes to the template's, through the run's crop and resize."""
    size, crop = 128, 178
    # img_align_celeba is 178 x 218: crop 178 keeps rows 20..197; 178 px -> 128 px.
    scale = size / crop
    expected_mid = ((TEMPLATE_EYES[:, 0].mean() + 0.5) * scale - 0.5,
                    (TEMPLATE_EYES[:, 1].mean() - 20 + 0.5) * scale - 0.5)
    template_distances = (np.linalg.norm(TEMPLATE_EYES[1] - TEMPLATE_EYES[0]) * scale,
                          np.linalg.norm(TEMPLATE_MOUTH - TEMPLATE_EYES.mean(axis=0)) * scale)
    for face in group_faces:
        matrix = Framing(size, crop).matrix(face)
        points = (matrix @ np.c_[face.landmarks, np.ones(5)].T)[:2].T
        np.testing.assert_allclose(points[:2].mean(axis=0), expected_mid, atol=1e-9)
        assert abs(points[1, 1] - points[0, 1]) < 1e-9  # eyes level
        mouth = points[3:5].mean(axis=0)
        distances = (points[1, 0] - points[0, 0], np.linalg.norm(mouth - points[:2].mean(axis=0)))
        # The smaller of the two scales: one distance matches the template, the other is
        # no larger than its own.
        assert min(abs(d - t) for d, t in zip(distances, template_distances)) < 1e-9
        assert all(d <= t + 1e-9 for d, t in zip(distances, template_distances))


def test_pasting_back_the_untranslated_crop_changes_nothing_outside_the_face(group_faces):
    photo = group()
    height, width = photo.shape[:2]
    for face in group_faces:
        for size, interior_error in ((128, 8.0), (512, 2.0)):
            framing = Framing(size, 178)
            pasted = framing.paste(photo, face, framing.crop(photo, face))
            square = inside_square(framing.matrix(face), size, height, width)
            # Outside the face's square: the photo's own pixels, exactly.
            np.testing.assert_array_equal(pasted[~square], photo[~square])
            # Inside, away from the soft edge: the photo again, up to resampling (at 512 px
            # the crop is larger than the face and the round trip is almost lossless).
            inner = inside_square(_shrunk(framing.matrix(face), size, 0.15), size, height, width)
            error = np.abs(pasted.astype(int) - photo)[inner].mean()
            assert error < interior_error, f"size {size}: mean error {error:.2f} inside"


def _shrunk(matrix: np.ndarray, size: int, margin: float) -> np.ndarray:
    """``matrix`` followed by a zoom about the square's centre, so that the returned
    square is the inner (1 - 2 * margin) part of the original one."""
    zoom = 1.0 / (1.0 - 2.0 * margin)
    centre = (size - 1) / 2.0
    about = np.array([[zoom, 0.0, centre * (1 - zoom)], [0.0, zoom, centre * (1 - zoom)],
                      [0.0, 0.0, 1.0]])
    return about @ matrix


def test_soft_edge_blends_and_hard_zero_outside():
    size = 10
    u = np.array([-0.6, -0.5, 0.0, 0.5, 4.5, 9.0, 9.5])
    weight = faces_lib.soft_edge(u, np.full_like(u, 4.5), size, feather=0.2)
    # Distance to the edge (u + 0.5, or 9.5 - u) over the 2 px of feather, clipped.
    np.testing.assert_allclose(weight, [0.0, 0.0, 0.25, 0.5, 1.0, 0.25, 0.0])


def test_group_photo_is_translated_face_by_face_and_nothing_else_changes(translator, group_faces):
    photo = group()
    (name, result), = translator.translate_all(photo, ["red"], align_faces=True)
    assert name == "red" and result.shape == photo.shape
    changed = np.any(result != photo, axis=2)
    squares = [inside_square(translator.framing.matrix(face), translator.image_size,
                             *photo.shape[:2]) for face in group_faces]
    assert not np.any(changed & ~np.logical_or.reduce(squares))
    for square in squares:
        assert changed[square].mean() > 0.5  # each face was translated
    # At the model's size: one image per face, G's output for that face.
    outputs = translator.translate_all(photo, ["red"], size="model", align_faces=True)
    assert [n for n, _ in outputs] == ["face0_red", "face1_red", "face2_red"]
    assert all(image.shape == (16, 16, 3) for _, image in outputs)


def test_photo_without_a_face_is_named_and_translated_by_its_centre_crop(
        translator, tmp_path, monkeypatch):
    path = png(tmp_path / "coffee.png", coffee())
    warnings = []
    monkeypatch.setattr(translator_lib.logging, "warning",
                        lambda message, *args: warnings.append(message % args))
    (_, result), = translator.translate_all(path, ["red"], align_faces=True)
    assert warnings == [f"{path}: no face found; translating its centre crop instead"]
    np.testing.assert_array_equal(result, translator.translate_all(path, ["red"],
                                                                   size="original")[0][1])
    with pytest.raises(NoFaceError, match=f"{path}: no face found"):
        translator.translate_all(path, ["red"], align_faces=True, no_face="skip")


def test_translate_files_with_faces_lists_photos_without_one(translator, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    paths = [png(inputs / "coffee.png", coffee()), png(inputs / "group.png", group())]
    for no_face, expected in (("center", ["coffee_red.png", "grid.png", "group_red.png"]),
                              ("skip", ["grid.png", "group_red.png"])):
        out = tmp_path / no_face
        result = translate_files(translator, paths, str(out), ["red"], align_faces=True,
                                 no_face=no_face)
        assert result["no_face"] == [paths[0]]
        assert sorted(os.listdir(out)) == expected
        grid = tf.io.decode_png(tf.io.read_file(str(out / "grid.png")))
        rows = 3 + (no_face == "center")  # a row per face, one for the centre crop
        assert grid.shape == (rows * 16, 2 * 16, 3)


@pytest.mark.slow
def test_cli_align_faces(run_dir, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    png(inputs / "coffee.png", coffee())
    png(inputs / "group.png", group())
    done = subprocess.run([sys.executable, "-m", "stargan_keras.translate", f"--run_dir={run_dir}",
                           f"--input={inputs}", f"--output={tmp_path / 'out'}", "--attrs=blue",
                           "--align_faces", "--no_face=skip"],
                          capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr
    assert f"{inputs / 'coffee.png'}: no face found" in done.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["grid.png", "group_blue.png"]
    written = tf.io.decode_png(tf.io.read_file(str(tmp_path / "out" / "group_blue.png")))
    assert written.shape == (512, 1536, 3)  # the photo's own size


def test_align_folder_keeps_names_and_reports_images_without_a_face(detector, tmp_path):
    inputs, out = tmp_path / "photos", tmp_path / "aligned"
    (inputs / "people").mkdir(parents=True)
    (inputs / "things").mkdir()
    (inputs / "people" / "astronaut.jpg").write_bytes(
        tf.io.encode_jpeg(astronaut(), quality=95).numpy())
    png(inputs / "people" / "group.png", group())
    png(inputs / "things" / "coffee.png", coffee())
    (inputs / "things" / "broken.png").write_bytes(b"not a png")
    result = align_folder(detector, str(inputs), str(out))
    assert result == {"written": ["people/astronaut.jpg", "people/group.png"],
                      "no_face": ["things/coffee.png"], "unreadable": ["things/broken.png"],
                      "several_faces": ["people/group.png"]}
    assert (out / "no_face.txt").read_text() == "things/coffee.png\nthings/broken.png\n"
    assert not (out / "things" / "coffee.png").exists()
    aligned = tf.io.decode_jpeg(tf.io.read_file(str(out / "people" / "astronaut.jpg"))).numpy()
    assert aligned.shape == (218, 178, 3)
    (face,) = detector(aligned)
    assert np.abs(face.landmarks[:2] - TEMPLATE_EYES).max() <= EYE_TOLERANCE_PX
    # Of the group, the largest face: the astronaut (in colour, unlike the cameraman).
    largest = tf.io.decode_png(tf.io.read_file(str(out / "people" / "group.png"))).numpy()
    assert np.abs(largest[..., 0].astype(int) - largest[..., 2]).mean() > 10
    (face,) = detector(largest)
    assert np.abs(face.landmarks[:2] - TEMPLATE_EYES).max() <= EYE_TOLERANCE_PX


@pytest.mark.slow
def test_align_faces_command_exits_with_the_report(tmp_path):
    inputs = tmp_path / "photos"
    inputs.mkdir()
    png(inputs / "coffee.png", coffee())
    command = [sys.executable, "-m", "tools.align_faces", f"--input={inputs}",
               f"--output={tmp_path / 'out'}"]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 1
    assert "1 image(s) without a face, not written: coffee.png" in done.stdout
    assert f"error: no face found in any image of --input={inputs}" in done.stderr
