"""``python -m stargan_keras.evaluate --run_dir=RUN --classifier=CLS --output=REPORT``.

Measures one checkpoint of a run (see ``evaluate_lib``) and writes metrics.json,
report.md, PNG charts and TensorBoard scalars to --output (see ``report``).
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
        metrics = evaluate(FLAGS.run_dir, FLAGS.classifier, overrides=data_overrides(),
                           num_images=FLAGS.num_images, seed=FLAGS.seed,
                           inception_weights=FLAGS.inception_weights,
                           inception_size=FLAGS.inception_size, iteration=FLAGS.iteration,
                           batch=FLAGS.batch_size)
    paths = write_report(metrics, FLAGS.output)
    cls = metrics["classification"]
    print(f"classification error of translations {100 * cls['error']:.2f}% "
          f"(classifier on real images {100 * cls['floor']:.2f}%); report: {paths[1]}")


if __name__ == "__main__":
    app.run(main)
