"""``python -m export.serving.client --server host:8501 --image face.jpg --attrs Blond_Hair``.

Asks a TF Serving model server (REST on 8501, gRPC on 8500 by default) to translate one
photo with the exported ``translate_bytes`` signature. The label names come from the
export's ``metadata`` signature. The server has no classifier, so targets are changes
applied to ``--source_attrs`` (the labels that are on in the photo; none by default).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import numpy as np
from absl import app, flags

from export.serving import rest_json
from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.errors import UserError

PROTOCOLS = ("rest", "grpc")


class ServingClientError(Exception):
    """The server refused a request; the message is the server's."""


class RestClient:
    """TF Serving's REST predict API, with columnar ("inputs") requests."""

    def __init__(self, server: str, model: str = "stargan", timeout: float = 60.0):
        self.url = f"http://{server}/v1/models/{model}:predict"
        self.timeout = timeout

    def predict(self, signature: str, inputs: dict[str, np.ndarray],
                outputs: tuple[str, ...]) -> dict[str, np.ndarray]:
        body = {"signature_name": signature,
                "inputs": {k: rest_json.encode(v, rest_json.is_binary_name(k))
                           for k, v in inputs.items()}}
        request = urllib.request.Request(self.url, json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                result = json.loads(response.read())["outputs"]
        except urllib.error.HTTPError as error:
            message = error.read().decode(errors="replace")
            try:
                message = json.loads(message)["error"]
            except (ValueError, KeyError):
                pass
            raise ServingClientError(f"{self.url}: HTTP {error.code}: {message}") from None
        if len(outputs) == 1:  # TF Serving omits the name of a lone output
            result = {outputs[0]: result}
        return {name: rest_json.decode(result[name], None) for name in outputs}


class GrpcClient:
    """TF Serving's gRPC PredictionService.Predict."""

    def __init__(self, server: str, model: str = "stargan", timeout: float = 60.0):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.server, self.model, self.timeout = server, model, timeout
        self.channel = grpc.insecure_channel(server, options=[
            ("grpc.max_receive_message_length", 64 << 20)])
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    def predict(self, signature: str, inputs: dict[str, np.ndarray],
                outputs: tuple[str, ...]) -> dict[str, np.ndarray]:
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model
        request.model_spec.signature_name = signature
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        request.output_filter.extend(outputs)
        try:
            response = self.stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingClientError(f"{self.server}: {error.code().name}: "
                                     f"{error.details()}") from None
        return {name: tf.make_ndarray(response.outputs[name]) for name in outputs}


def make_client(server: str, model: str = "stargan", protocol: str | None = None):
    """A client for ``host:port``: gRPC for port 8500, REST otherwise, unless told."""
    if protocol is None:
        protocol = "grpc" if server.rsplit(":", 1)[-1] == "8500" else "rest"
    if protocol not in PROTOCOLS:
        raise UserError(f"--protocol={protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    return (GrpcClient if protocol == "grpc" else RestClient)(server, model)


def served_layout(client):
    """The export's label layout and image size, from its ``metadata`` signature."""
    from stargan_keras.labels import LabelLayout

    result = client.predict("metadata", {"unused": np.array(0, np.int32)},
                            ("layout_json", "image_size"))
    layout_json = result["layout_json"]
    layout_json = layout_json.item() if isinstance(layout_json, np.ndarray) else layout_json
    if isinstance(layout_json, bytes):
        layout_json = layout_json.decode()
    return LabelLayout.from_json(json.loads(layout_json)), int(result["image_size"])


def translate_remote(client, image_bytes: bytes, attrs: list[str],
                     source_attrs: str | None = None) -> list[tuple[str, bytes]]:
    """(target name, PNG bytes) per target (the official test grid if ``attrs`` is empty)."""
    import tensorflow as tf

    from stargan_keras.inference.translator import given_labels, named_targets

    layout, _ = served_layout(client)
    source = (given_labels(layout, source_attrs, 1, None) if source_attrs
              else tf.zeros((1, layout.width)))
    targets = named_targets(layout, source, attrs)
    labels = np.concatenate([t.numpy() for _, t in targets]).astype(np.float32)
    images = np.array([image_bytes] * len(targets), dtype=object)
    result = client.predict("translate_bytes", {"image_bytes": images, "labels": labels},
                            ("png_bytes",))
    return [(name, bytes(png)) for (name, _), png in zip(targets, result["png_bytes"])]


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    with user_errors(OSError, ServingClientError):
        with open(FLAGS.image, "rb") as f:
            image_bytes = f.read()
        client = make_client(FLAGS.server, FLAGS.model, FLAGS.protocol)
        results = translate_remote(client, image_bytes, FLAGS.attrs, FLAGS.source_attrs)
    os.makedirs(FLAGS.output, exist_ok=True)
    stem = os.path.splitext(os.path.basename(FLAGS.image))[0]
    for name, png in results:
        path = os.path.join(FLAGS.output, f"{stem}_{name}.png")
        with open(path, "wb") as f:
            f.write(png)
        print(path)


def define_flags() -> None:
    """Flags of this command, defined only when it runs (tests import the module)."""
    flags.DEFINE_string("server", "localhost:8501", "host:port of the model server.")
    flags.DEFINE_enum("protocol", None, list(PROTOCOLS),
                      "rest or grpc (default: grpc for port 8500, rest otherwise).")
    flags.DEFINE_string("model", "stargan", "Model name in the server's models.config.")
    flags.DEFINE_string("image", None, "Photo to translate (JPEG, PNG, BMP, GIF).", required=True)
    flags.DEFINE_multi_string("attrs", [], 'A target, e.g. "Blond_Hair,Male=0"; repeat for '
                              "several (default: the official test grid).")
    flags.DEFINE_string("source_attrs", None, "Labels that are on in the photo, e.g. "
                        "Black_Hair,Young (the server cannot predict them).")
    flags.DEFINE_string("output", "translated", "Folder for the PNG files.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
