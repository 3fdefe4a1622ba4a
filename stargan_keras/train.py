"""``python -m stargan_keras.train --flagfile=configs/synthetic.cfg``: flags in, train() out.

Every official StarGAN option keeps its official name and default; a flagfile may set
any of them. The work happens in ``training.loop.train``.
"""

from __future__ import annotations

from absl import app, flags, logging

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.config import (
    ADAM_EPSILONS,
    ADVERSARIAL_LOSSES,
    AUGMENTATIONS,
    DATASETS,
    PRECISIONS,
    STRATEGIES,
    UPSAMPLING,
    WEIGHT_INITS,
    TrainConfig,
)
from stargan_keras.runtime import keep_freed_memory, use_onednn

_DEFAULTS = TrainConfig()
FLAGS = flags.FLAGS

flags.DEFINE_enum("dataset", _DEFAULTS.dataset, DATASETS,
                  "Which data to train on: celeba, rafd, both (the two jointly, with the mask "
                  "vector), folder (your own images), or built-in data with exact answers: "
                  "the shapes (synthetic, synthetic_single, synthetic_both) or the faces "
                  "(faces with CelebA's attribute names, faces_expressions with RaFD's, "
                  "faces_both).")
flags.DEFINE_list("selected_attrs", list(_DEFAULTS.selected_attrs),
                  "Attributes to learn, for multi-label data (CelebA's defaults; unless told "
                  "otherwise, the synthetic data uses red,green,blue,square,large and "
                  "--dataset=folder every column of its labels file). An unknown name fails "
                  "with the list of valid ones.")
flags.DEFINE_integer("c_dim", 5, "Label count of the (first) dataset; follows the data "
                     "unless given, and an explicit value that disagrees is an error.")
flags.DEFINE_integer("c2_dim", 8, "Label count of the second dataset in joint training; "
                     "follows the data unless given.")
flags.DEFINE_string("tfds_data_dir", None,
                    "TensorFlow Datasets data_dir holding celeb_a in the array_record format; "
                    "instead of --celeba_image_dir and --attr_path.")
flags.DEFINE_string("celeba_image_dir", None,
                    "CelebA images in the official layout (img_align_celeba/); with --attr_path.")
flags.DEFINE_string("attr_path", None,
                    "Labels file: list_attr_celeba.txt, or for --dataset=folder that format "
                    "or a CSV/TSV with a header 'image,attr1,...' (values 1/0 or 1/-1).")
flags.DEFINE_string("rafd_image_dir", None, "RaFD images, one sub-folder per expression.")
flags.DEFINE_string("image_dir", None,
                    "Your own images, for --dataset=folder: with --attr_path, names in the "
                    "labels file are relative to it; without, one sub-folder per class.")
flags.DEFINE_integer("celeba_crop_size", _DEFAULTS.celeba_crop_size, "Center crop for CelebA.")
flags.DEFINE_integer("rafd_crop_size", _DEFAULTS.rafd_crop_size, "Center crop for RaFD.")
flags.DEFINE_integer("image_size", _DEFAULTS.image_size, "Image height and width.")
flags.DEFINE_integer("g_conv_dim", _DEFAULTS.g_conv_dim, "G's first-layer channels.")
flags.DEFINE_integer("d_conv_dim", _DEFAULTS.d_conv_dim, "D's first-layer channels.")
flags.DEFINE_integer("g_repeat_num", _DEFAULTS.g_repeat_num, "Residual blocks in G.")
flags.DEFINE_integer("d_repeat_num", _DEFAULTS.d_repeat_num, "Stride-2 convolutions in D.")
flags.DEFINE_float("lambda_cls", _DEFAULTS.lambda_cls, "Weight of the classification loss.")
flags.DEFINE_float("lambda_rec", _DEFAULTS.lambda_rec, "Weight of the reconstruction loss.")
flags.DEFINE_float("lambda_gp", _DEFAULTS.lambda_gp, "Weight of the gradient penalty.")
# The fast recipe (docs/recipes.md); each default is the official behaviour.
flags.DEFINE_enum("g_upsample", _DEFAULTS.g_upsample, UPSAMPLING,
                  "G's decoder: transposed convolutions (official), or resize then convolve.")
flags.DEFINE_bool("g_attention", _DEFAULTS.g_attention,
                  "G outputs mask * colour + (1 - mask) * input (GANimation).")
flags.DEFINE_bool("g_skip", _DEFAULTS.g_skip,
                  "One skip connection from G's full-resolution stem to its last convolution.")
flags.DEFINE_float("lambda_mask", _DEFAULTS.lambda_mask,
                   "Weight of the attention mask regulariser E[1 - mask] (needs --g_attention).")
flags.DEFINE_enum("adv_loss", _DEFAULTS.adv_loss, ADVERSARIAL_LOSSES,
                  "wgan-gp (official) or r1: non-saturating loss with the R1 penalty on reals.")
flags.DEFINE_float("lambda_r1", _DEFAULTS.lambda_r1, "Weight of the R1 penalty (--adv_loss=r1).")
flags.DEFINE_float("lambda_cls_r1", _DEFAULTS.lambda_cls_r1,
                   "Weight of R1 on D's classifier: the gradient of the classification loss "
                   "on real images (needs --adv_loss=r1; 0: off).")
flags.DEFINE_float("g_ema_decay", _DEFAULTS.g_ema_decay,
                   "Decay of the moving average of G's weights used for samples, evaluation, "
                   "translation and export; 0 turns it off (official).")
flags.DEFINE_list("diff_augment", list(_DEFAULTS.diff_augment),
                  f"Differentiable augmentations of everything D sees: some of "
                  f"{', '.join(AUGMENTATIONS)}; empty for none (official).")
flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size,
                     "Images per iteration on each replica (the global batch is this times the "
                     "number of replicas).")
flags.DEFINE_integer("num_iters", _DEFAULTS.num_iters, "Training iterations (D updates).")
flags.DEFINE_integer("num_iters_decay", _DEFAULTS.num_iters_decay,
                     "Iterations at the end over which the learning rates decay linearly to 0.")
flags.DEFINE_float("g_lr", _DEFAULTS.g_lr, "G's learning rate.")
flags.DEFINE_float("d_lr", _DEFAULTS.d_lr, "D's learning rate.")
flags.DEFINE_integer("n_critic", _DEFAULTS.n_critic, "D updates per G update.")
flags.DEFINE_float("beta1", _DEFAULTS.beta1, "Adam beta1.")
flags.DEFINE_float("beta2", _DEFAULTS.beta2, "Adam beta2.")
flags.DEFINE_enum("adam_epsilon", _DEFAULTS.adam_epsilon, ADAM_EPSILONS,
                  "official: PyTorch's Adam (epsilon 1e-8 added to the bias-corrected "
                  "sqrt(v)); keras: keras.optimizers.Adam (epsilon-hat 1e-7).")
flags.DEFINE_enum("weight_init", _DEFAULTS.weight_init, WEIGHT_INITS,
                  "official: PyTorch's default initialisation, as the official code; keras: "
                  "glorot_uniform kernels and zero biases.")
flags.DEFINE_integer("resume_iters", None,
                     "Resume from this iteration's checkpoint (default: the latest, if any).")
flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of data order, targets and penalty weights.")
flags.DEFINE_bool("deterministic", _DEFAULTS.deterministic,
                  "TensorFlow op determinism: a killed and resumed run ends bit-identical to an "
                  "uninterrupted one (slower).")
flags.DEFINE_enum("strategy", _DEFAULTS.strategy, STRATEGIES,
                  "tf.distribute strategy: default (one device), mirrored (all GPUs, or "
                  "--cpu_devices), multi_worker (TF_CONFIG), tpu (--tpu).")
flags.DEFINE_integer("cpu_devices", _DEFAULTS.cpu_devices,
                     "Split the CPU into this many logical devices (for mirrored on a CPU).")
flags.DEFINE_string("tpu", _DEFAULTS.tpu, "TPU name or grpc:// address for --strategy=tpu.")
flags.DEFINE_enum("mixed_precision", _DEFAULTS.mixed_precision, PRECISIONS,
                  "Compute precision of G and D: float32, or bfloat16 / float16 with float32 "
                  "variables and losses (float16 with dynamic loss scaling, for GPUs).")
flags.DEFINE_bool("jit_compile", _DEFAULTS.jit_compile,
                  "Compile the training step with XLA (slower on the CPUs measured; for GPUs).")
flags.DEFINE_string("run_dir", _DEFAULTS.run_dir,
                    "Folder of this run: checkpoints, TensorBoard logs, sample grids.")
flags.DEFINE_integer("log_step", _DEFAULTS.log_step, "Iterations between loss logs.")
flags.DEFINE_integer("sample_step", _DEFAULTS.sample_step, "Iterations between sample grids.")
flags.DEFINE_integer("model_save_step", _DEFAULTS.model_save_step,
                     "Iterations between checkpoints.")
flags.DEFINE_integer("keep_checkpoints", _DEFAULTS.keep_checkpoints,
                     "How many of the latest checkpoints to keep.")
flags.DEFINE_integer("num_sample_images", _DEFAULTS.num_sample_images,
                     "Fixed validation images per dataset in each sample grid.")
flags.DEFINE_integer("num_eval_images", _DEFAULTS.num_eval_images,
                     "Held-out images per dataset for the synthetic translation error.")
flags.DEFINE_integer("eval_step", _DEFAULTS.eval_step,
                     "Iterations between evaluations of translations on the held-out images "
                     "(reconstruction, synthetic ground-truth error, classification with "
                     "--eval_classifier) logged to TensorBoard; 0 for none.")
flags.DEFINE_string("eval_classifier", _DEFAULTS.eval_classifier,
                    "Classifier directory (stargan_keras.train_classifier) judging translations "
                    "during training, with --eval_step.")


def config_from_flags() -> TrainConfig:
    """A TrainConfig from the parsed flags; unset label counts follow the data."""
    values = {name: FLAGS[name].value for name in TrainConfig.__dataclass_fields__}
    values["selected_attrs"] = tuple(values["selected_attrs"])
    values["diff_augment"] = tuple(values["diff_augment"])
    for name in ("c_dim", "c2_dim"):
        if not FLAGS[name].present:
            values[name] = None
    return TrainConfig(**values)


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    use_onednn(True)  # 5x faster D updates on AVX2 CPUs; before TensorFlow is imported
    if keep_freed_memory():  # before the big allocations start
        logging.info("malloc: keeping freed memory for the next step (no mmap, no trim)")
    from stargan_keras.training.loop import train  # imports TensorFlow: after flag parsing

    with user_errors():
        train(config_from_flags())


if __name__ == "__main__":
    app.run(main)
