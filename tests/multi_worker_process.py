"""One worker of the multi-worker test: trains a tiny run, then dumps its weights.

Run as ``python tests/multi_worker_process.py RUN_DIR WEIGHTS.npz`` with TF_CONFIG set.
Writes WEIGHTS.npz (G's then D's weights after training) and WEIGHTS.initial.npz (the same
weights as training started, after the strategy synchronised them).
"""

import sys

import numpy as np
from conftest import TINY

import stargan_keras.training.loop as loop
from stargan_keras.config import TrainConfig

MULTI_WORKER = {**TINY, "num_iters": 10, "model_save_step": 5}


def _save(model, path):
    weights = model.generator.weights + model.discriminator.weights
    np.savez(path, *[w.numpy() for w in weights])


if __name__ == "__main__":
    run_dir, weights_path = sys.argv[1], sys.argv[2]
    build_model = loop.build_model

    def build_and_record(config, layout):
        model = build_model(config, layout)
        _save(model, weights_path.replace(".npz", ".initial.npz"))
        return model

    loop.build_model = build_and_record
    model = loop.train(TrainConfig(run_dir=run_dir, strategy="multi_worker", **MULTI_WORKER))
    _save(model, weights_path)
