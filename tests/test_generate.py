"""Image generation: the embedded sketch generator and the OpenAI-compatible remote backend.

The remote backend is tested against a loopback HTTP server speaking the documented
protocol (``POST /v1/images/generations``), including retries, timeouts and limits.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from fashionrec_sdk import _paths
from fashionrec_sdk._bundle import ModelBundle
from fashionrec_sdk._encoders import ImageEncoder, TextEncoder
from fashionrec_sdk._errors import (
    ArtifactIntegrityError,
    IncompatibleArtifactError,
    InvalidInputError,
    RemoteFetchError,
)
from fashionrec_sdk._generate import (
    MAX_DESCRIPTION_CHARS,
    RemoteImageGenerator,
    SketchGenerator,
    generate_image,
    tint,
)
from fashionrec_sdk._integrity import sha256_file

from ._loopback import loopback

ROOT = Path(__file__).resolve().parents[1]


def _generator_source() -> Path:
    """The shipped vision bundle (it carries the sketch generator)."""
    return Path(_paths.SHIPPED_VISION_BUNDLE)


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    return TextEncoder(ModelBundle.load(threads=1))


@pytest.fixture(scope="module")
def sketcher(text_encoder: TextEncoder) -> SketchGenerator:
    return SketchGenerator(_generator_source(), text_encoder=text_encoder)


# --------------------------------------------------------------------------- embedded


def test_same_seed_same_image_different_seed_different(sketcher: SketchGenerator) -> None:
    a = sketcher.generate("a pair of ankle boots", seed=3, size=64)[0]
    b = sketcher.generate("a pair of ankle boots", seed=3, size=64)[0]
    c = sketcher.generate("a pair of ankle boots", seed=4, size=64)[0]
    assert a.mode == "RGB" and a.size == (64, 64)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(c, dtype=np.int16))
    assert diff.mean() > 2.0


def test_n_images_and_size(sketcher: SketchGenerator) -> None:
    images = sketcher.generate("a summer dress", n=3, seed=0, size=96)
    assert len(images) == 3 and all(im.size == (96, 96) for im in images)
    raw = sketcher.sketch("a summer dress", n=3, seed=0)
    assert raw.shape == (3, 28, 28) and raw.dtype == np.float32
    assert raw.min() >= 0.0 and raw.max() <= 1.0
    # dark garment on a white background: the border is near white
    assert raw[:, 0, :].mean() > 0.85


def test_generate_image_with_explicit_generator(sketcher: SketchGenerator) -> None:
    img = generate_image("a leather handbag", generator=sketcher, seed=1, size=128)
    assert isinstance(img, Image.Image) and img.size == (128, 128) and img.mode == "RGB"


@pytest.mark.parametrize("bad", ["", "   ", "x" * (MAX_DESCRIPTION_CHARS + 1)])
def test_bad_description(sketcher: SketchGenerator, bad: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        sketcher.generate(bad)
    assert err.value.field == "description"


def test_bad_n_and_size(sketcher: SketchGenerator) -> None:
    with pytest.raises(InvalidInputError) as err:
        sketcher.generate("a coat", n=0)
    assert err.value.field == "n"
    with pytest.raises(InvalidInputError) as err:
        sketcher.generate("a coat", size=4)
    assert err.value.field == "size"


def test_trousers_look_like_trousers_to_the_image_tower(sketcher: SketchGenerator) -> None:
    """A held-out phrasing; the shipped image tower (zero-shot) is the independent judge.

    Chance is 1 in 10; the tower recognises real Fashion-MNIST trousers 97.6% of the
    time. Twelve fixed seeds; at least half must be read as trousers.
    """
    encoder = ImageEncoder(ModelBundle.load(threads=1))
    classes = [
        "a t-shirt",
        "a pair of trousers",
        "a pullover",
        "a dress",
        "a coat",
        "a sandal",
        "a shirt",
        "a sneaker",
        "a bag",
        "an ankle boot",
    ]
    class_vecs = sketcher.text_encoder.encode([f"a photo of {c}" for c in classes])
    images = sketcher.generate("tailored trousers for work", n=10, seed=0, size=96)
    images += sketcher.generate("tailored trousers for work", n=2, seed=1, size=96)
    pred = np.argmax(encoder.encode(images) @ class_vecs.T, axis=1)
    assert (pred == 1).sum() >= 6, pred


def _copy_onnx(tmp_path: Path) -> Path:
    onnx = _generator_source() / "sketch_generator.onnx"
    target = tmp_path / "sketch_generator.onnx"
    shutil.copyfile(onnx, target)
    return target


def test_loose_file_integrity_and_text_tower_checks(
    tmp_path: Path, text_encoder: TextEncoder
) -> None:
    onnx = _copy_onnx(tmp_path)
    with pytest.raises(ArtifactIntegrityError):  # no .json next to it
        SketchGenerator(onnx, text_encoder=text_encoder)
    meta = onnx.with_suffix(".json")
    meta.write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(ArtifactIntegrityError) as err:
        SketchGenerator(tmp_path, text_encoder=text_encoder)
    assert "SHA-256" in str(err.value)
    right = sha256_file(onnx)
    meta.write_text(json.dumps({"sha256": right, "text_encoder": {"sha256": "1" * 64}}))
    with pytest.raises(IncompatibleArtifactError):
        SketchGenerator(onnx, text_encoder=text_encoder)
    meta.write_text(json.dumps({"sha256": right}))
    assert SketchGenerator(onnx, text_encoder=text_encoder).latent_dim > 0


def test_bundle_without_generator_is_refused(text_encoder: TextEncoder) -> None:
    with pytest.raises(IncompatibleArtifactError):
        SketchGenerator(text_encoder.bundle, text_encoder=text_encoder)


def test_colour_word_tints_the_ink() -> None:
    gray = np.full((4, 4), 255, dtype=np.uint8)
    gray[1:3, 1:3] = 0
    red = tint(gray, "a Red summer dress")
    assert tuple(red[0, 0]) == (255, 255, 255)
    assert tuple(red[1, 1]) == (190, 30, 45)
    plain = tint(gray, "a summer dress")
    assert tuple(plain[1, 1]) == (0, 0, 0)


# --------------------------------------------------------------------------- remote

PNG = io.BytesIO()
Image.new("RGB", (32, 32), (200, 10, 10)).save(PNG, format="PNG")
PNG_BYTES = PNG.getvalue()
B64 = base64.b64encode(PNG_BYTES).decode()


class _Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    requests: list[dict[str, Any]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: object) -> None:
        self._send(status, json.dumps(obj).encode())

    def do_GET(self) -> None:
        if self.path == "/img.png":
            self._send(200, PNG_BYTES, "image/png")
        else:
            self._send(404, b"", "text/plain")

    def do_POST(self) -> None:
        scenario, _, rest = self.path.lstrip("/").partition("/")
        if rest != "v1/images/generations":
            self._send(404, b"", "text/plain")
            return
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self.requests.append({"body": body, "auth": self.headers.get("Authorization")})
        self.hits[scenario] = self.hits.get(scenario, 0) + 1
        n = int(body.get("n", 1))
        ok = {"created": 1700000000, "data": [{"b64_json": B64} for _ in range(n)]}
        if scenario == "ok":
            self._json(200, ok)
        elif scenario == "url":
            port = self.server.server_address[1]
            self._json(
                200, {"created": 1, "data": [{"url": f"http://127.0.0.1:{port}/img.png"}] * n}
            )
        elif scenario == "flaky":
            if self.hits[scenario] == 1:
                self._json(500, {"error": {"message": "warming up"}})
            else:
                self._json(200, ok)
        elif scenario == "ratelimited":
            if self.hits[scenario] == 1:
                self._json(429, {"error": {"message": "slow down"}})
            else:
                self._json(200, ok)
        elif scenario == "down":
            self._json(503, {"error": {"message": "overloaded"}})
        elif scenario == "refused":
            self._json(400, {"error": {"message": "prompt rejected by safety system"}})
        elif scenario == "slow":
            time.sleep(1.0)
            self._json(200, ok)
        elif scenario == "badjson":
            self._send(200, b"{not json")
        elif scenario == "nodata":
            self._json(200, {"created": 1})
        elif scenario == "big":
            self._json(200, {"created": 1, "data": [{"b64_json": B64 * 50}]})
        elif scenario == "notimage":
            self._json(
                200, {"created": 1, "data": [{"b64_json": base64.b64encode(b"hi").decode()}]}
            )


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.hits = {}
    _Handler.requests = []
    with loopback(_Handler) as url:
        yield url


def remote(base: str, **kw: Any) -> RemoteImageGenerator:
    kw.setdefault("backoff_s", 0.0)
    return RemoteImageGenerator(base_url=base, **kw)


def test_b64_success_request_schema_and_auth(server: str) -> None:
    with remote(f"{server}/ok", api_key="sk-test", model="my-model") as gen:
        images = gen.generate("a red dress", n=2, size=64)
    assert len(images) == 2
    assert all(im.size == (64, 64) and im.mode == "RGB" for im in images)
    assert images[0].getpixel((5, 5)) == (200, 10, 10)
    (req,) = _Handler.requests
    assert req["auth"] == "Bearer sk-test"
    assert req["body"] == {
        "model": "my-model",
        "prompt": "a red dress",
        "n": 2,
        "size": "64x64",
        "response_format": "b64_json",
    }


def test_no_api_key_sends_no_auth_header(server: str) -> None:
    with remote(f"{server}/ok") as gen:
        gen.generate("a coat")
    assert _Handler.requests[0]["auth"] is None


def test_url_response_is_downloaded(server: str) -> None:
    with remote(f"{server}/url", response_format="url") as gen:
        img = gen.generate("a coat", size=32)[0]
    assert _Handler.requests[0]["body"]["response_format"] == "url"
    assert img.getpixel((0, 0)) == (200, 10, 10)


@pytest.mark.parametrize("scenario", ["flaky", "ratelimited"])
def test_retries_then_success(server: str, scenario: str) -> None:
    with remote(f"{server}/{scenario}", retries=2) as gen:
        assert len(gen.generate("a bag")) == 1
    assert _Handler.hits[scenario] == 2


def test_persistent_5xx(server: str) -> None:
    with remote(f"{server}/down", retries=2) as gen, pytest.raises(RemoteFetchError) as err:
        gen.generate("a bag")
    assert err.value.status_code == 503
    assert err.value.url == f"{server}/down/v1/images/generations"
    assert "503" in str(err.value) and "overloaded" in str(err.value)
    assert _Handler.hits["down"] == 3


def test_4xx_is_not_retried(server: str) -> None:
    with remote(f"{server}/refused", retries=3) as gen, pytest.raises(RemoteFetchError) as err:
        gen.generate("a bag")
    assert err.value.status_code == 400 and "safety" in str(err.value)
    assert _Handler.hits["refused"] == 1


def test_timeout(server: str) -> None:
    # The server answers 200 after 1 s: only the 0.2 s timeout can make this fail.
    with (
        remote(f"{server}/slow", timeout_s=0.2, retries=1) as gen,
        pytest.raises(RemoteFetchError) as err,
    ):
        gen.generate("a bag")
    assert _Handler.hits["slow"] == 2
    assert err.value.status_code is None and "slow" in err.value.url
    assert "Timeout" in str(err.value)


@pytest.mark.parametrize("scenario", ["badjson", "nodata", "notimage"])
def test_malformed_responses(server: str, scenario: str) -> None:
    with remote(f"{server}/{scenario}") as gen, pytest.raises(RemoteFetchError) as err:
        gen.generate("a bag")
    assert err.value.status_code == 200 or scenario == "notimage"
    assert _Handler.hits[scenario] == 1  # a malformed answer is not retried


def test_oversize_response(server: str) -> None:
    with (
        remote(f"{server}/big", max_response_bytes=2000) as gen,
        pytest.raises(RemoteFetchError) as err,
    ):
        gen.generate("a bag")
    assert "limit" in str(err.value)


def test_remote_bad_input_needs_no_server() -> None:
    gen = remote("http://127.0.0.1:9")
    with pytest.raises(InvalidInputError) as err:
        gen.generate("")
    assert err.value.field == "description"
    with pytest.raises(InvalidInputError):
        remote("ftp://example.invalid")
    with pytest.raises(InvalidInputError):
        RemoteImageGenerator(base_url="http://x", timeout_s=-1)
    gen.close()


@pytest.mark.parametrize("seed", ["x", -1, 1.5, True])
def test_bad_seed_is_a_typed_error(sketcher: SketchGenerator, seed: object) -> None:
    with pytest.raises(InvalidInputError) as err:
        sketcher.generate("a bag", seed=seed)  # type: ignore[arg-type]
    assert err.value.field == "seed"
