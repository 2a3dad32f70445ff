"""PoseEstimator on real photos (tests/fixtures/photos, see its README) and bad inputs."""

from __future__ import annotations

import io
import itertools
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fashionrec_sdk import _pose
from fashionrec_sdk._bundle import ModelBundle
from fashionrec_sdk._errors import InvalidInputError
from fashionrec_sdk._manifest import BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION
from fashionrec_sdk._paths import SHIPPED_VISION_BUNDLE
from fashionrec_sdk._pose import (
    LANDMARKS,
    MAX_WORK_SIDE,
    MIN_IMAGE_SIDE,
    Pose,
    PoseEstimator,
    working_image,
)
from fashionrec_sdk._pose_decode import anchors

PHOTOS = Path(__file__).parent / "fixtures" / "photos"

pytestmark = pytest.mark.skipif(
    not (SHIPPED_VISION_BUNDLE / "manifest.json").is_file(),
    reason=f"vision bundle not built at {SHIPPED_VISION_BUNDLE} "
    "(make it with export.convert_mediapipe + export.vision_bundle)",
)


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator(ModelBundle.load(SHIPPED_VISION_BUNDLE, providers="cpu", threads=1))


@pytest.fixture(scope="module")
def astronaut(estimator: PoseEstimator) -> Pose:
    return estimator.estimate(PHOTOS / "astronaut.jpg")


@pytest.fixture(scope="module")
def standing(estimator: PoseEstimator) -> Pose:
    return estimator.estimate(PHOTOS / "standing_full_body.jpg")


def _mask_at(pose: Pose, name: str) -> float:
    x, y = pose.point(name)
    return float(pose.mask[int(y), int(x)])


def test_vision_manifest_is_a_standard_bundle() -> None:
    data = json.loads((SHIPPED_VISION_BUNDLE / "manifest.json").read_text())
    assert data["format"] == BUNDLE_FORMAT
    assert data["format_version"] == BUNDLE_FORMAT_VERSION
    bundle = ModelBundle.load(SHIPPED_VISION_BUNDLE, providers="cpu", threads=1)
    assert bundle.manifest.name == "fashionrec-vision"
    assert {"pose_detector", "pose_landmarks", "person_segmentation"} <= set(bundle.model_names)
    assert any(p.licence == "Apache-2.0" for p in bundle.manifest.provenance)
    assert anchors().shape == (bundle.manifest.models["pose_detector"].outputs[0].shape[1], 2)


def test_pose_shapes_and_ranges(astronaut: Pose) -> None:
    assert astronaut.landmarks.shape == (len(LANDMARKS), 4)
    assert astronaut.landmarks.dtype == np.float32
    assert astronaut.size == (384, 384)
    assert astronaut.mask.dtype == np.float32
    assert astronaut.mask.min() >= 0.0 and astronaut.mask.max() <= 1.0
    assert np.all((astronaut.landmarks[:, 3] >= 0) & (astronaut.landmarks[:, 3] <= 1))
    assert 0.5 <= astronaut.score <= 1.0


def test_astronaut_upper_body(astronaut: Pose) -> None:
    """Public-domain NASA portrait: head and shoulders in view, hips and legs cut off."""
    nose_y = astronaut.point("nose")[1]
    for side in ("left", "right"):
        assert nose_y < astronaut.point(f"{side}_shoulder")[1] - 30
        assert astronaut.visibility(f"{side}_shoulder") > 0.5
        assert _mask_at(astronaut, f"{side}_shoulder") > 0.5
        assert astronaut.visibility(f"{side}_ankle") == 0.0  # below the frame
    # the person's left shoulder is on the image's right
    assert astronaut.point("left_shoulder")[0] > astronaut.point("right_shoulder")[0]
    assert _mask_at(astronaut, "nose") > 0.5
    _h, w = astronaut.mask.shape
    corners = astronaut.mask[[0, 0, 5], [0, w - 1, w // 2]]  # top corners, top centre
    assert np.all(corners < 0.5)
    assert 0.2 < float((astronaut.mask > 0.5).mean()) < 0.8


def test_standing_full_body(standing: Pose) -> None:
    """A whole standing person: head above shoulders above hips above knees above ankles."""
    ys = {n: standing.point(n)[1] for n in ("nose", "left_shoulder", "left_hip", "left_knee")}
    ys["left_ankle"] = standing.point("left_ankle")[1]
    order = ["nose", "left_shoulder", "left_hip", "left_knee", "left_ankle"]
    assert all(ys[a] < ys[b] for a, b in itertools.pairwise(order))
    for name in ("left_ankle", "right_ankle", "left_hip", "right_hip"):
        assert standing.visibility(name) > 0.5, name
        assert _mask_at(standing, name.replace("ankle", "knee")) > 0.5
    w, h = standing.size
    assert standing.point("left_ankle")[1] > 0.8 * h
    assert standing.mask[: h // 10, :].mean() < 0.1  # background above the head
    assert standing.mask[:, int(0.9 * w) :].mean() < 0.1  # wall on the right


def test_grayscale_photo(estimator: PoseEstimator) -> None:
    pose = estimator.estimate(PHOTOS / "cameraman_gray.jpg")
    assert pose.point("nose")[1] < pose.point("left_hip")[1]
    assert pose.size == (384, 384)


def test_deterministic_and_input_kinds(estimator: PoseEstimator, standing: Pose) -> None:
    path = PHOTOS / "standing_full_body.jpg"
    again = estimator.estimate(Image.open(path))
    from_bytes = estimator.estimate(path.read_bytes())
    np.testing.assert_array_equal(again.landmarks, standing.landmarks)
    np.testing.assert_array_equal(from_bytes.mask, standing.mask)
    rgba = Image.open(path).convert("RGBA")
    assert estimator.estimate(rgba).landmarks.shape == (33, 4)


def test_larger_image_scales_landmarks(estimator: PoseEstimator, standing: Pose) -> None:
    img = Image.open(PHOTOS / "standing_full_body.jpg")
    big = estimator.estimate(img.resize((img.width * 2, img.height * 2)))
    assert big.size == (img.width * 2, img.height * 2)
    diff = np.abs(big.landmarks[:, :2] / 2 - standing.landmarks[:, :2])
    assert float(np.median(diff)) < 4.0


def test_photo_over_the_working_size(estimator: PoseEstimator, standing: Pose) -> None:
    """1500x2400 is analysed at 800x1280; the pose is still in the photo's pixels."""
    img = Image.open(PHOTOS / "standing_full_body.jpg")
    big = img.resize((img.width * 5, img.height * 5), Image.Resampling.BICUBIC)
    assert working_image(big)[0].size == (800, MAX_WORK_SIDE)
    pose = estimator.estimate(big)
    assert pose.size == big.size and pose.mask.dtype == np.float32
    diff = np.abs(pose.landmarks[:, :2] / 5 - standing.landmarks[:, :2])
    assert float(np.median(diff)) < 4.0
    small_mask = Image.fromarray(pose.mask, mode="F").resize(img.size, Image.Resampling.BOX)
    agree = (np.asarray(small_mask) > 0.5) == (standing.mask > 0.5)
    assert float(agree.mean()) > 0.97


def test_working_image_keeps_small_images() -> None:
    img = Image.new("RGB", (MAX_WORK_SIDE, 700))
    assert working_image(img) == (img, 1.0)
    work, k = working_image(Image.new("RGB", (700, 2 * MAX_WORK_SIDE)))
    assert work.size == (350, MAX_WORK_SIDE) and k == 0.5


def test_default_estimator_is_built_once() -> None:
    got: list[PoseEstimator] = []
    threads = [
        threading.Thread(target=lambda: got.append(_pose.default_estimator())) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(e is got[0] for e in got)
    assert _pose.default_estimator() is got[0]


def _reason(excinfo: pytest.ExceptionInfo[InvalidInputError]) -> str:
    assert excinfo.value.field == "image"
    return str(excinfo.value)


def test_two_people_refused(estimator: PoseEstimator) -> None:
    # one faces the camera, the other is seen from behind (the detector finds only faces)
    with pytest.raises(InvalidInputError) as excinfo:
        estimator.estimate(PHOTOS / "two_people.jpg")
    assert "several people" in _reason(excinfo)


def test_side_by_side_people_refused(estimator: PoseEstimator) -> None:
    person = Image.open(PHOTOS / "standing_full_body.jpg").convert("RGB")
    pair = Image.new("RGB", (person.width * 2, person.height))
    pair.paste(person, (0, 0))
    pair.paste(person.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (person.width, 0))
    with pytest.raises(InvalidInputError) as excinfo:
        estimator.estimate(pair)
    assert "several people" in _reason(excinfo)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (256, 256)),
        Image.new("L", (300, 200), 255),
        Image.new("RGBA", (200, 300), (0, 0, 0, 0)),
    ],
    ids=["black", "white-gray", "transparent"],
)
def test_no_person_refused(estimator: PoseEstimator, image: Image.Image) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        estimator.estimate(image)
    assert "no person" in _reason(excinfo)


def test_background_only_photo_refused(estimator: PoseEstimator) -> None:
    # the right-hand wall of a real photo, with no one in it
    wall = Image.open(PHOTOS / "two_people.jpg").crop((300, 0, 420, 240))
    with pytest.raises(InvalidInputError) as excinfo:
        estimator.estimate(wall)
    assert "no person" in _reason(excinfo)


@pytest.mark.parametrize("size", [(1, 1000), (1000, 1), (MIN_IMAGE_SIDE - 1, 500), (10, 10)])
def test_too_small_refused(estimator: PoseEstimator, size: tuple[int, int]) -> None:
    with pytest.raises(InvalidInputError) as excinfo:
        estimator.estimate(Image.new("RGB", size, (128, 90, 60)))
    assert "too small" in _reason(excinfo)


def test_undecodable_refused(estimator: PoseEstimator) -> None:
    data = (PHOTOS / "astronaut.jpg").read_bytes()[:300]
    with pytest.raises(InvalidInputError) as excinfo:
        estimator.estimate(data)
    assert excinfo.value.field == "image"
    with pytest.raises(InvalidInputError):
        estimator.estimate(b"not an image")


def test_odd_modes_never_crash(estimator: PoseEstimator) -> None:
    rng = np.random.default_rng(0)
    person = Image.open(PHOTOS / "standing_full_body.jpg")
    cases = [
        Image.fromarray(rng.integers(0, 255, (80, 900, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 255, (900, 70), dtype=np.uint8), mode="L"),
        person.convert("P"),
        person.convert("CMYK"),
        person.convert("I;16"),
    ]
    for img in cases:
        try:
            pose = estimator.estimate(img)
        except InvalidInputError as err:
            assert err.field == "image"
        else:
            assert pose.mask.shape == (img.height, img.width)
            assert np.isfinite(pose.landmarks).all()


def test_estimator_refuses_non_vision_bundle() -> None:
    fixture = ModelBundle.load(Path(__file__).parent / "fixtures" / "bundle", providers="cpu")
    with pytest.raises(InvalidInputError, match="not a vision bundle"):
        PoseEstimator(fixture)


def test_png_bytes_roundtrip(estimator: PoseEstimator, astronaut: Pose) -> None:
    buf = io.BytesIO()
    Image.open(PHOTOS / "astronaut.jpg").save(buf, format="PNG")
    pose = estimator.estimate(buf.getvalue())
    np.testing.assert_allclose(pose.landmarks, astronaut.landmarks, atol=1e-3)
