"""Training as a library call: ``train(TrainConfig(...))``, no flags involved."""

from __future__ import annotations

import keras
import tensorflow as tf
from absl import logging

from stargan_keras.config import SYNTHETIC_DATASETS, TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.data.pipeline import training_batches
from stargan_keras.labels import LabelLayout
from stargan_keras.monitor import TrainingMonitor, fixed_samples
from stargan_keras.run_dir import Checkpoints, RunDirectory, build_networks, make_spec
from stargan_keras.schedule import LinearDecay
from stargan_keras.stargan import StarGAN


def check_label_dims(config: TrainConfig, layout: LabelLayout) -> None:
    """--c_dim / --c2_dim, when given, must equal the label counts of the data."""
    for flag, value, set_index in (("c_dim", config.c_dim, 0), ("c2_dim", config.c2_dim, 1)):
        if value is None or set_index >= len(layout.label_sets):
            continue
        label_set = layout.label_sets[set_index]
        if value != label_set.dim:
            raise ValueError(f"--{flag}={value} but {label_set.name} has {label_set.dim} labels "
                             f"({', '.join(label_set.names)}); omit --{flag} to follow the data")


def build_model(config: TrainConfig, layout: LabelLayout) -> StarGAN:
    """A compiled StarGAN with every variable created (call inside the strategy scope)."""
    generator, discriminator = build_networks(config.model_shape(), layout)
    model = StarGAN(generator, discriminator, layout, config.lambda_cls, config.lambda_rec,
                    config.lambda_gp, config.n_critic)
    sets = len(layout.label_sets)
    d_schedule = LinearDecay(config.d_lr, config.num_iters, config.num_iters_decay,
                             updates_per_iter=sets)
    # G's k-th update happens on the last iteration of the k-th n_critic cycle.
    g_schedule = LinearDecay(config.g_lr, config.num_iters, config.num_iters_decay,
                             updates_per_iter=sets, stride=config.n_critic,
                             offset=config.n_critic - 1)
    model.compile(
        g_optimizer=keras.optimizers.Adam(g_schedule, config.beta1, config.beta2),
        d_optimizer=keras.optimizers.Adam(d_schedule, config.beta1, config.beta2))
    model.build_all(config.image_size)
    return model


def train(config: TrainConfig, strategy: tf.distribute.Strategy | None = None) -> StarGAN:
    """Train (or resume) the run in ``config.run_dir``; returns the trained model."""
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    check_label_dims(config, layout)
    run = RunDirectory(config.run_dir)
    run.claim(make_spec(config, layout))

    with strategy.scope():
        model = build_model(config, layout)
    checkpoints = Checkpoints(run, config.keep_checkpoints, generator=model.generator,
                              discriminator=model.discriminator,
                              g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer)
    iteration = checkpoints.restore(config.resume_iters)
    if iteration % config.n_critic:
        raise ValueError(f"checkpoint iteration {iteration} is not a multiple of n_critic "
                         f"{config.n_critic}")

    replicas = strategy.num_replicas_in_sync
    batches = training_batches(sources, layout, config.batch_size, config.n_critic, replicas,
                               iteration, config.seed)
    iterator = iter(strategy.experimental_distribute_dataset(batches))

    @tf.function
    def train_cycle(iterator):
        logs = strategy.run(model.train_step, args=(next(iterator),))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in logs.items()}

    is_synthetic = config.dataset in SYNTHETIC_DATASETS
    held_out = None
    if is_synthetic:
        held_out = [(images, layout.embed(i, labels), scenes) for i, (images, labels, scenes)
                    in enumerate(s.held_out(config.num_eval_images) for s in sources)]
    monitor = TrainingMonitor(
        model, run, config.num_iters, fixed_samples(sources, layout, config.num_sample_images),
        held_out, sources, config.n_critic * len(sources) * config.batch_size * replicas)
    monitor.start(iteration)
    logging.info("Training %s from iteration %d to %d on %d replica(s)", config.dataset,
                 iteration, config.num_iters, replicas)
    while iteration < config.num_iters:
        logs = train_cycle(iterator)
        iteration += config.n_critic
        if iteration % config.log_step == 0:
            monitor.log(iteration, logs)
        if iteration % config.sample_step == 0:
            monitor.sample(iteration)
        if iteration % config.model_save_step == 0 or iteration == config.num_iters:
            checkpoints.save(iteration)
    if iteration % config.sample_step:
        monitor.sample(iteration)
    monitor.close()
    return model
