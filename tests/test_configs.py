"""The shipped configs: each parses into a valid TrainConfig; the paper's recipe stays the
default of the real-data configs, and the fast configs carry the fast recipe."""

import glob
import json
import os
import subprocess
import sys

import pytest

from stargan_keras.config import TrainConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER = ("celeba.cfg", "rafd.cfg", "both.cfg", "synthetic_paper.cfg", "synthetic_both.cfg")
FAST = ("synthetic.cfg", "faces.cfg", "celeba_fast.cfg", "rafd_fast.cfg")
OFFICIAL_OBJECTIVES = dict(adv_loss="wgan-gp", n_critic=5, lambda_cls=1.0, lambda_rec=10.0,
                           lambda_gp=10.0, g_upsample="transpose", g_attention=False,
                           g_skip=False, lambda_mask=0.0, lambda_cls_r1=0.0, g_ema_decay=0.0,
                           diff_augment=(), beta1=0.5, beta2=0.999, weight_init="official",
                           adam_epsilon="official")

FAST_RECIPE = ("g_attention", "lambda_mask", "g_upsample", "g_ema_decay")

PARSE = """
import json, sys
from stargan_keras import train
train.FLAGS(["train"] + sys.argv[1:])
print(json.dumps(train.config_from_flags().to_json()))
"""


def parsed(name: str) -> TrainConfig:
    done = subprocess.run([sys.executable, "-c", PARSE, f"--flagfile=configs/{name}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    values = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("selected_attrs", "diff_augment"):
        values[key] = tuple(values[key])
    return TrainConfig(**values)


def test_every_config_is_listed_here():
    names = {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "configs", "*.cfg"))}
    assert names == set(PAPER + FAST)


@pytest.mark.parametrize("name", PAPER)
def test_paper_configs_keep_the_official_objectives(name):
    config = parsed(name)
    for key, value in OFFICIAL_OBJECTIVES.items():
        assert getattr(config, key) == value, key
    if name in ("celeba.cfg", "rafd.cfg", "both.cfg"):
        assert (config.g_lr, config.d_lr, config.num_iters, config.num_iters_decay,
                config.batch_size, config.g_conv_dim, config.d_conv_dim) == (
            1e-4, 1e-4, 200000, 100000, 16, 64, 64)


@pytest.mark.parametrize("name", FAST)
def test_fast_configs_carry_the_fast_recipe_and_validate(name, tmp_path):
    # The fast recipe: the paper's objectives plus G's attention mask (with its
    # regulariser), the resize decoder and the moving average of G's weights.
    config = parsed(name)
    for key, value in OFFICIAL_OBJECTIVES.items():
        if key not in FAST_RECIPE:
            assert getattr(config, key) == value, key
    assert config.g_attention and config.lambda_mask > 0 and config.g_ema_decay > 0
    assert config.g_upsample == "nearest"
    # Real-data configs name data folders that a test machine lacks: point them here.
    paths = {}
    for field in ("celeba_image_dir", "rafd_image_dir", "image_dir"):
        if getattr(config, field):
            paths[field] = str(tmp_path)
    if config.attr_path:
        (tmp_path / "attrs.txt").write_text("")
        paths["attr_path"] = str(tmp_path / "attrs.txt")
    import dataclasses

    dataclasses.replace(config, **paths).validate()
