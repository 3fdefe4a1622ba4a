"""A local web page to try a model: drop a photo, pick targets, see and download the results.

    server = DemoServer(Translator.from_run_dir("runs/celeba"), port=7860)
    server.serve_forever()          # http://127.0.0.1:7860

The page is one self-contained HTML file (no scripts, fonts or styles from elsewhere, no
usage reporting) served by Python's own HTTP server, so the demo needs no package beyond
the core install (and ``mtcnn`` for faces). The page posts the photo's bytes to
``/translate`` and shows the JSON answer: the input beside each translation, or a message.
Every mistake of the photo or the user (not an image, a file too large, no face, a bad
target) is answered with its message on the page (HTTP 400 or 413). Anything else is the
project's own fault: it is logged with its traceback and answered as a server error (500)
with a message that says so. Either way the server goes on serving.
"""

from __future__ import annotations

import base64
import html
import http.server
import io
import json
import threading
import urllib.parse

import numpy as np
from absl import logging

from stargan_keras.errors import UserError
from stargan_keras.inference.translator import NoFaceError, Translator, read_image

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo decodes to 120 MB; past that, refuse


class BadPhoto(UserError):
    """A photo the page cannot take; the message is shown to the user."""


def png_data_url(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def check_photo(data: bytes, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse what is not an image, or too many pixels, before decoding it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        raise BadPhoto("This file is not an image the page can read (JPEG, PNG, GIF, BMP "
                       "or WebP).") from None
    except Image.DecompressionBombError:  # Pillow's own limit, twice MAX_IMAGE_PIXELS
        raise BadPhoto(f"This photo has over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} "
                       f"megapixels; the page takes up to {max_pixels / 1e6:.0f} "
                       "megapixels.") from None
    if width * height > max_pixels:
        raise BadPhoto(f"This photo is {width} x {height} pixels; the page takes up to "
                       f"{max_pixels / 1e6:.0f} megapixels.")


def translate_photo(translator: Translator, data: bytes, name: str, attrs: list[str],
                    align_faces: bool = True, source_attrs: str | None = None,
                    max_pixels: int = MAX_PIXELS) -> dict:
    """The page's answer for one photo: {"message", "faces", "input", "outputs": [{"name",
    "image"}]}, images as PNG data URLs at the photo's own size."""
    check_photo(data, max_pixels)
    try:
        pixels = read_image(data)
    except ValueError as error:
        raise BadPhoto(f"{name}: {error}") from None
    message, faces = "", []
    if align_faces:
        try:
            faces = translator.find_faces(pixels, name, "skip")
            message = f"{len(faces)} face(s) found and translated."
        except NoFaceError:
            message = (f"No face found in {name}: the centre of the photo is translated "
                       "instead, as if it were a face framed like the training images.")
    _, outputs = translator.photo_outputs(pixels, faces, attrs or None, source_attrs,
                                          "original")
    return {"message": message, "faces": len(faces), "input": png_data_url(pixels),
            "outputs": [{"name": n, "image": png_data_url(image)} for n, image in outputs]}


def label_groups(translator: Translator) -> list[tuple[str, tuple[str, ...]]]:
    """(label set name, its label names) for each label set of the model."""
    return [(s.name, s.names) for s in translator.layout.label_sets]


def page(translator: Translator, title: str, max_bytes: int) -> str:
    """The page: the model's label names as targets, a drop zone, and the results."""
    groups = "".join(
        f'<fieldset><legend>{html.escape(name)}</legend>' + "".join(
            f'<label><input type="checkbox" name="target" value="{html.escape(label)}">'
            f'{html.escape(label)}</label>' for label in labels) + "</fieldset>"
        for name, labels in label_groups(translator))
    source = "" if translator.classifier is not None else (
        '<p><label>Labels of the photo (this model has no classifier): <input id="source" '
        'type="text" placeholder="e.g. ' + html.escape(translator.layout.label_sets[0].names[0])
        + '"></label></p>')
    names = translator.layout.label_sets[0].names
    example = html.escape(f"{names[0]},{names[-1]}=0" if len(names) > 1 else names[0])
    return PAGE.format(title=html.escape(title), groups=groups, source=source, example=example,
                       max_bytes=max_bytes, max_mb=max_bytes / 1024 / 1024,
                       size=translator.image_size)


class DemoServer(http.server.ThreadingHTTPServer):
    """The page and its ``/translate`` endpoint for one Translator.

    Args:
        translator: the model.
        host: the address to listen on (the local machine only, by default).
        port: the port; 0 picks a free one (``server_port`` tells which).
        title: shown at the top of the page.
        max_bytes: larger uploads are refused with a message.
        max_pixels: larger photos are refused with a message.
    """

    daemon_threads = True

    def __init__(self, translator: Translator, host: str = "127.0.0.1", port: int = 7860,
                 title: str = "StarGAN", max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS):
        self.translator, self.max_bytes, self.max_pixels = translator, max_bytes, max_pixels
        self.html = page(translator, title, max_bytes).encode("utf-8")
        self.lock = threading.Lock()  # one photo at a time: G already uses every core
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class Handler(http.server.BaseHTTPRequestHandler):
    server: DemoServer

    def log_message(self, format, *args):
        logging.info("%s %s", self.address_string(), format % args)

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def answer(self, status: int, content: dict) -> None:
        self.send(status, json.dumps(content).encode("utf-8"), "application/json")

    def do_GET(self):
        if urllib.parse.urlsplit(self.path).path != "/":
            self.answer(404, {"error": f"no page at {self.path}"})
            return
        self.send(200, self.server.html, "text/html; charset=utf-8")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/translate":
            self.answer(404, {"error": f"no endpoint at {url.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.server.max_bytes:
            # Read and drop the body, so that the client reads the answer, not a reset.
            for start in range(0, length, 1 << 20):
                self.rfile.read(min(1 << 20, length - start))
            self.answer(413, {"error": f"This file is {length / 1024 / 1024:.1f} MB; the page "
                                       f"takes up to {self.server.max_bytes / 1024 / 1024:.0f} "
                                       "MB."})
            return
        data = self.rfile.read(length)
        query = urllib.parse.parse_qs(url.query)
        name = query.get("name", ["the photo"])[0]
        if not data:
            self.answer(400, {"error": "No photo was sent."})
            return
        try:
            with self.server.lock:
                result = translate_photo(
                    self.server.translator, data, name, query.get("attrs", []),
                    query.get("faces", ["1"])[0] == "1", query.get("source", [None])[0] or None,
                    self.server.max_pixels)
        except UserError as error:  # the photo's or the user's (BadPhoto is one)
            self.answer(400, {"error": str(error)})
            return
        except Exception:  # our bug; the page must keep working whatever one photo does
            logging.exception("translating %s failed", name)
            self.answer(500, {"error": f"Translating {name} failed: a fault in the demo "
                                       "server, not in the photo; the server's log has the "
                                       "details."})
            return
        self.answer(200, result)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
h1 {{ font-size: 1.4rem; margin: 0 0 1rem; }}
#drop {{ border: 2px dashed #888; border-radius: 8px; padding: 1.2rem; text-align: center;
        cursor: pointer; max-width: 40rem; }}
#drop.over {{ background: #eef; }}
fieldset {{ display: inline-block; vertical-align: top; margin: .5rem .5rem .5rem 0; }}
fieldset label {{ display: block; }}
#message {{ margin: .8rem 0; min-height: 1.2rem; }}
#message.error {{ color: #b00; font-weight: bold; }}
#results {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
figure {{ margin: 0; }}
figure img {{ max-width: 22rem; max-height: 22rem; display: block; }}
figcaption {{ font-size: .9rem; }}
button {{ font-size: 1rem; padding: .3rem 1rem; }}
</style></head>
<body>
<h1>{title}</h1>
<div id="drop">Drop a photo here, or click to choose one
  (JPEG, PNG, GIF, BMP or WebP, up to {max_mb:.0f} MB)
  <input id="file" type="file" accept="image/*" hidden></div>
<p id="chosen"></p>
<p>Targets (one translation each):</p>
{groups}
<p><label>Or a combined target: <input id="custom" type="text"
  placeholder="e.g. {example}"></label></p>
{source}
<p><label><input id="faces" type="checkbox" checked> Find the faces and frame them as the
  training images ({size} x {size} px)</label></p>
<button id="go" disabled>Translate</button>
<div id="message" role="status"></div>
<div id="results"></div>
<script>
const maxBytes = {max_bytes};
let photo = null;
const $ = (id) => document.getElementById(id);
function say(text, error) {{
  $("message").textContent = text; $("message").className = error ? "error" : "";
}}
function choose(file) {{
  photo = file || null; $("chosen").textContent = photo ? "Photo: " + photo.name : "";
  $("go").disabled = !photo; $("results").innerHTML = "";
  if (photo && photo.size > maxBytes) {{
    say(photo.name + " is " + (photo.size / 1048576).toFixed(1) + " MB; the page takes up to "
        + (maxBytes / 1048576).toFixed(0) + " MB.", true);
    $("go").disabled = true;
  }} else {{
    say("", false);
  }}
}}
$("drop").onclick = () => $("file").click();
$("file").onchange = () => choose($("file").files[0]);
$("drop").ondragover = (e) => {{ e.preventDefault(); $("drop").className = "over"; }};
$("drop").ondragleave = () => {{ $("drop").className = ""; }};
$("drop").ondrop = (e) => {{
  e.preventDefault(); $("drop").className = ""; choose(e.dataTransfer.files[0]);
}};
function figure(caption, src, download) {{
  const fig = document.createElement("figure");
  const img = document.createElement("img"); img.src = src; img.alt = caption;
  const cap = document.createElement("figcaption"); cap.textContent = caption + " ";
  if (download) {{
    const a = document.createElement("a"); a.href = src; a.download = download;
    a.textContent = "download"; cap.appendChild(a);
  }}
  fig.appendChild(img); fig.appendChild(cap); return fig;
}}
$("go").onclick = async () => {{
  const params = new URLSearchParams();
  document.querySelectorAll("input[name=target]:checked").forEach(
    (box) => params.append("attrs", box.value));
  if ($("custom").value.trim()) params.append("attrs", $("custom").value.trim());
  if ($("source")) params.append("source", $("source").value.trim());
  params.append("faces", $("faces").checked ? "1" : "0");
  params.append("name", photo.name);
  $("go").disabled = true; $("results").innerHTML = ""; say("Translating...", false);
  try {{
    const response = await fetch("/translate?" + params, {{ method: "POST", body: photo }});
    const answer = await response.json();
    if (!response.ok) {{ say(answer.error, true); return; }}
    say(answer.message, answer.faces === 0 && $("faces").checked);
    $("results").appendChild(figure("input", answer.input, null));
    const stem = photo.name.replace(/\\.[^.]*$/, "");
    answer.outputs.forEach((out) => $("results").appendChild(
      figure(out.name, out.image, stem + "_" + out.name + ".png")));
  }} catch (error) {{
    say("The server did not answer: " + error, true);
  }} finally {{
    $("go").disabled = !photo;
  }}
}};
</script>
</body></html>
"""
