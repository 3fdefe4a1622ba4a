"""Training configuration: the official StarGAN options under their official names."""

from __future__ import annotations

import dataclasses
import os

from stargan_keras.errors import MissingFileError, UserError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "bfloat16", "float16")
SYNTHETIC_DATASETS = ("synthetic", "synthetic_single", "synthetic_both")
FACE_DATASETS = ("faces", "faces_expressions", "faces_both")
# Built-in data whose sources render the exact truth of any translation (data/rendered.py).
RENDERED_DATASETS = SYNTHETIC_DATASETS + FACE_DATASETS
DATASETS = ("celeba", "rafd", "both", "folder") + RENDERED_DATASETS

ADVERSARIAL_LOSSES = ("wgan-gp", "r1")
UPSAMPLING = ("transpose", "nearest", "bilinear")
AUGMENTATIONS = ("translation", "cutout")
# The official code's choice first (docs/official_differences.md).
WEIGHT_INITS = ("official", "keras")
ADAM_EPSILONS = ("official", "keras")

# The options that fix the shape of the networks: a checkpoint only fits a model built
# with the same values. Runs recorded before an option existed had its default.
MODEL_KEYS = ("image_size", "g_conv_dim", "d_conv_dim", "g_repeat_num", "d_repeat_num",
              "g_upsample", "g_attention", "g_skip")
MODEL_DEFAULTS = {"g_upsample": "transpose", "g_attention": False, "g_skip": False}


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run; defaults are the official code's (CelebA, 128 px).

    ``c_dim`` and ``c2_dim`` are None to take the label counts from the data; a number
    that disagrees with the data is an error rather than a silent override.
    """

    # Data.
    dataset: str = "synthetic"
    selected_attrs: tuple[str, ...] = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    tfds_data_dir: str | None = None
    celeba_image_dir: str | None = None
    attr_path: str | None = None
    rafd_image_dir: str | None = None
    image_dir: str | None = None
    celeba_crop_size: int = 178
    rafd_crop_size: int = 256
    image_size: int = 128
    c_dim: int | None = None
    c2_dim: int | None = None
    # Model.
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6
    d_repeat_num: int = 6
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    # The fast recipe's options (docs/recipes.md); the defaults are the official code's.
    g_upsample: str = "transpose"
    g_attention: bool = False
    g_skip: bool = False
    lambda_mask: float = 0.0
    adv_loss: str = "wgan-gp"
    lambda_r1: float = 1.0
    lambda_cls_r1: float = 0.0
    g_ema_decay: float = 0.0
    diff_augment: tuple[str, ...] = ()
    # Training.
    batch_size: int = 16
    num_iters: int = 200000
    num_iters_decay: int = 100000
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    n_critic: int = 5
    beta1: float = 0.5
    beta2: float = 0.999
    adam_epsilon: str = "official"
    weight_init: str = "official"
    resume_iters: int | None = None
    seed: int = 0
    deterministic: bool = False
    # Distribution.
    strategy: str = "default"
    cpu_devices: int = 0
    tpu: str | None = None
    # Speed: compute precision of the networks ("float32", "bfloat16", "float16") and XLA.
    mixed_precision: str = "float32"
    jit_compile: bool = False
    # Run directory and monitoring.
    run_dir: str = "runs/default"
    log_step: int = 10
    sample_step: int = 1000
    model_save_step: int = 10000
    keep_checkpoints: int = 3
    num_sample_images: int = 8
    num_eval_images: int = 256
    eval_step: int = 0
    eval_classifier: str | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first option whose value cannot work."""
        if self.cpu_devices < 0:
            raise UserError(f"--cpu_devices={self.cpu_devices}: must not be negative")
        if self.mixed_precision not in PRECISIONS:
            raise UserError(f"--mixed_precision={self.mixed_precision!r}: expected one of "
                            f"{', '.join(PRECISIONS)}")
        if self.dataset not in DATASETS:
            raise UserError(f"--dataset={self.dataset!r}: expected one of {', '.join(DATASETS)}")
        self.validate_data_paths()
        for name, allowed in (("g_upsample", UPSAMPLING), ("adv_loss", ADVERSARIAL_LOSSES),
                              ("weight_init", WEIGHT_INITS), ("adam_epsilon", ADAM_EPSILONS)):
            if getattr(self, name) not in allowed:
                raise UserError(f"--{name}={getattr(self, name)!r}: expected one of "
                                f"{', '.join(allowed)}")
        for policy in self.diff_augment:
            if policy not in AUGMENTATIONS:
                raise UserError(f"--diff_augment={','.join(self.diff_augment)}: unknown "
                                f"{policy!r}; expected some of {', '.join(AUGMENTATIONS)}")
        if not 0 <= self.g_ema_decay < 1:
            raise UserError(f"--g_ema_decay={self.g_ema_decay}: must be in [0, 1) (0: off)")
        if self.lambda_cls_r1 and self.adv_loss != "r1":
            raise UserError("--lambda_cls_r1 is part of the R1 penalty: it needs --adv_loss=r1")
        for name in ("lambda_mask", "lambda_r1", "lambda_cls_r1"):
            if getattr(self, name) < 0:
                raise UserError(f"--{name}={getattr(self, name)}: must not be negative")
        if self.lambda_mask and not self.g_attention:
            raise UserError("--lambda_mask regularises the attention mask: it needs "
                            "--g_attention")
        positive = ("image_size", "g_conv_dim", "d_conv_dim", "batch_size", "num_iters",
                    "n_critic", "log_step", "sample_step", "model_save_step",
                    "keep_checkpoints", "num_sample_images", "num_eval_images")
        for name in positive:
            if getattr(self, name) <= 0:
                raise UserError(f"--{name}={getattr(self, name)}: must be positive")
        for name in ("g_repeat_num", "d_repeat_num", "num_iters_decay"):
            if getattr(self, name) < 0:
                raise UserError(f"--{name}={getattr(self, name)}: must not be negative")
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name}={getattr(self, name)}: must be positive")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise UserError(f"--{name}={getattr(self, name)}: must be in [0, 1)")
        if self.image_size % 4:
            raise UserError(f"--image_size={self.image_size}: G needs a multiple of 4")
        if self.image_size % 2**self.d_repeat_num:
            raise UserError(f"--image_size={self.image_size} is not divisible by "
                            f"2**d_repeat_num = {2**self.d_repeat_num}")
        if self.num_iters_decay > self.num_iters:
            raise UserError(f"--num_iters_decay={self.num_iters_decay} exceeds "
                            f"--num_iters={self.num_iters}")
        # One train_step is one n_critic cycle, so every schedule counts whole cycles.
        for name in ("num_iters", "log_step", "sample_step", "model_save_step"):
            if getattr(self, name) % self.n_critic:
                raise UserError(f"--{name}={getattr(self, name)} is not a multiple of "
                                f"--n_critic={self.n_critic}")
        if self.resume_iters is not None and self.resume_iters % self.n_critic:
            raise UserError(f"--resume_iters={self.resume_iters} is not a multiple of "
                            f"--n_critic={self.n_critic}")
        if self.eval_step < 0 or self.eval_step % self.n_critic:
            raise UserError(f"--eval_step={self.eval_step}: must be 0 (off) or a positive "
                            f"multiple of --n_critic={self.n_critic}")
        if self.eval_classifier and not self.eval_step:
            raise UserError("--eval_classifier needs --eval_step > 0 to have an effect")

    def validate_data_paths(self) -> None:
        """The folders and files the dataset reads must be given and exist."""
        needed = []  # (flag, is a folder)
        if self.dataset in ("celeba", "both"):
            if self.tfds_data_dir is not None:
                if self.celeba_image_dir is not None:
                    raise UserError("give CelebA either as --tfds_data_dir or as "
                                    "--celeba_image_dir with --attr_path, not both")
                needed.append(("tfds_data_dir", True))
            else:
                needed += [("celeba_image_dir", True), ("attr_path", False)]
        if self.dataset in ("rafd", "both"):
            needed.append(("rafd_image_dir", True))
        if self.dataset == "folder":
            needed.append(("image_dir", True))
            if self.attr_path is not None:
                needed.append(("attr_path", False))
        for name, is_folder in needed:
            path = getattr(self, name)
            if path is None:
                raise UserError(f"--dataset={self.dataset} needs --{name}")
            if is_folder and not os.path.isdir(path):
                raise MissingFileError(f"--{name}={path}: no such folder")
            if not is_folder and not os.path.isfile(path):
                raise MissingFileError(f"--{name}={path}: no such file")
        if self.dataset in ("celeba", "rafd", "both"):
            for name in ("celeba_crop_size", "rafd_crop_size"):
                if getattr(self, name) <= 0:
                    raise UserError(f"--{name}={getattr(self, name)}: must be positive")

    def model_shape(self) -> dict:
        return {k: getattr(self, k) for k in MODEL_KEYS}

    def to_json(self) -> dict:
        return dataclasses.asdict(self)
