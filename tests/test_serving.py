"""TF Serving's wire formats against the local stand-in: PredictRequest protos, REST JSON,
and the client over both."""

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from runs import photo
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from export.saved_model import export_saved_model
from export.serving.client import ServingClientError, make_client, translate_remote
from stargan_keras.data.preprocess import center_crop_resize, decode_rgb
from stargan_keras.image_grid import to_uint8
from stargan_keras.inference.translator import given_labels, target_labels
from tools.serving_stand_in import SessionModel, StandInServer

# Whole commands or trainings end to end: not in the quick loop (pytest -m "not slow").
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(translator, tmp_path_factory):
    base = os.path.dirname(export_saved_model(translator,
                                              str(tmp_path_factory.mktemp("m") / "stargan")))
    stand_in = StandInServer(SessionModel("stargan", base)).start()
    yield stand_in
    stand_in.stop()


def post(server, body, path="stargan:predict"):
    request = urllib.request.Request(f"http://127.0.0.1:{server.rest_port}/v1/models/{path}",
                                     json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_grpc_predict_request_gives_keras_answer(translator, server):
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    labels = np.array([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]], np.float32)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "stargan"
    request.model_spec.signature_name = "serving_default"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    request.inputs["labels"].CopyFrom(tf.make_tensor_proto(labels))
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(request, timeout=60)
        metadata = stub.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec=request.model_spec, metadata_field=["signature_def"]), timeout=60)
        request.inputs["labels"].CopyFrom(tf.make_tensor_proto(labels[:, :3]))
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(request, timeout=60)
    assert response.model_spec.version.value == 1
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["images"]),
                               translator.generator([images, labels]), atol=1e-5, rtol=0)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    metadata.metadata["signature_def"].Unpack(signatures)
    assert {"serving_default", "translate_bytes", "metadata"} <= set(signatures.signature_def)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "labels must be float32 [N, 5]" in error.value.details()


def test_rest_row_and_columnar_formats(translator, server):
    images = np.random.default_rng(1).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    labels = np.array([[0, 1, 0, 0, 0], [0, 0, 0, 1, 1]], np.float32)
    expected = translator.generator([images, labels]).numpy()
    status, rows = post(server, {"instances": [{"images": i.tolist(), "labels": lab.tolist()}
                                               for i, lab in zip(images, labels)]})
    assert status == 200
    np.testing.assert_allclose(rows["predictions"], expected, atol=1e-5, rtol=0)
    status, columns = post(server, {"signature_name": "serving_default",
                                    "inputs": {"images": images.tolist(),
                                               "labels": labels.tolist()}})
    assert status == 200
    np.testing.assert_allclose(columns["outputs"], expected, atol=1e-5, rtol=0)


def test_rest_bytes_are_base64_both_ways(translator, server):
    data = tf.io.encode_png(photo(30, 20)).numpy()
    labels = [[1, 0, 0, 0, 1]]
    status, body = post(server, {"signature_name": "translate_bytes", "instances": [
        {"image_bytes": {"b64": base64.b64encode(data).decode()}, "labels": labels[0]}]})
    assert status == 200
    png = base64.b64decode(body["predictions"][0]["b64"])
    prepared = center_crop_resize(decode_rgb(data), None, 16)[None]
    expected = to_uint8(translator.generator([prepared, np.float32(labels)]))[0].numpy()
    assert np.abs(tf.io.decode_png(png).numpy().astype(int) - expected.astype(int)).max() <= 1


def test_rest_errors_are_json_with_http_status(server):
    status, body = post(server, {"signature_name": "translate_bytes", "inputs": {
        "image_bytes": [{"b64": base64.b64encode(b"not an image").decode()}],
        "labels": [[0, 0, 0, 0, 0]]}})
    assert status == 400 and "Unknown image file format" in body["error"]
    status, body = post(server, {"signature_name": "nope", "inputs": {}})
    assert status == 400 and body["error"] == 'Serving signature key "nope" not found.'
    status, body = post(server, {"instances": [1.0]}, path="other:predict")
    assert status == 404 and "Servable not found" in body["error"]


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_client_translates_like_the_translator(translator, server, protocol):
    port = server.rest_port if protocol == "rest" else server.grpc_port
    client = make_client(f"127.0.0.1:{port}", protocol=protocol)
    data = tf.io.encode_jpeg(photo(40, 50)).numpy()
    results = translate_remote(client, data, ["red,large", "square=0"], source_attrs="blue")
    assert [name for name, _ in results] == ["red+large", "square=0"]
    prepared = center_crop_resize(decode_rgb(data), None, 16)[None]
    source = given_labels(translator.layout, "blue", 1, None)
    for (name, png), text in zip(results, ["red,large", "square=0"]):
        expected = to_uint8(translator.generator(
            [prepared, target_labels(translator.layout, source, text)]))[0].numpy()
        served = tf.io.decode_png(png).numpy()
        assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1, name
    with pytest.raises(ValueError, match="unknown attribute 'Blond_Hair'"):
        translate_remote(client, data, ["Blond_Hair"])
    with pytest.raises(ServingClientError, match="Unknown image file format"):
        translate_remote(client, b"not an image", ["red"])


def test_client_command(server, tmp_path):
    image = tmp_path / "face.png"
    image.write_bytes(tf.io.encode_png(photo()).numpy())
    done = subprocess.run(
        [sys.executable, "-m", "export.serving.client", f"--server=127.0.0.1:{server.grpc_port}",
         "--protocol=grpc", f"--image={image}", "--attrs=green", f"--output={tmp_path / 'out'}"],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert os.listdir(tmp_path / "out") == ["face_green.png"]


def test_models_config_and_compose_file_agree():
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    folder = os.path.join(os.path.dirname(__file__), "..", "export", "serving")
    with open(os.path.join(folder, "models.config")) as f:
        config = text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == \
        ("stargan", "/models/stargan", "tensorflow")
    with open(os.path.join(folder, "docker-compose.yml")) as f:
        compose = f.read()
    assert f"../../models/stargan:{model.base_path}:ro" in compose
    assert "./models.config:/models/models.config:ro" in compose
    assert "--model_config_file=/models/models.config" in compose
