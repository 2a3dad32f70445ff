"""Try-on: the embedded 2D simulation on a drawn person with real Fashion-MNIST garments,
and the remote backend against a loopback server speaking the documented protocol.

The person is rendered here with a matching :class:`Pose` (landmarks and mask exact), so
the tests check placement and compositing, not pose estimation. Garments are fixed
test-split (``t10k``) images of Fashion-MNIST (Debian ``dataset-fashion-mnist``).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fashionrec_sdk._errors import InvalidInputError, RemoteFetchError
from fashionrec_sdk._pose import LANDMARKS, MAX_WORK_SIDE, MIN_IMAGE_SIDE, Pose
from fashionrec_sdk._records import Product
from fashionrec_sdk._tryon import EmbeddedTryOn, TryOnBackend, tryon
from fashionrec_sdk._tryon_remote import RemoteTryOn

from ._loopback import loopback

FMNIST = Path("/usr/share/datasets/fashion-mnist")
#: Fixed t10k indices: the first T-shirt, trouser and dress, the second coat.
GARMENTS = {"tshirt": 19, "trouser": 2, "dress": 13, "coat": 10}

SKIN = (205, 155, 125)
SHIRT = (70, 120, 60)
LEGS = (60, 60, 160)
BG = (235, 235, 235)
PTS = {
    "nose": (256, 110),
    "left_eye": (270, 98),
    "right_eye": (242, 98),
    "left_ear": (292, 105),
    "right_ear": (220, 105),
    "mouth_left": (266, 130),
    "mouth_right": (246, 130),
    "left_shoulder": (326, 200),
    "right_shoulder": (186, 200),
    "left_elbow": (352, 318),
    "right_elbow": (162, 318),
    "left_wrist": (262, 334),
    "right_wrist": (156, 430),
    "left_index": (236, 338),
    "right_index": (154, 462),
    "left_pinky": (240, 346),
    "right_pinky": (146, 456),
    "left_thumb": (244, 326),
    "right_thumb": (164, 454),
    "left_hip": (298, 400),
    "right_hip": (214, 400),
    "left_knee": (294, 560),
    "right_knee": (218, 560),
    "left_ankle": (290, 705),
    "right_ankle": (222, 705),
    "left_heel": (288, 722),
    "right_heel": (224, 722),
    "left_foot_index": (306, 730),
    "right_foot_index": (206, 730),
}


def _figure(crop_bottom: int | None = None) -> tuple[Image.Image, Pose]:
    """A 512x768 standing person (left forearm across the belly) and its exact pose."""
    size = (512, 768)
    img = Image.new("RGB", size, BG)
    sil = Image.new("L", size, 0)
    for canvas, solid in ((img, False), (sil, True)):
        d = ImageDraw.Draw(canvas)

        def c(col: tuple[int, int, int], solid: bool = solid) -> tuple[int, int, int] | int:
            return 255 if solid else col

        for s in ("left", "right"):
            hip, knee, ankle = PTS[f"{s}_hip"], PTS[f"{s}_knee"], PTS[f"{s}_ankle"]
            d.line([hip, knee, ankle], fill=c(LEGS), width=56, joint="curve")
            d.ellipse((knee[0] - 28, knee[1] - 28, knee[0] + 28, knee[1] + 28), fill=c(LEGS))
            d.rectangle(
                (ankle[0] - 26, ankle[1] - 4, ankle[0] + 26, ankle[1] + 28), fill=c((50, 30, 20))
            )
        d.rectangle((240, 140, 272, 200), fill=c(SKIN))
        d.polygon([(176, 186), (336, 186), (326, 430), (186, 430)], fill=c(SHIRT))
        d.ellipse((211, 60, 301, 160), fill=c(SKIN))
        for s in ("left", "right"):
            joints = [PTS[f"{s}_shoulder"], PTS[f"{s}_elbow"], PTS[f"{s}_wrist"]]
            d.line(joints, fill=c(SKIN), width=40, joint="curve")
            for x, y in [*joints, PTS[f"{s}_index"]]:
                d.ellipse((x - 19, y - 19, x + 19, y + 19), fill=c(SKIN))
    lm = np.zeros((33, 4), np.float32)
    for i, name in enumerate(LANDMARKS):
        x, y = PTS.get(name, PTS["nose"])
        lm[i] = (x, y, 0.0, 0.99)
    mask = np.asarray(sil, np.float32) / np.float32(255.0)
    if crop_bottom is not None:
        img = img.crop((0, 0, size[0], crop_bottom))
        mask = np.ascontiguousarray(mask[:crop_bottom])
        lm[lm[:, 1] >= crop_bottom - 4, 3] = 0.05
    return img, Pose(landmarks=lm, mask=mask, score=0.99)


@pytest.fixture(scope="module")
def person() -> tuple[Image.Image, Pose]:
    return _figure()


@pytest.fixture(scope="module")
def fmnist() -> dict[str, Image.Image]:
    images = FMNIST / "t10k-images-idx3-ubyte.gz"
    if not images.is_file():
        pytest.skip(
            f"Fashion-MNIST not installed at {FMNIST} (apt-get install dataset-fashion-mnist)"
        )
    raw = gzip.decompress(images.read_bytes())
    arr = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    labels = np.frombuffer(
        gzip.decompress((FMNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8
    )
    expected = {"tshirt": 0, "trouser": 1, "dress": 3, "coat": 4}
    for name, idx in GARMENTS.items():
        assert labels[idx] == expected[name]
    return {name: Image.fromarray(arr[idx]) for name, idx in GARMENTS.items()}


def _changed(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    pa = np.asarray(a, np.int16)[y0:y1, x0:x1]
    pb = np.asarray(b, np.int16)[y0:y1, x0:x1]
    return float((np.abs(pa - pb).max(axis=2) > 12).mean())


CHEST = (200, 215, 240, 300)  # left of the forearm, right of the right arm
BELLY = (270, 360, 310, 395)
THIGHS = (200, 440, 320, 520)
SHINS = (200, 600, 320, 690)


def test_top_lands_on_the_torso(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, pose = person
    out = tryon(img, fmnist["tshirt"], pose=pose, category="T-shirt")
    assert out.size == img.size and out.mode == "RGB"
    assert _changed(img, out, CHEST) > 0.9
    assert _changed(img, out, BELLY) > 0.9
    assert _changed(img, out, SHINS) == 0.0
    assert _changed(img, out, (0, 0, 512, 40)) == 0.0  # nothing floats above the head


def test_trousers_land_on_the_legs(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, pose = person
    out = tryon(img, fmnist["trouser"], pose=pose, category="Men > Trousers")
    assert _changed(img, out, THIGHS) > 0.6
    assert _changed(img, out, (200, 600, 250, 690)) > 0.6  # right shin
    assert _changed(img, out, (270, 600, 316, 690)) > 0.6  # left shin
    assert _changed(img, out, CHEST) == 0.0
    # the garment stays on the person: background far left/right is untouched
    assert _changed(img, out, (0, 400, 150, 768)) == 0.0
    assert _changed(img, out, (370, 400, 512, 768)) == 0.0


def test_dress_and_coat(person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]) -> None:
    img, pose = person
    dress = tryon(img, fmnist["dress"], pose=pose, category="dress")
    assert _changed(img, dress, CHEST) > 0.8 and _changed(img, dress, THIGHS) > 0.8
    assert _changed(img, dress, (200, 660, 320, 700)) == 0.0  # ends around the knees
    coat = tryon(img, fmnist["coat"], pose=pose, category="Women > Coats")
    assert _changed(img, coat, CHEST) > 0.8 and _changed(img, coat, (200, 440, 320, 470)) > 0.5
    assert _changed(img, coat, SHINS) == 0.0


def test_arms_stay_on_top(person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]) -> None:
    img, pose = person
    for garment, cat in (
        (fmnist["tshirt"], "top"),
        (fmnist["coat"], "coat"),
        (fmnist["dress"], "dress"),
    ):
        out = np.asarray(tryon(img, garment, pose=pose, category=cat))
        src = np.asarray(img)
        for s in ("left", "right"):
            (ex, ey), (wx, wy) = PTS[f"{s}_elbow"], PTS[f"{s}_wrist"]
            for t in np.linspace(0.1, 0.9, 9):
                x, y = round(ex + t * (wx - ex)), round(ey + t * (wy - ey))
                assert (out[y, x] == src[y, x]).all(), (cat, s, t)


def test_deterministic(person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]) -> None:
    img, pose = person

    def png() -> bytes:
        buf = io.BytesIO()
        tryon(img, fmnist["trouser"], pose=pose, category="trousers").save(buf, format="PNG")
        return buf.getvalue()

    assert png() == png()


def test_white_background_garment(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, pose = person
    shop = Image.fromarray(255 - np.asarray(fmnist["tshirt"])).convert("RGB").resize((280, 280))
    out = tryon(img, shop, pose=pose, category="top")
    assert _changed(img, out, CHEST) > 0.9
    # dark garment, no white box: the white background was cut away
    assert np.asarray(out)[215:300, 200:240].mean() < 160
    assert _changed(img, out, (0, 300, 140, 768)) == 0.0


def test_product_and_guessed_category(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, pose = person
    buf = io.BytesIO()
    fmnist["trouser"].save(buf, format="PNG")
    product = Product(id="p1", title="Slim chinos", category="Men > Chinos", image=buf.getvalue())
    out = tryon(img, product, pose=pose)
    assert _changed(img, out, SHINS) > 0.5 and _changed(img, out, CHEST) == 0.0
    guessed = tryon(img, fmnist["trouser"], pose=pose)  # legs in the silhouette
    assert np.array_equal(np.asarray(guessed), np.asarray(out))


def test_odd_inputs(person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]) -> None:
    img, pose = person
    rgba = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).rectangle((10, 8, 50, 55), fill=(200, 30, 30, 255))
    out = tryon(img.convert("RGBA"), rgba, pose=pose, category="top")
    assert out.size == img.size and _changed(img, out, CHEST) > 0.9
    assert np.asarray(out)[250, 220, 0] > 150  # red, not the black of the transparent pixels
    gray = tryon(img.convert("L"), fmnist["tshirt"].convert("L"), pose=pose, category="top")
    assert gray.size == img.size and gray.mode == "RGB"
    tiny = Image.new("RGB", (5, 5), "white")
    tiny.putpixel((2, 2), (0, 0, 0))
    assert tryon(img, tiny, pose=pose, category="top").size == img.size
    for bad in (Image.new("RGB", (1, 1), "red"), Image.new("RGB", (300, 300), "white")):
        with pytest.raises(InvalidInputError) as err:
            tryon(img, bad, pose=pose, category="top")
        assert err.value.field == "garment" and "background" in str(err.value)
    with pytest.raises(InvalidInputError) as err:
        tryon(img, fmnist["tshirt"], pose=pose, category="sneakers")
    assert err.value.field == "category"
    with pytest.raises(InvalidInputError) as err:
        tryon(img.resize((256, 384)), fmnist["tshirt"], pose=pose, category="top")
    assert err.value.field == "pose"
    with pytest.raises(InvalidInputError) as err:
        tryon(img, b"not an image", pose=pose, category="top")
    assert err.value.field == "garment"


def test_cropped_feet_refuse_trousers(fmnist: dict[str, Image.Image]) -> None:
    img, pose = _figure(crop_bottom=640)
    with pytest.raises(InvalidInputError) as err:
        tryon(img, fmnist["trouser"], pose=pose, category="trousers")
    assert err.value.field == "person_image" and "ankles" in str(err.value)
    out = tryon(img, fmnist["tshirt"], pose=pose, category="top")  # a top still works
    assert out.size == img.size
    lm = pose.landmarks.copy()
    lm[[11, 12], 0] = -500.0  # shoulders off-image
    with pytest.raises(InvalidInputError) as err:
        tryon(img, fmnist["tshirt"], pose=Pose(lm, pose.mask, pose.score), category="top")
    assert "shoulders" in str(err.value) and "outside the image" in str(err.value)


def test_estimator_and_backends(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, pose = person

    class Fixed:
        calls = 0

        def estimate(self, image: object, /) -> Pose:
            Fixed.calls += 1
            return pose

    backend = EmbeddedTryOn(Fixed())
    assert isinstance(backend, TryOnBackend)
    out = backend.tryon(img, fmnist["tshirt"], category="top")
    assert Fixed.calls == 1
    assert np.array_equal(
        np.asarray(out), np.asarray(tryon(img, fmnist["tshirt"], pose=pose, category="top"))
    )
    assert isinstance(RemoteTryOn("http://127.0.0.1:9/x"), TryOnBackend)


def test_bad_argument_types_are_typed_errors(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, pose = person
    cases: list[tuple[dict[str, object], str]] = [
        ({"pose": pose, "category": 5}, "category"),
        ({"pose": "x", "category": "top"}, "pose"),
        ({"pose": pose.landmarks, "category": "top"}, "pose"),
        ({"estimator": object(), "category": "top"}, "estimator"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInputError) as err:
            tryon(img, fmnist["tshirt"], **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs


def test_person_image_size_floor(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    """Under MIN_IMAGE_SIDE px is refused as person_image, with or without a pose."""
    img, pose = person
    small = img.resize((MIN_IMAGE_SIDE - 1, 96))
    for kwargs in ({"pose": pose}, {}):
        with pytest.raises(InvalidInputError) as err:
            tryon(small, fmnist["tshirt"], category="top", **kwargs)  # type: ignore[arg-type]
        assert err.value.field == "person_image" and "too small" in str(err.value)


def test_estimator_refusal_is_about_person_image(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    img, _ = person

    class Nobody:
        def estimate(self, image: Image.Image, /) -> Pose:
            raise InvalidInputError("image: no person found", field="image")

    with pytest.raises(InvalidInputError) as err:
        tryon(img, fmnist["tshirt"], estimator=Nobody(), category="top")
    assert err.value.field == "person_image"
    assert str(err.value) == "person_image: no person found"


def _scaled(pose: Pose, size: tuple[int, int]) -> Pose:
    """``pose`` of the 512x768 figure, for the figure resized to ``size``."""
    k = size[0] / pose.size[0], size[1] / pose.size[1]
    lm = pose.landmarks.copy()
    lm[:, 0] *= k[0]
    lm[:, 1] *= k[1]
    mask = Image.fromarray(pose.mask, mode="F").resize(size, Image.Resampling.BILINEAR)
    return replace(pose, landmarks=lm, mask=np.asarray(mask, dtype=np.float32))


def test_large_photo_keeps_its_size_at_bounded_cost(
    person: tuple[Image.Image, Pose], fmnist: dict[str, Image.Image]
) -> None:
    """A 3000x4800 photo: the result has the photo's size, the garment lands where it
    does on the small figure, and numpy's peak allocation stays far below one float
    copy of the photo (172 MB) because the work is done at MAX_WORK_SIDE."""
    img, pose = person
    size = (3000, 4800)
    big = img.resize(size, Image.Resampling.BILINEAR)
    big_pose = _scaled(pose, size)
    seen: list[tuple[int, int]] = []

    class Scaling:
        def estimate(self, image: Image.Image, /) -> Pose:
            seen.append(image.size)
            return _scaled(pose, image.size)

    tracemalloc.start()
    try:
        out = tryon(big, fmnist["tshirt"], pose=big_pose, category="top")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.size == size and out.mode == "RGB"
    assert peak < 80e6, peak
    small = tryon(img, fmnist["tshirt"], pose=pose, category="top")
    back = out.resize(img.size, Image.Resampling.BOX)
    ref = big.resize(img.size, Image.Resampling.BOX)
    assert _changed(ref, back, CHEST) > 0.9 and _changed(ref, back, SHINS) == 0.0
    assert float(np.abs(np.asarray(back, np.int16) - np.asarray(small, np.int16)).mean()) < 3.0
    via = tryon(big, fmnist["tshirt"], estimator=Scaling(), category="top")
    assert seen == [(800, MAX_WORK_SIDE)] and via.size == size
    # outside the garment's box the photo's own pixels are kept, not resampled
    assert np.array_equal(np.asarray(via)[:400], np.asarray(big)[:400])


# --------------------------------------------------------------------------- remote


def _png(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class _Server(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    last: dict[str, object] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        hits = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Server.last = payload
        person = Image.open(io.BytesIO(base64.b64decode(payload["person_image"])))
        Image.open(io.BytesIO(base64.b64decode(payload["garment_image"]))).load()
        ok = json.dumps(
            {"image": _png(Image.new("RGB", person.size, (9, 99, 199))), "meta": {"model": "test"}}
        ).encode()
        if self.path == "/ok":
            self._send(200, ok)
        elif self.path == "/half":
            half = Image.new("RGB", (person.width // 2, person.height // 2), (9, 99, 199))
            self._send(200, json.dumps({"image": _png(half)}).encode())
        elif self.path == "/flaky":
            self._send(503, b'{"error": "busy"}') if hits == 1 else self._send(200, ok)
        elif self.path == "/busy":
            self._send(429, b"{}", {"Retry-After": "0"}) if hits == 1 else self._send(200, ok)
        elif self.path == "/always500":
            self._send(500, b'{"error": {"message": "GPU on fire"}}')
        elif self.path == "/400":
            self._send(400, b'{"error": "bad category"}')
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, ok)
        elif self.path == "/badjson":
            self._send(200, b"this is not json")
        elif self.path == "/noimage":
            self._send(200, json.dumps({"image": base64.b64encode(b"hello").decode()}).encode())
        elif self.path == "/big":
            self._send(200, json.dumps({"image": "A" * 50_000}).encode())


@pytest.fixture()
def server() -> Iterator[str]:
    _Server.hits = {}
    with loopback(_Server) as url:
        yield url


PERSON = Image.new("RGB", (96, 144), (200, 180, 160))
GARMENT = Image.new("RGB", (40, 40), "white")
ImageDraw.Draw(GARMENT).rectangle((8, 8, 32, 36), fill=(20, 20, 120))


def test_remote_success(server: str) -> None:
    product = Product(id="sku-9", title="Linen shirt", category="Shirts", image=_png_bytes(GARMENT))
    with RemoteTryOn(server + "/ok", backoff=0.01) as remote:
        out = remote.tryon(PERSON, product)
    assert out.size == PERSON.size and out.getpixel((5, 5)) == (9, 99, 199)
    assert _Server.last["category"] == "top" and _Server.last["garment_id"] == "sku-9"
    with RemoteTryOn(server + "/half", backoff=0.01) as remote:
        out = remote.tryon(PERSON, GARMENT, category="dress")
    assert out.size == PERSON.size  # resized to the person's size
    assert _Server.last["category"] == "dress" and _Server.last["garment_id"] is None


def _png_bytes(img: Image.Image) -> bytes:
    return base64.b64decode(_png(img))


def test_remote_retries_then_succeeds(server: str) -> None:
    with RemoteTryOn(server + "/flaky", backoff=0.01) as remote:
        assert remote.tryon(PERSON, GARMENT).size == PERSON.size
    with RemoteTryOn(server + "/busy", backoff=0.01) as remote:
        assert remote.tryon(PERSON, GARMENT).size == PERSON.size
    assert _Server.hits == {"/flaky": 2, "/busy": 2}


def test_remote_errors(server: str) -> None:
    with (
        RemoteTryOn(server + "/always500", retries=2, backoff=0.01) as remote,
        pytest.raises(RemoteFetchError) as err,
    ):
        remote.tryon(PERSON, GARMENT)
    assert err.value.status_code == 500 and "GPU on fire" in str(err.value)
    assert err.value.url == server + "/always500" and _Server.hits["/always500"] == 3
    with (
        RemoteTryOn(server + "/400", backoff=0.01) as remote,
        pytest.raises(RemoteFetchError) as err,
    ):
        remote.tryon(PERSON, GARMENT)
    assert err.value.status_code == 400 and _Server.hits["/400"] == 1  # no retry on 4xx
    for path, words in (("/badjson", "malformed JSON"), ("/noimage", "unreadable image")):
        with RemoteTryOn(server + path) as remote, pytest.raises(RemoteFetchError, match=words):
            remote.tryon(PERSON, GARMENT)
    with (
        RemoteTryOn(server + "/big", max_bytes=10_000) as remote,
        pytest.raises(RemoteFetchError, match="10000-byte limit"),
    ):
        remote.tryon(PERSON, GARMENT)


def test_remote_timeout(server: str) -> None:
    # The server answers 200 after 1 s: only the 0.2 s timeout can make this fail.
    with (
        RemoteTryOn(server + "/slow", timeout=0.2, retries=1, backoff=0.01) as remote,
        pytest.raises(RemoteFetchError) as err,
    ):
        remote.tryon(PERSON, GARMENT)
    assert "Timeout" in str(err.value) and err.value.status_code is None
    assert _Server.hits["/slow"] == 2


def test_remote_request_too_large(server: str) -> None:
    noisy = Image.fromarray(
        np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    )
    with (
        RemoteTryOn(server + "/ok", max_request_bytes=20_000) as remote,
        pytest.raises(InvalidInputError) as err,
    ):
        remote.tryon(noisy, GARMENT)
    assert err.value.field == "person_image" and "20000-byte" in str(err.value)
    assert _Server.hits == {}
    with pytest.raises(InvalidInputError):
        RemoteTryOn("ftp://example.com/tryon")
