"""Images/s of each input loader, and of a training step, at the same settings.

    python -m tools.bench_input                      # loaders at 128 px: one JSON line
    python -m tools.bench_input --train_cycles=2     # then a line timing training steps

Writes JPEG files in each dataset's real layout to a temporary folder (CelebA: 178 x 218
as img_align_celeba ships; RaFD: 681 x 1024 portraits; folder: a CSV of labels), then
times each source's ``train_examples`` batched as training reads it, after a warm-up.
The start-up check of the files (``image_files.check_images``) is timed per 1000 files.
With --train_cycles, one official training step (batch 16, n_critic 5, the official
networks) is timed on the synthetic source, giving the images/s training consumes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from PIL import Image

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.image_files import check_images
from stargan_keras.data.pipeline import training_batches
from stargan_keras.labels import LabelLayout

FLAGS = flags.FLAGS
flags.DEFINE_integer("image_size", 128, "Side of the images produced.")
flags.DEFINE_integer("files", 600, "Files written per dataset.")
flags.DEFINE_integer("images", 1500, "Images timed per loader (after a warm-up).")
flags.DEFINE_integer("batch_size", 16, "Batch size read, as in training.")
flags.DEFINE_integer("train_cycles", 0,
                     "Official training steps (n_critic iterations each) to time; 0 skips.")
flags.DEFINE_bool("deterministic", False,
                  "Enable op determinism first, as train --deterministic does.")

ATTRS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
RAFD = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")


def photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random picture: compresses like a photo (noise would not)."""
    coarse = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    picture = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
    return np.asarray(picture)


def write_datasets(root: str, count: int) -> dict[str, TrainConfig]:
    """CelebA, RaFD and folder layouts of ``count`` JPEGs each; their configs."""
    rng = np.random.default_rng(0)
    celeba_dir = os.path.join(root, "img_align_celeba")
    os.makedirs(celeba_dir)
    lines = [str(count), " ".join(ATTRS)]
    for i in range(count):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(photo(rng, 218, 178)).save(os.path.join(celeba_dir, name), quality=90)
        lines.append(name + " " + " ".join(rng.choice(["1", "-1"], len(ATTRS))))
    attr_path = os.path.join(root, "list_attr_celeba.txt")
    with open(attr_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    csv_path = os.path.join(root, "labels.csv")
    with open(csv_path, "w") as f:
        f.write("image," + ",".join(ATTRS) + "\n")
        f.writelines(line.replace(" ", ",").replace("-1", "0") + "\n" for line in lines[2:])
    rafd_dir = os.path.join(root, "rafd")
    for i in range(count):
        folder = os.path.join(rafd_dir, RAFD[i % len(RAFD)])
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(photo(rng, 1024, 681)).save(os.path.join(folder, f"{i:05d}.jpg"),
                                                    quality=90)
    size = FLAGS.image_size
    return {
        "celeba": TrainConfig(dataset="celeba", celeba_image_dir=celeba_dir,
                              attr_path=attr_path, image_size=size),
        "rafd": TrainConfig(dataset="rafd", rafd_image_dir=rafd_dir, image_size=size),
        "folder": TrainConfig(dataset="folder", image_dir=celeba_dir, attr_path=csv_path,
                              image_size=size),
        "synthetic": TrainConfig(dataset="synthetic", image_size=size),
    }


def loader_rate(config: TrainConfig) -> float:
    """Images/s of the source's training stream, batched as training reads it."""
    (source,) = make_sources(config)
    batches = source.train_examples(0).batch(FLAGS.batch_size).prefetch(tf.data.AUTOTUNE)
    iterator = iter(batches)
    for _ in range(3):
        next(iterator)
    steps = max(1, FLAGS.images // FLAGS.batch_size)
    started = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * FLAGS.batch_size / (time.perf_counter() - started)


def check_rate(config: TrainConfig) -> float:
    """Seconds per 1000 files of the start-up check."""
    paths = sorted(os.path.join(config.celeba_image_dir, f)
                   for f in os.listdir(config.celeba_image_dir))
    started = time.perf_counter()
    check_images(paths, config.celeba_crop_size, "bench")
    return (time.perf_counter() - started) / len(paths) * 1000


def train_rate(cycles: int) -> float:
    """Images/s consumed by official training steps (synthetic data, official networks)."""
    from stargan_keras.training.loop import build_model

    config = TrainConfig(dataset="synthetic", image_size=FLAGS.image_size)
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    model = build_model(config, layout)
    batches = iter(training_batches(sources, layout, config.batch_size, config.n_critic))
    step = tf.function(model.train_step)
    step(next(batches))  # trace and warm up
    started = time.perf_counter()
    for _ in range(cycles):
        logs = step(next(batches))
    float(logs["D/loss_real"])
    images = cycles * config.n_critic * config.batch_size
    return images / (time.perf_counter() - started)


def main(argv: list[str]) -> None:
    del argv
    logging.set_verbosity(logging.WARNING)
    if FLAGS.deterministic:
        tf.config.experimental.enable_op_determinism()
    results = {"image_size": FLAGS.image_size, "batch_size": FLAGS.batch_size,
               "cpu_cores": os.cpu_count(), "deterministic": FLAGS.deterministic,
               "loader_images_per_s": {}}
    with tempfile.TemporaryDirectory() as root:
        configs = write_datasets(root, FLAGS.files)
        results["check_seconds_per_1000_files"] = round(check_rate(configs["celeba"]), 3)
        for name, config in configs.items():
            results["loader_images_per_s"][name] = round(loader_rate(config), 1)
    print(json.dumps(results), flush=True)  # before the (slow) training measurement
    if FLAGS.train_cycles:
        rate = train_rate(FLAGS.train_cycles)
        slowest = min(results["loader_images_per_s"].values())
        print(json.dumps({"train_images_per_s": round(rate, 2),
                          "slowest_loader_over_training": round(slowest / rate, 1)}))


if __name__ == "__main__":
    app.run(main)
