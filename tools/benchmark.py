"""Training, inference and input speed of StarGAN on this machine, as JSON.

    python -m tools.benchmark --image_size=128 --batch_size=16       # official config
    python -m tools.benchmark --image_size=64 --mixed_precision=bfloat16 --output=b.json
    python -m tools.benchmark --sections=infer --saved_model=models/stargan/1 \\
        --tflite=g.tflite --tflite=g_int8.tflite

Every figure is the median of ``--repeats`` timed runs after ``--warmup`` untimed ones
(the first of which traces). Training, on random synthetic batches already in memory:
``train.d_step_s`` (one D update, ``StarGAN.d_update``), ``train.g_step_s`` (one G
update) and ``train.images_per_s`` over whole n_critic cycles (``StarGAN.train_step``,
as training runs it). Inference: G's latency in Keras at batch 1 and per image at
``--infer_batch``, compiled as ``Translator.translate`` calls it and eager (op by op);
with ``--saved_model`` / ``--tflite`` the same for those exports. Input:
``pipeline.images_per_s`` of the synthetic loader (``tools.bench_input.loader_rate``)
and of the whole training pipeline. Peak: ``peak.matmul_gflops``, float32 GFLOP/s of one
``--matmul_size`` square matmul, the yardstick for the model's figures. Each phase
records the CPU time other processes used meanwhile (``host_load``): above a few percent
the figures are contaminated.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from absl import app, flags, logging

from stargan_keras.cli import check_no_arguments
from stargan_keras.config import PRECISIONS, STRATEGIES, TrainConfig
from stargan_keras.runtime import keep_freed_memory, use_onednn

if TYPE_CHECKING:
    from stargan_keras.labels import LabelLayout

FLAGS = flags.FLAGS
SECTIONS = ("train", "infer", "pipeline", "peak")
flags.DEFINE_integer("g_conv_dim", 64, "G's first-layer channels.")
flags.DEFINE_integer("d_conv_dim", 64, "D's first-layer channels.")
flags.DEFINE_integer("g_repeat_num", 6, "Residual blocks in G.")
flags.DEFINE_integer("d_repeat_num", 6, "Stride-2 convolutions in D.")
flags.DEFINE_integer("n_critic", 5, "D updates per G update.")
flags.DEFINE_enum("strategy", "default", STRATEGIES, "tf.distribute strategy.")
flags.DEFINE_integer("cpu_devices", 0, "Logical CPU devices (for --strategy=mirrored).")
flags.DEFINE_enum("mixed_precision", "float32", PRECISIONS, "Compute precision.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the training step (cycles only).")
flags.DEFINE_bool("keep_freed_memory", True,
                  "Apply the malloc settings train and translate apply (no mmap, no trim).")
flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow intra-op threads (0: its default).")
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow inter-op threads (0: its default).")
flags.DEFINE_list("sections", list(SECTIONS), "What to measure: train, infer, pipeline, peak.")
flags.DEFINE_integer("warmup", 2, "Untimed runs before timing each function.", lower_bound=1)
flags.DEFINE_integer("repeats", 5, "Timed D and G updates.", lower_bound=1)
flags.DEFINE_integer("cycles", 3, "Timed n_critic cycles.", lower_bound=1)
flags.DEFINE_integer("infer_repeats", 10, "Timed calls per inference case.", lower_bound=1)
flags.DEFINE_integer("infer_batch", 16, "The larger inference batch (batch 1 always runs).",
                     lower_bound=1)
flags.DEFINE_string("saved_model", None, "A SavedModel version folder (export.saved_model).")
flags.DEFINE_multi_string("tflite", [], "A .tflite file (export.tflite); repeatable.")
flags.DEFINE_integer("pipeline_repeats", 3, "Timed runs of each loader.", lower_bound=1)
flags.DEFINE_integer("matmul_size", 2048, "Side of the float32 matmul that measures the peak.",
                     lower_bound=1)
flags.DEFINE_string("output", None, "Also write the JSON to this file.")


class HostLoad:
    """CPU time that other processes used during a phase (from /proc/stat), and this
    process' own CPU time and page faults: on a quiet machine other_cpu_share is ~0."""

    def __init__(self):
        self.start = self._snapshot()

    @staticmethod
    def _snapshot() -> dict:
        with open("/proc/stat") as f:
            jiffies = [int(v) for v in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
        own = os.times()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"wall": time.perf_counter(),
                "busy": (sum(jiffies) - jiffies[3] - jiffies[4]) / hz,  # not idle, iowait
                "own": own.user + own.system, "faults": usage.ru_minflt + usage.ru_majflt}

    def stop(self) -> dict:
        end = self._snapshot()
        delta = {k: end[k] - self.start[k] for k in end}
        other = max(0.0, delta["busy"] - delta["own"])
        capacity = delta["wall"] * (os.cpu_count() or 1)
        return {"wall_s": round(delta["wall"], 3), "own_cpu_s": round(delta["own"], 3),
                "other_cpu_s": round(other, 3),
                # /proc/stat counts in 10 ms ticks: over short phases the rounding can
                # exceed the machine's capacity, which no process can really use.
                "other_cpu_share": round(min(1.0, other / capacity), 4) if capacity else None,
                "page_faults": int(delta["faults"]),
                "load_average_1m": round(os.getloadavg()[0], 2)}


def timed(function: Callable[[], object], warmup: int, repeats: int) -> dict:
    """Seconds per call of ``function`` (which must return only when its work is done):
    median, min, max and every run, with the host load while timing."""
    for _ in range(warmup):
        function()
    load = HostLoad()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return {"median_s": statistics.median(seconds), "min_s": min(seconds),
            "max_s": max(seconds), "all_s": [round(s, 4) for s in seconds],
            "host_load": load.stop()}


def _cpu_facts() -> dict:
    model, flags_seen = platform.processor(), set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags_seen = set(value.split())
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16")
    return {"model": model, "count": os.cpu_count(),
            "features": {name: name in flags_seen for name in wanted}}


def environment(malloc_applied: bool) -> dict:
    """Versions, threads and allocator: what decides how fast the same code runs."""
    import keras
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    threading = tf.config.threading
    return {
        "python": platform.python_version(), "tensorflow": tf.__version__,
        "keras": keras.__version__, "numpy": np.__version__, "cpu": _cpu_facts(),
        "threads": {"intra_op": threading.get_intra_op_parallelism_threads(),
                    "inter_op": threading.get_inter_op_parallelism_threads(),
                    "note": "0 means TensorFlow's default (one per core)"},
        "onednn_enabled": bool(_pywrap_util_port.IsMklEnabled()),
        "malloc_keep_freed_memory": malloc_applied,
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith(("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD", "TF_", "OMP_",
                                 "KMP_", "DNNL_", "ONEDNN_"))},
    }


def benchmark_config() -> TrainConfig:
    return TrainConfig(
        dataset="synthetic", image_size=FLAGS.image_size, batch_size=FLAGS.batch_size,
        g_conv_dim=FLAGS.g_conv_dim, d_conv_dim=FLAGS.d_conv_dim,
        g_repeat_num=FLAGS.g_repeat_num, d_repeat_num=FLAGS.d_repeat_num,
        n_critic=FLAGS.n_critic, num_iters=FLAGS.n_critic, num_iters_decay=0,
        log_step=FLAGS.n_critic, sample_step=FLAGS.n_critic, model_save_step=FLAGS.n_critic,
        strategy=FLAGS.strategy, cpu_devices=FLAGS.cpu_devices,
        mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile)


def train_figures(config: TrainConfig, strategy, model, sources) -> dict:
    """D and G updates and whole cycles, on one batch held in memory."""
    import tensorflow as tf

    from stargan_keras.data.pipeline import training_batches
    from stargan_keras.training.distribute import distribute
    from stargan_keras.training.loop import replica_step

    replicas = strategy.num_replicas_in_sync
    batch = next(iter(distribute(strategy, lambda workers, worker: training_batches(
        sources, model.layout, config.batch_size, config.n_critic, replicas,
        num_workers=workers, worker=worker))))

    def first_slice(per_replica):
        return [value[0, 0] for value in model.split_cycle(per_replica)]

    def on_replicas(step):
        @tf.function
        def run(batch):
            logs = strategy.run(step, args=(batch,))
            return strategy.reduce(tf.distribute.ReduceOp.MEAN, list(logs.values())[0],
                                   axis=None)
        return run

    d_step = on_replicas(lambda b: model.d_update(*first_slice(b)))
    g_step = on_replicas(lambda b: model.g_update(*first_slice(b)[:3]))
    cycle = on_replicas(replica_step(model, config))
    # G first: D is then timed with the heap grown as in training.
    g = timed(lambda: float(g_step(batch)), FLAGS.warmup, FLAGS.repeats)
    d = timed(lambda: float(d_step(batch)), FLAGS.warmup, FLAGS.repeats)
    cycles = timed(lambda: float(cycle(batch)), FLAGS.warmup, FLAGS.cycles)
    d_updates, g_updates = config.n_critic * len(sources), len(sources)
    images = d_updates * config.batch_size * replicas
    d_gflop = float_ops(d_step.get_concrete_function(batch)) / 1e9
    g_gflop = float_ops(g_step.get_concrete_function(batch)) / 1e9
    cycle_seconds = d_updates * d["median_s"] + g_updates * g["median_s"]
    return {"d_step_s": d["median_s"], "g_step_s": g["median_s"],
            "images_per_s": images / cycles["median_s"],
            "images_per_cycle": images, "replicas": replicas,
            "derived_images_per_s": images / cycle_seconds,
            "d_step_gflop": d_gflop, "g_step_gflop": g_gflop,
            "cycle_gflop": d_updates * d_gflop + g_updates * g_gflop,
            "d_step_gflop_per_s": d_gflop / d["median_s"],
            "g_step_gflop_per_s": g_gflop / g["median_s"],
            "cycle_gflop_per_s": (d_updates * d_gflop + g_updates * g_gflop)
            / cycles["median_s"],
            "d_step": d, "g_step": g, "cycle": cycles}


def float_ops(function) -> int:
    """Floating-point operations of one call of a concrete function, as TensorFlow's
    own cost model counts them (convolutions, their gradients, matmuls; element-wise
    work mostly not), to set a model's speed against the CPU's peak."""
    import tensorflow as tf

    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(function.graph, options=options).total_float_ops


def _latency(call: Callable[[object, object], object], size: int, width: int,
             batch: int) -> dict:
    """Milliseconds per image of ``call(images, labels)`` at ``batch``."""
    import numpy as np

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    labels = rng.integers(0, 2, (batch, width)).astype(np.float32)
    result = timed(lambda: np.asarray(call(images, labels)), FLAGS.warmup,
                   FLAGS.infer_repeats)
    result["ms_per_image"] = 1000 * result["median_s"] / batch
    return result


def infer_figures(generator, layout: LabelLayout, size: int) -> dict:
    """G in Keras (as ``Translator`` calls it, and eager), and the exports given by flags."""
    import tensorflow as tf

    from stargan_keras.inference.translator import Translator

    compiled = Translator(generator, layout, size, None).translate
    width = layout.width
    one_image = tf.function(lambda x, c: generator([x, c], training=False)).get_concrete_function(
        tf.TensorSpec([1, size, size, 3]), tf.TensorSpec([1, width]))
    results = {}
    for batch in (1, FLAGS.infer_batch):
        results[f"keras_b{batch}"] = _latency(compiled, size, width, batch)
        results[f"keras_eager_b{batch}"] = _latency(
            lambda x, c: generator([x, c], training=False), size, width, batch)
    if FLAGS.saved_model:
        serve = tf.saved_model.load(FLAGS.saved_model).signatures["serving_default"]
        specs = serve.structured_input_signature[1]
        for batch in (1, FLAGS.infer_batch):
            results[f"saved_model_b{batch}"] = _latency(
                lambda x, c: next(iter(serve(images=x, labels=c).values())),
                specs["images"].shape[1], specs["labels"].shape[1], batch)
    for path in FLAGS.tflite:
        results[f"tflite:{os.path.basename(path)}"] = tflite_latency(path)
    figures = {f"{name}_ms": value["ms_per_image"] for name, value in results.items()}
    return {**figures, "g_gflop_per_image": float_ops(one_image) / 1e9, "details": results}


def tflite_latency(path: str) -> dict:
    """Per-image latency of a .tflite model at the batch it was converted for."""
    from export import tflite

    with open(path, "rb") as f:
        runner = tflite.interpreter(f.read()).get_signature_runner()
    details = runner.get_input_details()
    batch, size = details["images"]["shape"][:2]
    width = details["labels"]["shape"][1]
    return _latency(lambda x, c: runner(images=x, labels=c)[tflite.OUTPUT_NAME],
                    int(size), int(width), int(batch))


def pipeline_figures(config: TrainConfig, sources, layout) -> dict:
    """Images/s of the synthetic loader and of the whole training pipeline."""
    from stargan_keras.data.pipeline import training_batches
    from tools import bench_input

    loader = [bench_input.loader_rate(config) for _ in range(FLAGS.pipeline_repeats)]
    batches = iter(training_batches(sources, layout, config.batch_size, config.n_critic))
    images = config.n_critic * len(sources) * config.batch_size
    cycles = max(1, FLAGS.images // images)

    def read():
        for _ in range(cycles):
            next(batches)

    whole = timed(read, 1, FLAGS.pipeline_repeats)
    return {"images_per_s": statistics.median(loader), "loader_runs": loader,
            "training_batches_images_per_s": cycles * images / whole["median_s"],
            "training_batches": whole}


def peak_figures(size: int) -> dict:
    """float32 GFLOP/s of one large matmul: about the most this CPU and TensorFlow
    reach, the yardstick for how close the model's convolutions run to it."""
    import tensorflow as tf

    a = tf.random.uniform((size, size))
    matmul = tf.function(lambda: tf.linalg.matmul(a, a))
    result = timed(lambda: matmul().numpy(), FLAGS.warmup, FLAGS.infer_repeats)
    result["matmul_gflops"] = 2 * size ** 3 / result["median_s"] / 1e9
    result["matmul_size"] = size
    return result


def run_benchmark() -> dict:
    """Every section asked for by --sections, with the environment."""
    unknown = sorted(set(FLAGS.sections) - set(SECTIONS))
    if unknown:
        raise app.UsageError(f"--sections: unknown {', '.join(unknown)}; "
                             f"valid: {', '.join(SECTIONS)}")
    malloc_applied = FLAGS.keep_freed_memory and keep_freed_memory()
    import tensorflow as tf

    from stargan_keras.data import make_sources
    from stargan_keras.labels import LabelLayout
    from stargan_keras.training.distribute import make_strategy
    from stargan_keras.training.loop import build_model

    if FLAGS.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    config = benchmark_config()
    config.validate()
    strategy = make_strategy(config.strategy, config.cpu_devices)
    sources = make_sources(config)
    layout = LabelLayout(tuple(s.label_set for s in sources))
    whole_run = HostLoad()
    result = {"config": {k: v for k, v in config.to_json().items()
                         if k in ("image_size", "batch_size", "g_conv_dim", "d_conv_dim",
                                  "g_repeat_num", "d_repeat_num", "n_critic", "strategy",
                                  "cpu_devices", "mixed_precision", "jit_compile")},
              "sections": FLAGS.sections}
    if "train" in FLAGS.sections or "infer" in FLAGS.sections:
        with strategy.scope():
            model = build_model(config, layout)
        result["params"] = {"generator": model.generator.count_params(),
                            "discriminator": model.discriminator.count_params()}
    if "train" in FLAGS.sections:
        result["train"] = train_figures(config, strategy, model, sources)
    if "infer" in FLAGS.sections:
        result["infer"] = infer_figures(model.generator, layout, config.image_size)
    if "pipeline" in FLAGS.sections:
        result["pipeline"] = pipeline_figures(config, sources, layout)
    if "peak" in FLAGS.sections:
        result["peak"] = peak_figures(FLAGS.matmul_size)
    result["host_load"] = whole_run.stop()
    result["environment"] = environment(malloc_applied)
    return result


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    logging.set_verbosity(logging.WARNING)
    result = run_benchmark()
    text = json.dumps(result, indent=2)
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(text + "\n")
    share = result["host_load"]["other_cpu_share"]
    if share is not None and share > 0.05:
        print(f"warning: other processes used {share:.0%} of the CPUs during the run; "
              "the figures are contaminated", file=sys.stderr)


if __name__ == "__main__":
    # Training's choice (the figures are training's); before anything imports TensorFlow.
    use_onednn(True)
    # Defines --image_size, --batch_size, --images (and its own flags), shared with this tool.
    from tools import bench_input  # noqa: F401
    app.run(main)
