"""tools/benchmark.py: the JSON it prints, on a tiny config, with a SavedModel and a TFLite
file exported from a tiny G; and the allocator settings train and translate apply."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import tensorflow as tf
from conftest import TINY

from stargan_keras.config import TrainConfig
from stargan_keras.data import make_sources
from stargan_keras.labels import LabelLayout
from stargan_keras.run_dir import build_networks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_FLAGS = ["--image_size=16", "--batch_size=2", "--g_conv_dim=4", "--d_conv_dim=4",
              "--g_repeat_num=1", "--d_repeat_num=2", "--n_critic=2", "--warmup=1",
              "--repeats=2", "--cycles=2", "--infer_repeats=2", "--infer_batch=3",
              "--images=32", "--pipeline_repeats=2", "--matmul_size=64"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A SavedModel and a batch-1 float32 TFLite file of an untrained tiny G."""
    from export import tflite
    from export.saved_model import export_saved_model
    from stargan_keras.inference.translator import Translator

    root = tmp_path_factory.mktemp("exports")
    config = TrainConfig(**TINY)
    layout = LabelLayout(tuple(s.label_set for s in make_sources(config)))
    generator, _ = build_networks(config.model_shape(), layout)
    translator = Translator(generator, layout, config.image_size, None)
    saved_model = export_saved_model(translator, str(root / "stargan"))
    tflite_path = root / "g.tflite"
    tflite_path.write_bytes(tflite.convert(translator, "none", 1))
    return saved_model, str(tflite_path)


@pytest.mark.slow
def test_benchmark_prints_every_figure(tmp_path, exports):
    saved_model, tflite_path = exports
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "tools.benchmark", *TINY_FLAGS, f"--saved_model={saved_model}",
         f"--tflite={tflite_path}", f"--output={output}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**{k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"},
             "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert json.loads(output.read_text()) == result
    train, infer = result["train"], result["infer"]
    for value in (train["d_step_s"], train["g_step_s"], train["images_per_s"],
                  infer["keras_b1_ms"], infer["keras_b3_ms"], infer["keras_eager_b1_ms"],
                  infer["saved_model_b1_ms"], infer["saved_model_b3_ms"],
                  infer["tflite:g.tflite_ms"], result["pipeline"]["images_per_s"],
                  result["pipeline"]["training_batches_images_per_s"]):
        assert value > 0
    peak = result["peak"]
    assert peak["matmul_size"] == 64
    assert peak["matmul_gflops"] == pytest.approx(2 * 64 ** 3 / peak["median_s"] / 1e9)
    # Work counted from the traced graphs: a cycle is 2 D updates and 1 G update; a G
    # update runs G twice forward and back, so it is well above 2 batch-2 inferences.
    assert train["cycle_gflop"] == pytest.approx(2 * train["d_step_gflop"]
                                                 + train["g_step_gflop"])
    assert train["d_step_gflop_per_s"] == pytest.approx(train["d_step_gflop"]
                                                        / train["d_step_s"])
    assert train["g_step_gflop"] > 2 * 2 * infer["g_gflop_per_image"] > 0
    # A cycle of n_critic 2 on one label set, batch 2.
    assert train["images_per_cycle"] == 4
    assert train["images_per_s"] == pytest.approx(4 / train["cycle"]["median_s"])
    assert train["d_step_s"] == train["d_step"]["median_s"]
    assert len(train["d_step"]["all_s"]) == 2 and len(train["cycle"]["all_s"]) == 2
    assert train["d_step"]["min_s"] <= train["d_step_s"] <= train["d_step"]["max_s"]
    assert infer["keras_b3_ms"] == pytest.approx(
        1000 * infer["details"]["keras_b3"]["median_s"] / 3)
    assert result["params"] == {"generator": 12_028, "discriminator": 1_428}
    environment = result["environment"]
    assert environment["tensorflow"] == tf.__version__
    assert environment["malloc_keep_freed_memory"] is True
    # Started without TF_ENABLE_ONEDNN_OPTS, the benchmark asks for oneDNN as training does
    # (runtime.use_onednn(True)), and TensorFlow reports its kernels on.
    assert environment["onednn_enabled"] is True
    assert environment["env"]["TF_ENABLE_ONEDNN_OPTS"] == "1"
    for load in (result["host_load"], train["d_step"]["host_load"]):
        assert 0 <= load["other_cpu_share"] <= 1
        assert load["wall_s"] > 0
    # CPU time counts in clock ticks: a fast CPU can run the tiny D steps inside one tick
    # (0.0 s), while the whole run always spans many.
    assert train["d_step"]["host_load"]["own_cpu_s"] >= 0
    assert result["host_load"]["own_cpu_s"] > 0


def test_float_ops_of_a_convolution_are_its_multiply_adds_times_two():
    import keras

    import tools.benchmark as benchmark

    conv = keras.layers.Conv2D(5, 3, padding="same", use_bias=False)
    function = tf.function(conv).get_concrete_function(tf.TensorSpec([2, 6, 6, 4]))
    assert benchmark.float_ops(function) == 2 * (2 * 6 * 6) * (3 * 3 * 4) * 5


def test_timed_reports_the_median_and_host_load():
    import tools.benchmark as benchmark

    def busy():
        end = time.process_time() + 0.05
        while time.process_time() < end:
            pass

    result = benchmark.timed(busy, warmup=1, repeats=3)
    # Each call burns 0.05 s of CPU, so it lasts at least that long; how much longer
    # depends on the machine's load, so there is no upper bound.
    assert 0.05 <= result["min_s"] <= result["median_s"] <= result["max_s"]
    assert result["median_s"] == pytest.approx(sorted(result["all_s"])[1], abs=1e-4)
    assert len(result["all_s"]) == 3
    # 0.15 s of own CPU time, counted in 10 ms clock ticks.
    assert result["host_load"]["own_cpu_s"] >= 0.1


ALLOCATION_CHECK = textwrap.dedent("""
    import ctypes, sys
    from stargan_keras.runtime import keep_freed_memory

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)

    def mmapped_and_heap_kept(size):
        heap = libc.mallinfo2().arena
        block = libc.malloc(size)
        mmapped = libc.mallinfo2().hblkhd
        libc.free(block)
        return mmapped, libc.mallinfo2().arena - heap

    size = 64 << 20
    before = mmapped_and_heap_kept(size)
    applied = keep_freed_memory()
    after = mmapped_and_heap_kept(size)
    # (Part of the block may reuse free heap the process already had.)
    print(before[0] >= size, before[1] < size // 10, applied, after[0] < size,
          after[1] > size * 9 // 10)
""")


def test_keep_freed_memory_serves_big_blocks_from_a_heap_that_is_not_trimmed():
    # A subprocess: the settings last for the whole process.
    done = subprocess.run([sys.executable, "-c", ALLOCATION_CHECK], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Before: 64 MiB is mmapped and unmapped again. After: it comes from the heap,
    # which keeps it once freed.
    assert done.stdout.split() == ["True"] * 5


ENTRY_POINTS_THAT_FAIL_EARLY = {
    # --num_iters not a multiple of --n_critic: refused before training starts.
    "train": ["-m", "stargan_keras.train", "--num_iters=7"],
    # No run there: refused when the model is loaded.
    "translate": ["-m", "stargan_keras.translate", "--run_dir=no_such_run", "--input=x",
                  "--output=y"],
}


@pytest.mark.slow
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS_THAT_FAIL_EARLY))
def test_entry_points_apply_the_allocator_settings(entry, tmp_path):
    done = subprocess.run([sys.executable, *ENTRY_POINTS_THAT_FAIL_EARLY[entry],
                           "--stderrthreshold=info"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "malloc: keeping freed memory" in done.stderr, done.stderr[-2000:]
