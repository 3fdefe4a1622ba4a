"""tools/write_faces: the built-in faces as files, read back by the package's own readers."""

import functools
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from stargan_keras.data.celeba import celeba_folder_source
from stargan_keras.data.faces import ATTRIBUTES, EXPRESSIONS, SyntheticFaces
from stargan_keras.data.folder import folder_source
from stargan_keras.data.rafd import rafd_source
from stargan_keras.errors import UserError
from tools.write_faces import face_source, painted_faces, prepare_output, write_faces

N, SIZE = 24, 32  # 24: the first 24 training faces show all eight expressions
JPEG_MAE = 0.03  # mean absolute error in [-1, 1] units of a quality-95 JPEG at 32 px


@functools.cache
def _painted(file_format: str, split: str = "train"):
    """The painted faces a format's files hold: uint8 images, labels, male, as arrays."""
    blocks = painted_faces(face_source(file_format, SIZE, 0), split, N)
    return [np.concatenate(parts) for parts in zip(*blocks)]


def _read_back(source) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{path: (image in [-1, 1], labels)} of every image a file source reads, both splits."""
    found = {}
    for part in (source.train, source.held_out_images):
        for path, labels in zip(part.paths, part.labels):
            found[str(path)] = (source.load(tf.constant(path)).numpy(), labels)
    return found


def _check_images(found, paths, images, tolerance):
    errors = [np.abs(found[path][0] - (image / 127.5 - 1.0)).mean()
              for path, image in zip(paths, images)]
    assert max(errors) < tolerance, errors


def test_the_faces_are_the_training_stream_and_the_held_out_split():
    images, labels, male = _painted("celeba")
    assert images.shape == (N, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert labels.shape == (N, len(ATTRIBUTES)) and male.shape == (N,)
    # The training stream of a pool of N faces shows each of them once per epoch, shuffled.
    pool = SyntheticFaces("faces", SIZE, 0, ATTRIBUTES, train_faces=N)
    streamed = [(np.round((image.numpy() + 1) * 127.5).astype(np.uint8).tobytes(),
                 tuple(label.numpy())) for image, label in pool.train_examples().take(N)]
    assert sorted(streamed) == sorted(
        (image.tobytes(), tuple(label)) for image, label in zip(images, labels))
    # Held out: the split the in-training evaluation paints, the scene for scene.
    held_images, held_labels, _ = _painted("rafd", "held_out")
    expected_images, expected_labels, scenes = SyntheticFaces(
        "faces_expressions", SIZE, 0).held_out(N)
    np.testing.assert_array_equal(held_labels, expected_labels.numpy())
    np.testing.assert_allclose(held_images / 127.5 - 1.0, expected_images.numpy(), atol=1 / 127.5)


def test_celeba_layout_reads_back_through_the_celeba_reader(tmp_path):
    rows = write_faces(str(tmp_path), "celeba", N, SIZE)
    assert [path for path, _ in rows] == [f"images/{i:06d}.jpg" for i in range(1, N + 1)]
    lines = (tmp_path / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[:3] == [str(N), "Black_Hair Blond_Hair Brown_Hair Male Young Eyeglasses",
                         "000001.jpg -1  1 -1  1  1 -1"]
    assert len(lines) == N + 2
    images, labels, _ = _painted("celeba")
    # The default --celeba_crop_size (178) is clipped to the whole 32 px face.
    source = celeba_folder_source(str(tmp_path / "images"), str(tmp_path / "list_attr_celeba.txt"),
                                  ATTRIBUTES, crop_size=178, image_size=SIZE, seed=0)
    assert source.label_set.names == ATTRIBUTES
    assert source.label_set.exclusive == (("Black_Hair", "Blond_Hair", "Brown_Hair"),)
    found = _read_back(source)
    paths = [str(tmp_path / "images" / f"{i:06d}.jpg") for i in range(1, N + 1)]
    assert sorted(found) == paths
    np.testing.assert_array_equal(np.stack([found[p][1] for p in paths]), labels)
    _check_images(found, paths, images, JPEG_MAE)


def test_rafd_layout_reads_back_through_the_rafd_reader(tmp_path):
    rows = write_faces(str(tmp_path), "rafd", N, SIZE)
    images, labels, male = _painted("rafd")
    expressions = [EXPRESSIONS[i] for i in labels.argmax(axis=1)]
    genders = np.where(male, "male", "female")
    names = [f"{e}/Rafd090_{i + 1:02d}_Synthetic_{g}_{e}_frontal.jpg"
             for i, (e, g) in enumerate(zip(expressions, genders))]
    assert [path for path, _ in rows] == names
    assert names[0] == "surprised/Rafd090_01_Synthetic_male_surprised_frontal.jpg"
    source = rafd_source(str(tmp_path), 256, SIZE, seed=0)  # the default --rafd_crop_size
    assert source.label_set.names == EXPRESSIONS and not source.label_set.multi_label
    found = _read_back(source)
    paths = [str(tmp_path / name) for name in names]
    assert sorted(found) == sorted(paths)
    np.testing.assert_array_equal(np.stack([found[p][1] for p in paths]), labels)
    _check_images(found, paths, images, JPEG_MAE)


def test_folder_layout_reads_back_exactly_through_the_folder_reader(tmp_path):
    write_faces(str(tmp_path), "folder", N, SIZE)
    lines = (tmp_path / "labels.csv").read_text().splitlines()
    assert lines[:2] == ["image,Black_Hair,Blond_Hair,Brown_Hair,Male,Young,Eyeglasses",
                         "000001.png,0,1,0,1,1,0"]
    assert len(lines) == N + 1
    images, labels, _ = _painted("folder")
    source = folder_source(str(tmp_path / "images"), str(tmp_path / "labels.csv"), None, SIZE,
                           seed=0)
    assert source.label_set.names == ATTRIBUTES
    found = _read_back(source)
    paths = [str(tmp_path / "images" / f"{i:06d}.png") for i in range(1, N + 1)]
    assert sorted(found) == paths
    np.testing.assert_array_equal(np.stack([found[p][1] for p in paths]), labels)
    _check_images(found, paths, images, 1e-6)  # PNG: exact


def test_only_an_empty_folder_or_the_tools_own_files_are_replaced(tmp_path):
    out = tmp_path / "faces"
    prepare_output(str(out), overwrite=False)  # created
    (out / "images").mkdir()
    (out / "images" / "000001.png").write_bytes(b"old")
    (out / "labels.csv").write_text("image,Male\n000001.png,1\n")
    with pytest.raises(UserError, match=f"--output={out} is not empty; .* --overwrite"):
        prepare_output(str(out), overwrite=False)
    prepare_output(str(out), overwrite=True)
    assert os.listdir(out) == []
    (out / "happy").mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds notes.txt, which this tool does not write"):
        prepare_output(str(out), overwrite=True)
    assert sorted(os.listdir(out)) == ["happy", "notes.txt"]
    with pytest.raises(UserError, match="--format=png: expected one of celeba, rafd, folder"):
        write_faces(str(tmp_path / "other"), "png", N, SIZE)
    with pytest.raises(UserError, match="--num_images=1: at least 2"):
        write_faces(str(tmp_path / "other"), "rafd", 1, SIZE)
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_command_refuses_a_folder_with_files_in_one_line(tmp_path):
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "labels.csv").write_text("image,Male\n")
    command = [sys.executable, "-m", "tools.write_faces", f"--output={tmp_path / 'faces'}",
               "--format=folder", "--num_images=4"]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: --output={tmp_path / 'faces'} is not empty; choose another "
                      "folder, or pass --overwrite to replace the faces written there"]
    assert "Traceback" not in done.stderr
    assert os.listdir(tmp_path / "faces") == ["labels.csv"]
