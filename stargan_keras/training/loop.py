"""Training as a library call: ``train(TrainConfig(...))``, no flags involved."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.errors import TrainingDivergedError, UserError
from stargan_keras.evaluation.sweep import held_out_parts
from stargan_keras.labels import LabelLayout
from stargan_keras.models.layers import keras_default_weights
from stargan_keras.run_dir import Checkpoints, RunDirectory, RunLock, build_networks, make_spec
from stargan_keras.training.adam import adam
from stargan_keras.training.distribute import distribute, is_chief, make_strategy
from stargan_keras.training.engine import StarGAN
from stargan_keras.training.evaluator import TRUTH_FILE, TrainingEvaluator
from stargan_keras.training.monitor import TrainingMonitor
from stargan_keras.training.precision import compute_precision, scaled_optimizer
from stargan_keras.training.schedule import LinearDecay


def check_label_dims(config: TrainConfig, layout: LabelLayout) -> None:
    """--c_dim / --c2_dim, when given, must equal the label counts of the data."""
    for flag, value, set_index in (("c_dim", config.c_dim, 0), ("c2_dim", config.c2_dim, 1)):
        if value is None or set_index >= len(layout.label_sets):
            continue
        label_set = layout.label_sets[set_index]
        if value != label_set.dim:
            raise UserError(f"--{flag}={value} but {label_set.name} has {label_set.dim} labels "
                            f"({', '.join(label_set.names)}); omit --{flag} to follow the data")


def build_model(config: TrainConfig, layout: LabelLayout) -> StarGAN:
    """A compiled StarGAN with every variable created (call inside the strategy scope)."""
    with compute_precision(config.mixed_precision):
        generator, discriminator = build_networks(config.model_shape(), layout)
    if config.weight_init == "keras":
        keras_default_weights(generator)
        keras_default_weights(discriminator)
    model = StarGAN(generator, discriminator, layout, config.lambda_cls, config.lambda_rec,
                    config.lambda_gp, config.n_critic, adv_loss=config.adv_loss,
                    lambda_r1=config.lambda_r1, lambda_mask=config.lambda_mask,
                    ema_decay=config.g_ema_decay, augment=config.diff_augment,
                    lambda_cls_r1=config.lambda_cls_r1)
    sets = len(layout.label_sets)
    d_schedule = LinearDecay(config.d_lr, config.num_iters, config.num_iters_decay,
                             updates_per_iter=sets)
    # G's k-th update happens on the last iteration of the k-th n_critic cycle.
    g_schedule = LinearDecay(config.g_lr, config.num_iters, config.num_iters_decay,
                             updates_per_iter=sets, stride=config.n_critic,
                             offset=config.n_critic - 1)

    def optimizer(schedule):
        return scaled_optimizer(adam(schedule, config.beta1, config.beta2, config.adam_epsilon),
                                config.mixed_precision)

    model.compile(g_optimizer=optimizer(g_schedule), d_optimizer=optimizer(d_schedule))
    model.build_all(config.image_size)
    return model


def replica_step(model: StarGAN, config: TrainConfig):
    """What each replica runs per cycle: ``model.train_step``, XLA-compiled with
    ``--jit_compile`` (the cross-replica reduction stays outside it)."""
    return tf.function(model.train_step, jit_compile=True) if config.jit_compile else (
        model.train_step)


def train(config: TrainConfig, strategy: tf.distribute.Strategy | None = None) -> StarGAN:
    """Train (or resume) the run in ``config.run_dir``; returns the trained model.

    Re-running the same call after a crash resumes from the latest checkpoint: weights,
    optimizer states and the iteration come from it, and the data, targets and penalty
    weights are pure functions of (seed, iteration). SIGTERM saves the current iteration
    and returns. A non-finite loss raises FloatingPointError without saving anything.
    """
    config.validate()
    strategy = strategy or make_strategy(config.strategy, config.cpu_devices, config.tpu)
    keras.utils.set_random_seed(config.seed)  # the initial weights of a new run
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    check_label_dims(config, layout)
    run = RunDirectory(config.run_dir)
    chief = is_chief(strategy)
    with RunLock(run) if chief else contextlib.nullcontext():
        if chief:
            run.claim(make_spec(config, layout))
        with strategy.scope():
            model = build_model(config, layout)
        with termination_requests() as terminate:
            _train_loop(config, strategy, model, sources, run, chief, terminate)
    return model


def _train_loop(config: TrainConfig, strategy: tf.distribute.Strategy, model: StarGAN,
                sources: list, run: RunDirectory, chief: bool, terminate) -> None:
    layout = model.layout
    averaged = {"generator_ema": model.ema_weights} if model.ema_weights else {}
    checkpoints = Checkpoints(run, config.keep_checkpoints, generator=model.generator,
                              discriminator=model.discriminator,
                              g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer,
                              **averaged)
    iteration = checkpoints.restore(config.resume_iters)
    if iteration % config.n_critic:
        raise UserError(f"checkpoint iteration {iteration} is not a multiple of n_critic "
                        f"{config.n_critic}")
    replicas = strategy.num_replicas_in_sync
    iterator = iter(distribute(strategy, lambda workers, worker: training_batches(
        sources, layout, config.batch_size, config.n_critic, replicas, iteration, config.seed,
        workers, worker)))

    step = replica_step(model, config)

    @tf.function
    def train_cycle(iterator):
        logs = strategy.run(step, args=(next(iterator),))
        logs = {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in logs.items()}
        finite = tf.reduce_all([tf.math.is_finite(v) for v in logs.values()])
        return logs, finite

    monitor = evaluator = None
    if chief:
        evaluator = TrainingEvaluator.from_config(config, layout, sources, run.logs,
                                                  os.path.join(run.path, TRUTH_FILE))
        monitor = TrainingMonitor(
            model, run, config.num_iters,
            held_out_parts(sources, layout, config.num_sample_images),
            config.n_critic * len(sources) * config.batch_size * replicas)
        monitor.start(iteration)
    logging.info("Training %s from iteration %d to %d on %d replica(s)", config.dataset,
                 iteration, config.num_iters, replicas)
    saved = iteration
    while iteration < config.num_iters:
        logs, finite = train_cycle(iterator)
        iteration += config.n_critic
        if not bool(finite):
            bad = ", ".join(f"{k}={float(v)}" for k, v in logs.items()
                            if not np.isfinite(float(v)))
            raise TrainingDivergedError(
                f"non-finite loss at iteration {iteration}: {bad}; nothing was saved, the "
                f"latest checkpoint ({checkpoints.path(None) or 'none'}) is the last good one")
        if monitor and iteration % config.log_step == 0:
            monitor.log(iteration, logs)
        if monitor and iteration % config.sample_step == 0:
            monitor.sample(iteration)
        if evaluator and evaluator.due(iteration):
            # Only then: the averaged G is a copy of every weight.
            evaluator.evaluate(iteration, model.averaged_generator())
        if (iteration % config.model_save_step == 0 or iteration == config.num_iters
                or terminate.is_set()):
            checkpoints.save(iteration, chief)
            saved = iteration
        if monitor:
            monitor.start(iteration)  # images/s counts training, not sampling or saving
        if terminate.is_set():
            logging.info("SIGTERM: saved iteration %d, stopping", saved)
            break
    if monitor:
        if iteration % config.sample_step and not terminate.is_set():
            monitor.sample(iteration)  # preemption leaves at once instead
        monitor.close()
    if evaluator and not evaluator.due(iteration) and not terminate.is_set():
        evaluator.evaluate(iteration, model.averaged_generator())  # the final G is scored too


@contextlib.contextmanager
def termination_requests():
    """An Event set by SIGTERM (preemption), checked by the loop at cycle boundaries."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested  # signal handlers can only be installed from the main thread
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: requested.set())
    try:
        yield requested
    finally:
        signal.signal(signal.SIGTERM, previous)
