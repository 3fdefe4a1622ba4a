"""The demo page: its endpoint, bad input, the command, and a real headless browser."""

import base64
import io
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
import tensorflow as tf
from face_photos import coffee, group, inside_square
from PIL import Image

from stargan_keras.errors import UserError
from stargan_keras.inference.demo_page import DemoServer
from stargan_keras.labels import LabelLayout, LabelSet

# Tests of the trained run, a subprocess or the browser are slow (not in the quick loop,
# pytest -m "not slow"); those with a stand-in translator are quick.
MAX_BYTES = 2 * 1024 * 1024
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def serving(translator):
    """A DemoServer for ``translator`` on a free port, serving from a thread."""
    server = DemoServer(translator, port=0, title="StarGAN: test run", max_bytes=MAX_BYTES,
                        max_pixels=2_000_000)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="module")
def server(translator):
    server = serving(translator)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    paths = {"group": folder / "group.png", "coffee": folder / "coffee.png",
             "notes": folder / "notes.txt", "huge": folder / "huge.png"}
    paths["group"].write_bytes(tf.io.encode_png(group()).numpy())
    paths["coffee"].write_bytes(tf.io.encode_png(coffee()).numpy())
    paths["notes"].write_text("not a photo")
    paths["huge"].write_bytes(b"\x89PNG" + bytes(MAX_BYTES))
    return {name: str(path) for name, path in paths.items()}


def post(server, data: bytes, query: str) -> tuple[int, dict]:
    request = urllib.request.Request(server.url + "translate?" + query, data=data,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def decode(data_url: str) -> np.ndarray:
    assert data_url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def only_faces_changed(translator, photo: np.ndarray, result: np.ndarray) -> None:
    """``result`` differs from ``photo`` inside each face's square, and nowhere else."""
    faces = translator.detect_faces(photo)
    squares = [inside_square(translator.framing.matrix(face), translator.image_size,
                             *photo.shape[:2]) for face in faces]
    changed = np.any(result != photo, axis=2)
    assert len(faces) == 3
    assert not np.any(changed & ~np.logical_or.reduce(squares))
    assert all(changed[square].mean() > 0.5 for square in squares)


@pytest.mark.slow
def test_page_offers_the_run_label_names(server, translator):
    with urllib.request.urlopen(server.url, timeout=10) as response:
        page = response.read().decode()
    assert "<title>StarGAN: test run</title>" in page
    for name in translator.layout.label_sets[0].names:
        assert f'<input type="checkbox" name="target" value="{name}">' in page
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere


@pytest.mark.slow
def test_translate_returns_the_photo_and_each_translation(server, translator, photos):
    with open(photos["group"], "rb") as f:
        status, answer = post(server, f.read(), "attrs=red&attrs=blue,square&faces=1"
                                                "&name=group.png")
    assert status == 200, answer
    assert answer["faces"] == 3 and answer["message"] == "3 face(s) found and translated."
    photo = group()
    np.testing.assert_array_equal(decode(answer["input"]), photo)
    assert [out["name"] for out in answer["outputs"]] == ["red", "blue+square"]
    for out in answer["outputs"]:
        only_faces_changed(translator, photo, decode(out["image"]))


@pytest.mark.slow
def test_bad_input_is_answered_and_the_server_keeps_serving(server, photos):
    with open(photos["coffee"], "rb") as f:
        coffee_bytes = f.read()
    status, answer = post(server, b"not a photo", "attrs=red&name=notes.txt")
    assert (status, answer["error"]) == (400, "This file is not an image the page can read "
                                              "(JPEG, PNG, GIF, BMP or WebP).")
    status, answer = post(server, bytes(MAX_BYTES + 1), "attrs=red&name=big.png")
    assert (status, answer["error"]) == (413, "This file is 2.0 MB; the page takes up to 2 MB.")
    big = tf.io.encode_png(np.zeros((1500, 1500, 3), np.uint8)).numpy()
    status, answer = post(server, big, "attrs=red&name=wide.png")
    assert (status, answer["error"]) == (400, "This photo is 1500 x 1500 pixels; the page takes "
                                              "up to 2 megapixels.")
    status, answer = post(server, coffee_bytes, "attrs=Blond_Hair&name=coffee.png")
    assert status == 400 and "unknown attribute 'Blond_Hair'" in answer["error"]
    status, answer = post(server, b"", "attrs=red")
    assert (status, answer["error"]) == (400, "No photo was sent.")
    status, answer = post(server, coffee_bytes, "attrs=red&faces=1&name=coffee.png")
    assert status == 200 and answer["faces"] == 0
    assert answer["message"].startswith("No face found in coffee.png: the centre of the photo")
    assert decode(answer["outputs"][0]["image"]).shape == coffee().shape
    with urllib.request.urlopen(server.url, timeout=10) as response:
        assert response.status == 200


class FailingTranslator:
    """What the page needs of a Translator: labels for the page, and a translation that
    raises ``error``."""

    layout = LabelLayout((LabelSet("synthetic", ("red", "green"), multi_label=True),))
    classifier = None
    image_size = 16

    def __init__(self, error: Exception):
        self.error = error

    def photo_outputs(self, *args, **kwargs):
        raise self.error


@pytest.fixture
def failing_server():
    """A server whose translations raise what the test sets as ``server.translator.error``."""
    server = serving(FailingTranslator(RuntimeError("set by the test")))
    yield server
    server.shutdown()
    server.server_close()


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds none of them."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_bug_is_a_logged_server_error_and_the_server_keeps_serving(failing_server, caplog):
    bug = ValueError("operands could not be broadcast together with shapes (1,5) (1,6)")
    failing_server.translator.error = bug
    with caplog.at_level(logging.ERROR):
        status, answer = post(failing_server, small_png(), "attrs=red&faces=0&name=me.png")
    assert (status, answer) == (500, {"error": "Translating me.png failed: a fault in the demo "
                                               "server, not in the photo; the server's log "
                                               "has the details."})
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "translating me.png failed"
    assert record.exc_info[1] is bug  # logged with its traceback
    with urllib.request.urlopen(failing_server.url, timeout=10) as response:
        assert response.status == 200


def test_the_users_mistake_is_answered_with_its_message_and_not_logged(failing_server, caplog):
    failing_server.translator.error = UserError("attrs='Blond_Hair': unknown attribute "
                                                "'Blond_Hair'; valid attributes: red, green")
    with caplog.at_level(logging.ERROR):
        status, answer = post(failing_server, small_png(), "attrs=Blond_Hair&faces=0")
    assert (status, answer["error"]) == (400, "attrs='Blond_Hair': unknown attribute "
                                              "'Blond_Hair'; valid attributes: red, green")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_photo_too_large_for_pillow_is_the_photos_fault(failing_server, caplog):
    # Pillow refuses past 2 x Image.MAX_IMAGE_PIXELS (179 megapixels) before our own limit
    # is even checked.
    with caplog.at_level(logging.ERROR):
        status, answer = post(failing_server, png_header(20_000, 20_000), "attrs=red&name=a.png")
    assert (status, answer["error"]) == (400, "This photo has over 179 megapixels; the page "
                                              "takes up to 2 megapixels.")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.slow
def test_command_serves_on_localhost(run_dir):
    process = subprocess.Popen(
        [sys.executable, "-m", "stargan_keras.demo", f"--run_dir={run_dir}", "--port=0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        line = process.stdout.readline()
        assert line.startswith("Open http://127.0.0.1:"), line
        url = line.split()[1]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "Drop a photo here" in response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver (.ci/run)")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def run_page(browser, server, path: str, targets: list[str]) -> str:
    """Load the page, choose ``path``, tick ``targets``, press Translate: the message."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url)
    browser.find_element(By.ID, "file").send_keys(path)
    for target in targets:
        browser.find_element(By.CSS_SELECTOR, f'input[name=target][value="{target}"]').click()
    button = browser.find_element(By.ID, "go")
    if button.is_enabled():
        button.click()
        WebDriverWait(browser, 60).until(
            lambda b: b.find_element(By.ID, "message").text not in ("", "Translating..."))
    return browser.find_element(By.ID, "message").text


@pytest.mark.slow
def test_browser_translates_a_group_photo(browser, server, translator, photos):
    from selenium.webdriver.common.by import By

    message = run_page(browser, server, photos["group"], ["red"])
    assert message == "3 face(s) found and translated."
    figures = browser.find_elements(By.CSS_SELECTOR, "#results figure")
    assert [f.find_element(By.TAG_NAME, "figcaption").text for f in figures] == [
        "input", "red download"]
    link = figures[1].find_element(By.TAG_NAME, "a")
    assert link.get_attribute("download") == "group_red.png"
    result = decode(figures[1].find_element(By.TAG_NAME, "img").get_attribute("src"))
    photo = group()
    assert result.shape == photo.shape
    only_faces_changed(translator, photo, result)
    if os.environ.get("DEMO_SCREENSHOT"):  # docs/demo.png is taken this way
        browser.save_screenshot(os.environ["DEMO_SCREENSHOT"])


@pytest.mark.slow
def test_browser_answers_bad_input_on_the_page(browser, server, photos):
    from selenium.webdriver.common.by import By

    assert run_page(browser, server, photos["notes"], ["red"]) == (
        "This file is not an image the page can read (JPEG, PNG, GIF, BMP or WebP).")
    assert run_page(browser, server, photos["huge"], ["red"]) == (
        "huge.png is 2.0 MB; the page takes up to 2 MB.")
    assert not browser.find_element(By.ID, "go").is_enabled()
    message = run_page(browser, server, photos["coffee"], ["green"])
    assert message.startswith("No face found in coffee.png")
    assert "error" in browser.find_element(By.ID, "message").get_attribute("class")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#results figure")) == 2
    # And the page still translates after all that.
    assert run_page(browser, server, photos["group"], ["blue"]) == (
        "3 face(s) found and translated.")


def test_chromium_is_the_one_ci_installs():
    if os.environ.get("CI"):
        assert shutil.which("chromium") == CHROMIUM and shutil.which("chromedriver") == CHROMEDRIVER
