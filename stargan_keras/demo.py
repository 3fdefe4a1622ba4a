"""``python -m stargan_keras.demo --run_dir=RUN`` (or ``--model_file=G.keras``).

Serves a page on http://127.0.0.1:7860/ where you drop a photo, tick the targets (the
model's own label names) and see the photo beside each translation, with download links.
Faces are found and framed as the training images were (docs/photos.md). The page is
served by Python's own HTTP server, uses nothing from other sites and reports nothing;
it listens on this machine only unless --host says otherwise. See docs/demo.md.
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.errors import UserError
from stargan_keras.runtime import use_onednn

FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    if (FLAGS.run_dir is None) == (FLAGS.model_file is None):
        raise app.UsageError("give exactly one of --run_dir and --model_file")
    if FLAGS.max_megabytes <= 0:
        raise app.UsageError(f"--max_megabytes={FLAGS.max_megabytes}: must be more than 0")
    use_onednn(False)  # one photo at a time (see translate); before TensorFlow is imported
    from stargan_keras.inference.demo_page import DemoServer  # imports TensorFlow: after the flags
    from stargan_keras.inference.translator import Translator

    with user_errors():
        translator = (Translator.from_run_dir(FLAGS.run_dir, FLAGS.iteration) if FLAGS.run_dir
                      else Translator.from_keras_file(FLAGS.model_file))
        title = f"StarGAN: {os.path.basename(os.path.normpath(FLAGS.run_dir or FLAGS.model_file))}"
        try:
            server = DemoServer(translator, FLAGS.host, FLAGS.port, title,
                                int(FLAGS.max_megabytes * 1024 * 1024))
        except OSError as error:  # the port is taken, or the address is not this machine's
            raise UserError(f"cannot listen on {FLAGS.host}:{FLAGS.port}: {error}") from error
    logging.info("Serving %s on %s (Ctrl-C stops)", title, server.url)
    print(f"Open {server.url} in a browser (Ctrl-C stops).", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def define_flags() -> None:
    flags.DEFINE_string("run_dir", None, "Run directory of a trained (or imported) model.")
    flags.DEFINE_string("model_file", None, "A portable .keras file of G instead of --run_dir "
                        "(no classifier: the page asks for the photo's labels).")
    flags.DEFINE_integer("iteration", None, "Checkpoint to use (default: the latest).")
    flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0 opens the page to "
                        "other machines).")
    flags.DEFINE_integer("port", 7860, "Port to listen on (0: any free port).")
    flags.DEFINE_float("max_megabytes", 20.0, "Larger uploads are refused with a message.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
