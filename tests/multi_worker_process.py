"""One worker of the multi-worker test: trains a tiny run, then dumps its weights.

Run as ``python tests/multi_worker_process.py RUN_DIR WEIGHTS.npz`` with TF_CONFIG set.
"""

import sys

import numpy as np
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.training.loop import train

if __name__ == "__main__":
    run_dir, weights_path = sys.argv[1], sys.argv[2]
    config = TrainConfig(run_dir=run_dir, strategy="multi_worker",
                         **{**TINY, "num_iters": 10, "model_save_step": 5})
    model = train(config)
    weights = model.generator.weights + model.discriminator.weights
    np.savez(weights_path, *[w.numpy() for w in weights])
