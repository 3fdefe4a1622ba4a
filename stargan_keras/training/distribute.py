"""tf.distribute strategies for training, and how batches reach their replicas."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import tensorflow as tf

from stargan_keras.config import STRATEGIES
from stargan_keras.errors import UserError


def split_cpu(devices: int) -> None:
    """Split the CPU into ``devices`` logical devices (before TensorFlow uses any device),
    so mirrored training can run on a machine with no GPU."""
    if devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
    except RuntimeError as error:
        raise RuntimeError(f"--cpu_devices={devices}: TensorFlow's devices were already "
                           "initialised; set it before anything runs") from error


def make_strategy(name: str, cpu_devices: int = 0, tpu: str | None = None
                  ) -> tf.distribute.Strategy:
    """The strategy for ``--strategy``.

    mirrored uses every GPU, or the logical CPU devices of ``--cpu_devices`` when there
    is no GPU. multi_worker reads the cluster from TF_CONFIG. tpu connects to ``--tpu``
    (a name or grpc:// address; empty for a TPU VM's local chips) as the TensorFlow
    TPU guide describes.
    """
    if name not in STRATEGIES:
        raise UserError(f"--strategy={name!r}: expected one of {', '.join(STRATEGIES)}")
    split_cpu(cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise UserError("--strategy=multi_worker needs TF_CONFIG describing the cluster")
        try:
            json.loads(os.environ["TF_CONFIG"])  # fail here, clearly, on malformed JSON
        except ValueError as error:
            raise UserError(f"TF_CONFIG is not valid JSON: {error}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Only the chief writes checkpoints, summaries and samples."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0 and
                                            "chief" not in resolver.cluster_spec().as_dict())


def distribute(strategy: tf.distribute.Strategy,
               worker_batches: Callable[[int, int], tf.data.Dataset]
               ) -> tf.distribute.DistributedDataset:
    """Hand each replica its share of every global batch.

    ``worker_batches(num_workers, worker)`` yields one worker's part of every global
    batch, ordered replica-major over its local replicas (see
    ``data.pipeline.training_batches``). Each worker builds, reads and decodes only its
    own part and feeds it to its replicas in order.
    """
    def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = strategy.num_replicas_in_sync // context.num_input_pipelines

        def by_replica(batch):
            return {k: tf.reshape(v, [local, -1] + list(v.shape[1:])) for k, v in batch.items()}

        dataset = worker_batches(context.num_input_pipelines,
                                 context.input_pipeline_id).map(by_replica).unbatch()
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return dataset.with_options(options)

    return strategy.distribute_datasets_from_function(per_worker)
