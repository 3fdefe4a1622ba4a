"""``python -m stargan_keras.convert_official --generator 200000-G.ckpt --run_dir RUN``.

Turns the official StarGAN PyTorch checkpoints into a run directory that translate,
evaluate and the exporters take like a trained one. Needs the ``[convert]`` extra
(PyTorch). The work happens in ``official_weights.convert``.

Loading a PyTorch checkpoint unpickles it; it is read with ``weights_only=True``, but
only convert checkpoints from sources you trust.
"""

from __future__ import annotations

from absl import app, flags

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.config import TrainConfig

FLAGS = flags.FLAGS

flags.DEFINE_string("generator", None, "The official generator checkpoint, e.g. 200000-G.ckpt.")
flags.DEFINE_string("discriminator", None,
                    "The official discriminator checkpoint, e.g. 200000-D.ckpt (optional; "
                    "without it the run's checkpoint holds G only).")
flags.DEFINE_string("run_dir", None, "The run directory to create.")
flags.DEFINE_integer("image_size", None,
                     "Resolution the checkpoints were trained at (128 or 256 for the published "
                     "ones); implied by the discriminator, required without it.")
flags.DEFINE_list("selected_attrs", list(TrainConfig().selected_attrs),
                  "The CelebA attributes the checkpoints were trained on, in label order "
                  "(the published models' five by default).")
flags.DEFINE_integer("c_dim", None, "Label count; read from the checkpoint, checked if given.")
flags.DEFINE_integer("g_conv_dim", None, "G's first-layer channels; read from the checkpoint.")
flags.DEFINE_integer("d_conv_dim", None, "D's first-layer channels; read from the checkpoint "
                     "(official default 64 without one).")
flags.DEFINE_integer("g_repeat_num", None, "G's residual blocks; read from the checkpoint.")
flags.DEFINE_integer("d_repeat_num", None, "D's stride-2 convolutions; read from the "
                     "checkpoint (official default 6 without one).")
flags.DEFINE_integer("iteration", None,
                     "Number of the written checkpoint; by default read from the file name "
                     "(200000 for 200000-G.ckpt).")
flags.mark_flags_as_required(["generator", "run_dir"])


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    from stargan_keras.official.weights import convert  # imports TensorFlow: after flags

    with user_errors():
        path = convert(FLAGS.generator, FLAGS.run_dir, FLAGS.discriminator,
                       image_size=FLAGS.image_size, selected_attrs=FLAGS.selected_attrs,
                       c_dim=FLAGS.c_dim, g_conv_dim=FLAGS.g_conv_dim,
                       d_conv_dim=FLAGS.d_conv_dim, g_repeat_num=FLAGS.g_repeat_num,
                       d_repeat_num=FLAGS.d_repeat_num, iteration=FLAGS.iteration)
    print(path)


if __name__ == "__main__":
    app.run(main)
