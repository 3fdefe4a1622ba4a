"""``python -m stargan_keras.evaluate --run_dir=RUN --classifier=CLS --output=REPORT``.

Measures one checkpoint of a run (see ``evaluation.evaluate_run``) and writes metrics.json,
report.md, PNG charts and TensorBoard scalars to --output (see ``evaluation.report``).
``--second_classifier=CLS2`` adds a second judge and where the two disagree.
"""

from __future__ import annotations

from absl import app, flags

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.data_flags import data_overrides, define_data_flags
from stargan_keras.runtime import onednn_helps, use_onednn

FLAGS = flags.FLAGS

flags.DEFINE_string("run_dir", None, "The training run to evaluate.", required=True)
flags.DEFINE_string("classifier", None,
                    "Classifier directory from stargan_keras.train_classifier.", required=True)
flags.DEFINE_string("second_classifier", None,
                    "A second classifier directory, best of another architecture "
                    "(train_classifier --arch=convnet beside a ResNet): its verdicts and the "
                    "share of translations on which the two classifiers disagree.")
flags.DEFINE_string("output", None, "Folder for the report.", required=True)
define_data_flags(None, "Evaluate on this dataset instead of the run's (e.g. one dataset of "
                  "a joint run); data path flags override the run's paths.")
flags.DEFINE_integer("num_images", 1000, "Held-out images per dataset.")
flags.DEFINE_integer("seed", 0, "Seed of the KID subsets.")
flags.DEFINE_string("inception_weights", None,
                    "InceptionV3 weights file (no top) for FID/KID; without it the classifier's "
                    "penultimate features are used.")
flags.DEFINE_integer("inception_size", 299, "InceptionV3 input side.")
flags.DEFINE_integer("iteration", None, "Checkpoint iteration (default: the latest).")
flags.DEFINE_integer("batch_size", 64, "Images per generator call.")


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    use_onednn(onednn_helps(FLAGS.batch_size))  # before TensorFlow is imported
    from stargan_keras.evaluation.evaluate_run import evaluate  # imports TensorFlow
    from stargan_keras.evaluation.report import write_report

    with user_errors():
        metrics = evaluate(FLAGS.run_dir, FLAGS.classifier,
                           second_classifier_dir=FLAGS.second_classifier,
                           overrides=data_overrides(),
                           num_images=FLAGS.num_images, seed=FLAGS.seed,
                           inception_weights=FLAGS.inception_weights,
                           inception_size=FLAGS.inception_size, iteration=FLAGS.iteration,
                           batch=FLAGS.batch_size)
    paths = write_report(metrics, FLAGS.output)
    cls = metrics["classification"]
    print(f"classification error of translations {100 * cls['error']:.2f}% "
          f"(classifier on real images {100 * cls['floor']:.2f}%); report: {paths[1]}")
    if "classifier_disagreement" in metrics:
        second = metrics["classification_second"]
        print(f"second classifier: classification error {100 * second['error']:.2f}% "
              f"(on real images {100 * second['floor']:.2f}%); the classifiers disagree on "
              f"the target label in {100 * metrics['classifier_disagreement']['mean']:.2f}% "
              "of translations")


if __name__ == "__main__":
    app.run(main)
