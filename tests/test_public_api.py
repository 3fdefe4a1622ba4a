"""The documented front doors: the package's public names and every command line."""

import subprocess
import sys

import pytest

import stargan_keras

COMMANDS = ("stargan_keras.train", "stargan_keras.translate", "stargan_keras.evaluate",
            "stargan_keras.train_classifier", "stargan_keras.convert_official",
            "stargan_keras.demo", "export.saved_model", "export.tflite", "export.keras_file",
            "export.serving.client", "tools.benchmark", "tools.align_faces",
            "tools.serving_stand_in")


def test_public_names_are_the_documented_classes():
    assert sorted(stargan_keras.__all__) == [
        "Discriminator", "Generator", "LabelLayout", "LabelSet", "PortableGenerator", "StarGAN",
        "TrainConfig", "Translator", "load_generator"]
    assert stargan_keras.StarGAN.__module__ == "stargan_keras.training.engine"
    assert stargan_keras.Translator.__module__ == "stargan_keras.inference.translator"


@pytest.mark.slow
@pytest.mark.parametrize("module", COMMANDS)
def test_every_command_answers_help(module):
    done = subprocess.run([sys.executable, "-m", module, "--helpshort"], capture_output=True,
                          text=True, timeout=120)
    # absl prints the module's own flags and exits with 1 after --helpshort.
    assert done.returncode == 1, done.stderr[-2000:]
    path = module.replace(".", "/") + ".py"
    assert f"{path}:" in done.stdout, done.stdout[:500]
