"""A local stand-in for TF Serving, for tests and for trying the client without Docker.

``python -m tools.serving_stand_in --model_base_path models/stargan`` serves the highest
numbered version on 127.0.0.1: REST on --rest_port (8501) and gRPC PredictionService on
--grpc_port (8500), speaking the same requests and responses as ``tensorflow_model_server``.

It runs the SavedModel the way the model server does, not through TF2's Python loader:
the MetaGraph is loaded into a TF1 session (the C++ server's ``LoadSavedModel``), request
tensors are converted from their protos (gRPC) or from JSON with the signature's dtypes
(REST), fed by the SignatureDef's tensor names without shape checks (the C++ session
checks none) and the fetched tensors converted back. It is not the real server: batching,
version policies, model warm-up and its exact error texts for malformed JSON differ.
"""

from __future__ import annotations

import json
import os
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from google.protobuf import json_format
from tensorflow.core.protobuf import config_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from export.saved_model import versions
from export.serving import rest_json
from stargan_keras.cli import check_no_arguments, user_errors
from stargan_keras.errors import MissingFileError

DEFAULT_SIGNATURE = "serving_default"
# TF Serving's mapping of status codes to HTTP statuses for REST errors.
_HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.FAILED_PRECONDITION: 400,
                grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.NOT_FOUND: 404,
                grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.UNAVAILABLE: 503}
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class ServingError(Exception):
    """A failed request: a gRPC status code and the server's message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def latest_version(base_path: str) -> int:
    found = versions(base_path)
    if not found:
        raise MissingFileError(f"{base_path} has no numbered version to serve")
    return found[-1]


class SessionModel:
    """One version of a SavedModel loaded into a TF1 session, as the model server does."""

    def __init__(self, name: str, base_path: str, version: int | None = None):
        self.name = name
        self.version = latest_version(base_path) if version is None else version
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(
                self.session, ["serve"], os.path.join(base_path, str(self.version)))
        self.signatures = {k: v for k, v in meta_graph.signature_def.items()
                           if not k.startswith("__")}
        self._lock = threading.Lock()
        self._callables = {}

    def signature(self, name: str):
        name = name or DEFAULT_SIGNATURE
        if name not in self.signatures:
            raise ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                               f'Serving signature key "{name}" not found.')
        return self.signatures[name]

    def input_dtypes(self, signature_name: str) -> dict[str, np.dtype]:
        return {alias: _numpy_dtype(info.dtype)
                for alias, info in self.signature(signature_name).inputs.items()}

    def run(self, signature_name: str, inputs: dict[str, np.ndarray],
            output_filter: list[str] | None = None) -> dict[str, np.ndarray]:
        """Run a signature on named inputs; errors are ServingErrors with the server's codes."""
        signature = self.signature(signature_name)
        expected = sorted(signature.inputs)
        for alias in inputs:
            if alias not in signature.inputs:
                raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"input tensor alias not found in signature: {alias}. Inputs "
                                   f"expected to be in the set {{{','.join(expected)}}}.")
        missing = [alias for alias in expected if alias not in inputs]
        if missing:
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"input size does not match signature: {len(inputs)}!="
                               f"{len(expected)}. Missing but required: {{{','.join(missing)}}}.")
        outputs = sorted(output_filter or signature.outputs)
        for alias in outputs:
            if alias not in signature.outputs:
                raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"output tensor alias not found in signature: {alias}")
        feeds = [signature.inputs[alias].name for alias in expected]
        fetches = [signature.outputs[alias].name for alias in outputs]
        key = (tuple(feeds), tuple(fetches))
        with self._lock:
            if key not in self._callables:
                options = config_pb2.CallableOptions(feed=feeds, fetch=fetches)
                # The options-based callable feeds without Python's shape checks, as the
                # C++ session does.
                self._callables[key] = self.session._make_callable_from_options(options)
            run = self._callables[key]
        try:
            values = run(*[inputs[alias] for alias in expected])
        except tf.errors.OpError as error:
            raise ServingError(_CODES.get(error.error_code, grpc.StatusCode.UNKNOWN),
                               error.message) from None
        return dict(zip(outputs, values))

    def signature_def_map(self) -> get_model_metadata_pb2.SignatureDefMap:
        result = get_model_metadata_pb2.SignatureDefMap()
        for key, value in self.signatures.items():
            result.signature_def[key].CopyFrom(value)
        return result

    def check_spec(self, name: str, version: int | None) -> None:
        if name != self.name or (version is not None and version != self.version):
            request = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f"Servable not found for request: {request}")


def _numpy_dtype(enum: int) -> np.dtype:
    dtype = tf.dtypes.as_dtype(enum)
    return np.dtype(object) if dtype == tf.string else np.dtype(dtype.as_numpy_dtype)


# --- REST ------------------------------------------------------------------------------

def rest_predict(model: SessionModel, body: dict) -> dict:
    """A REST :predict body (row "instances" or columnar "inputs") -> the response body."""
    signature_name = body.get("signature_name", DEFAULT_SIGNATURE)
    dtypes = model.input_dtypes(signature_name)
    if ("instances" in body) == ("inputs" in body):
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                           "JSON Value: must have exactly one of 'instances' or 'inputs'")
    if "inputs" in body:
        given = body["inputs"]
        if not isinstance(given, dict) or set(given) == {"b64"}:
            if len(dtypes) != 1:
                raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"'inputs' must name the signature's inputs {sorted(dtypes)}")
            given = {next(iter(dtypes)): given}
        inputs = {k: _decode(v, dtypes.get(k, np.dtype(object)), k) for k, v in given.items()}
        outputs = model.run(signature_name, inputs)
        if len(outputs) == 1:
            (name, value), = outputs.items()
            return {"outputs": rest_json.encode(value, rest_json.is_binary_name(name))}
        return {"outputs": {k: rest_json.encode(v, rest_json.is_binary_name(k))
                            for k, v in outputs.items()}}
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "'instances' must be a non-empty list")
    named = isinstance(rows[0], dict) and set(rows[0]) != {"b64"}
    if named:
        inputs = {k: _decode([row[k] for row in rows], dtypes.get(k, np.dtype(object)), k)
                  for k in rows[0]}
    elif len(dtypes) == 1:
        (alias, dtype), = dtypes.items()
        inputs = {alias: _decode(rows, dtype, alias)}
    else:
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"each instance must be an object with keys {sorted(dtypes)}")
    outputs = model.run(signature_name, inputs)
    sizes = {np.shape(v)[0] if np.ndim(v) else None for v in outputs.values()}
    if len(sizes) != 1 or None in sizes:
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                           "Tensor name: outputs have different batch sizes or are scalars; "
                           "use the columnar 'inputs' format")
    encoded = {k: rest_json.encode(v, rest_json.is_binary_name(k)) for k, v in outputs.items()}
    if len(encoded) == 1:
        return {"predictions": next(iter(encoded.values()))}
    count = sizes.pop()
    return {"predictions": [{k: v[i] for k, v in encoded.items()} for i in range(count)]}


def _decode(value, dtype: np.dtype, name: str) -> np.ndarray:
    try:
        return rest_json.decode(value, dtype)
    except (ValueError, TypeError) as error:
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"JSON Value for input {name!r}: {error}") from None


_URL = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"
                  r"(?P<verb>:predict|/metadata)?$")


def make_rest_handler(model: SessionModel):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            match = _URL.match(self.path)
            try:
                if not match or (method == "POST") != (match["verb"] == ":predict"):
                    raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                       f"Malformed request: {method} {self.path}")
                version = int(match["version"]) if match["version"] else None
                model.check_spec(match["name"], version)
                if method == "POST":
                    length = int(self.headers.get("Content-Length", 0))
                    try:
                        body = json.loads(self.rfile.read(length))
                    except json.JSONDecodeError as error:
                        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                           f"JSON Parse error: {error}") from None
                    self._reply(200, rest_predict(model, body))
                elif match["verb"] == "/metadata":
                    self._reply(200, {
                        "model_spec": {"name": model.name, "signature_name": "",
                                       "version": str(model.version)},
                        "metadata": {"signature_def": json_format.MessageToDict(
                            model.signature_def_map(), preserving_proto_field_name=True)}})
                else:
                    self._reply(200, {"model_version_status": [{
                        "version": str(model.version), "state": "AVAILABLE",
                        "status": {"error_code": "OK", "error_message": ""}}]})
            except ServingError as error:
                self._reply(_HTTP_STATUS.get(error.code, 500), {"error": error.message})

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

        def log_message(self, format, *args):  # noqa: A002
            logging.debug("REST %s", format % args)

    return Handler


# --- gRPC ------------------------------------------------------------------------------

class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata of tensorflow.serving.PredictionService."""

    def __init__(self, model: SessionModel):
        self.model = model

    def _spec(self, request):
        version = request.model_spec.version.value if request.model_spec.HasField("version") \
            else None
        self.model.check_spec(request.model_spec.name, version)

    def Predict(self, request, context):  # noqa: N802 (gRPC's naming)
        try:
            self._spec(request)
            inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
            outputs = self.model.run(request.model_spec.signature_name, inputs,
                                     list(request.output_filter) or None)
        except ServingError as error:
            context.abort(error.code, error.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.model.name
        response.model_spec.version.value = self.model.version
        response.model_spec.signature_name = request.model_spec.signature_name or \
            DEFAULT_SIGNATURE
        for alias, value in outputs.items():
            response.outputs[alias].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):  # noqa: N802
        try:
            self._spec(request)
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                   "Metadata field signature_def must be requested, alone")
        except ServingError as error:
            context.abort(error.code, error.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.model.name
        response.model_spec.version.value = self.model.version
        response.metadata["signature_def"].Pack(self.model.signature_def_map())
        return response


class StandInServer:
    """REST and gRPC servers over one SessionModel; ports 0 pick free ones."""

    def __init__(self, model: SessionModel, rest_port: int = 0, grpc_port: int = 0,
                 host: str = "127.0.0.1"):
        self.model = model
        self.http = ThreadingHTTPServer((host, rest_port), make_rest_handler(model))
        self.rest_port = self.http.server_address[1]
        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(model), self.grpc)
        self.grpc_port = self.grpc.add_insecure_port(f"{host}:{grpc_port}")
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def start(self) -> StandInServer:
        self.grpc.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.grpc.stop(grace=None)


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    check_no_arguments(argv)
    with user_errors():
        model = SessionModel(FLAGS.model_name, FLAGS.model_base_path)
    server = StandInServer(model, FLAGS.rest_port, FLAGS.grpc_port).start()
    logging.info("Serving %s version %d: REST on 127.0.0.1:%d, gRPC on 127.0.0.1:%d",
                 model.name, model.version, server.rest_port, server.grpc_port)
    server.grpc.wait_for_termination()


def define_flags() -> None:
    """Flags of this command, defined only when it runs (tests import the module)."""
    flags.DEFINE_string("model_name", "stargan", "Name clients use in their requests.")
    flags.DEFINE_string("model_base_path", "models/stargan",
                        "Folder of numbered SavedModel versions; the highest is served.")
    flags.DEFINE_integer("rest_port", 8501, "REST port on 127.0.0.1.")
    flags.DEFINE_integer("grpc_port", 8500, "gRPC port on 127.0.0.1.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
