"""``python -m stargan_keras.train_classifier --dataset=... --run_dir=CLS``.

Trains the evaluation classifier on real training images only, records its error on
real held-out images and saves CLS/classifier.keras and CLS/classifier.json; see
``stargan_keras.evaluation.classifier``. ``stargan_keras.evaluate --classifier=CLS`` uses it.
"""

from __future__ import annotations

from absl import app, flags

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.config import RENDERED_DATASETS, TrainConfig
from stargan_keras.data_flags import data_overrides, define_data_flags
from stargan_keras.runtime import use_onednn

FLAGS = flags.FLAGS

define_data_flags("synthetic", "The data whose label sets the classifier learns.")
flags.DEFINE_string("run_dir", None, "Folder to write the classifier to.", required=True)
flags.DEFINE_integer("image_size", 128, "Image height and width; use the run's --image_size.")
flags.DEFINE_integer("celeba_crop_size", TrainConfig.celeba_crop_size, "Center crop for CelebA.")
flags.DEFINE_integer("rafd_crop_size", TrainConfig.rafd_crop_size, "Center crop for RaFD.")
flags.DEFINE_enum("arch", None, ["resnet18", "small", "convnet"],
                  "Network: resnet18 (the paper's size), small (a small ResNet) or convnet "
                  "(a plain VGG-style stack, no residual connections: a second judge of "
                  "another family for evaluate --second_classifier); default small for the "
                  "built-in rendered data, resnet18 otherwise.")
flags.DEFINE_integer("num_steps", 2000, "Training steps.")
flags.DEFINE_integer("batch_size", 32, "Images per dataset per step.")
flags.DEFINE_float("lr", 1e-3, "Adam learning rate.")
flags.DEFINE_integer("num_test_images", 2000,
                     "Held-out real images per dataset for the classifier's own error.")
flags.DEFINE_integer("seed", 0, "Seed of the data and of the initial weights.")


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    use_onednn(True)  # training, as stargan_keras.train; before TensorFlow is imported
    from stargan_keras.data import make_sources
    from stargan_keras.evaluation.classifier_training import train_and_save  # imports TensorFlow

    with user_errors():
        config = TrainConfig(image_size=FLAGS.image_size, celeba_crop_size=FLAGS.celeba_crop_size,
                             rafd_crop_size=FLAGS.rafd_crop_size, seed=FLAGS.seed,
                             **data_overrides())
        # Only the data options matter here (validate() also checks the GAN options).
        config.validate_data_paths()
        arch = FLAGS.arch or ("small" if config.dataset in RENDERED_DATASETS else "resnet18")
        classifier = train_and_save(
            make_sources(config), FLAGS.run_dir, dataset=config.dataset, arch=arch,
            image_size=config.image_size, num_steps=FLAGS.num_steps,
            batch_size=FLAGS.batch_size, learning_rate=FLAGS.lr,
            num_test_images=FLAGS.num_test_images, seed=FLAGS.seed)
    for name, result in classifier.info["real_test_error"].items():
        print(f"{name}: real-test error {100 * result['error']:.2f}% "
              f"on {result['num_images']} images")


if __name__ == "__main__":
    app.run(main)
