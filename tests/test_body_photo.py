"""Body measurements from a photo: synthetic silhouettes with known breadths (hermetic),
bad photos, the BodyProfile.from_photo entry point, and the real estimator on every
test photo when the vision bundle is present."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fashionrec_sdk as fr
from benchmarks.body_photo_error import Figure, add_mask_noise, jitter, render, rotate
from fashionrec_sdk._body_photo import (
    ELLIPSE_MODEL,
    BodyEstimate,
    body_from_photo,
    circumference_from_width,
    estimate_body,
    width_from_circumference,
)
from fashionrec_sdk._physique import body_shape
from fashionrec_sdk._pose import LANDMARKS, MAX_WORK_SIDE, MIN_IMAGE_SIDE, Pose
from fashionrec_sdk._records import BodyProfile

InvalidInputError = fr.InvalidInputError
ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
VISION = ROOT / "fashionrec_sdk" / "models" / "vision"

#: Girth tolerance (cm) against the ellipse-model truth of a clean silhouette.
CLEAN_TOL = 2.0

SHAPES = {
    "hourglass": Figure(bust_cm=92, waist_cm=68, hips_cm=96),
    "pear": Figure(bust_cm=86, waist_cm=70, hips_cm=102, height_cm=160),
    "inverted_triangle": Figure(bust_cm=100, waist_cm=78, hips_cm=88, height_cm=182),
    "apple": Figure(bust_cm=96, waist_cm=86, hips_cm=100),
    "rectangle": Figure(bust_cm=88, waist_cm=76, hips_cm=92, height_cm=175),
}


def _idx(name: str) -> int:
    return LANDMARKS.index(name)


@pytest.fixture(scope="module")
def base() -> tuple[Figure, Pose, BodyEstimate]:
    fig = SHAPES["hourglass"]
    pose = render(fig)
    return fig, pose, estimate_body(pose, fig.height_cm)


def _errors(est: BodyEstimate, fig: Figure) -> dict[str, float]:
    truth = fig.truth()
    p = est.profile
    return {
        "bust": abs(p.bust_cm - truth["bust"]),
        "waist": abs(p.waist_cm - truth["waist"]),
        "hips": abs(p.hips_cm - truth["hips"]),
    }


# ----------------------------------------------------------------- synthetic figures


@pytest.mark.parametrize("shape", list(SHAPES))
def test_clean_figure_recovers_girths_and_shape(shape: str) -> None:
    fig = SHAPES[shape]
    truth = fig.truth()
    assert body_shape(truth["bust"], truth["waist"], truth["hips"]) == shape  # test premise
    est = estimate_body(render(fig), fig.height_cm)
    assert max(_errors(est, fig).values()) <= CLEAN_TOL, (est.profile, truth)
    assert est.profile.body_shape == shape
    assert est.profile.height_cm == fig.height_cm
    assert est.profile.confidence == est.confidence > 0.85
    assert est.warnings == ()
    assert est.pixel_height == pytest.approx(fig.height_cm * 3.0, rel=0.02)


@pytest.mark.parametrize("degrees", [10.0, -10.0])
def test_tilted_figure_is_measured_across_the_axis(
    degrees: float, base: tuple[Figure, Pose, BodyEstimate]
) -> None:
    fig, pose, clean = base
    est = estimate_body(rotate(pose, degrees), fig.height_cm)
    assert max(_errors(est, fig).values()) <= CLEAN_TOL
    assert abs(est.tilt_deg) == pytest.approx(10.0, abs=0.5)
    assert any("tilted" in w for w in est.warnings)
    assert est.confidence < clean.confidence


def test_mask_noise_and_landmark_jitter_stay_close(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    fig, pose, clean = base
    rng = np.random.default_rng(3)
    est = estimate_body(jitter(add_mask_noise(pose, rng), rng), fig.height_cm)
    assert max(_errors(est, fig).values()) <= 6.0
    assert est.confidence_parts["mask_sharpness"] < clean.confidence_parts["mask_sharpness"]
    assert est.confidence < clean.confidence


def test_arms_pressed_to_the_torso_warn_and_lower_confidence(
    base: tuple[Figure, Pose, BodyEstimate],
) -> None:
    fig, _, clean = base
    est = estimate_body(render(replace(fig, arms="pressed")), fig.height_cm)
    assert any("arms touch the torso at waist level" in w for w in est.warnings)
    assert est.confidence_parts["arms"] < 1.0
    assert est.confidence < 0.75 * clean.confidence
    # cutting the arms at their landmarks keeps the girths in the right range
    assert max(_errors(est, fig).values()) <= 10.0


def test_estimate_is_deterministic_and_serialisable(
    base: tuple[Figure, Pose, BodyEstimate],
) -> None:
    fig, pose, clean = base
    again = estimate_body(pose, fig.height_cm)
    assert again == clean
    assert BodyEstimate.model_validate_json(clean.model_dump_json()) == clean
    assert set(clean.widths_cm) == {"shoulder", "bust", "waist", "hips"}
    assert 0.25 <= clean.levels["bust"] <= 0.42 and 0.5 <= clean.levels["waist"] <= 0.8


# ----------------------------------------------------------------- bad photos


def _crop_rows(pose: Pose, top: int, bottom: int) -> Pose:
    lm = pose.landmarks.copy()
    lm[:, 1] -= top
    return replace(pose, landmarks=lm, mask=np.ascontiguousarray(pose.mask[top:bottom]))


def _reason(pose: Pose, height: float = 168.0) -> str:
    with pytest.raises(InvalidInputError) as info:
        estimate_body(pose, height)
    assert info.value.field == "image"
    return str(info.value)


def test_ankles_off_the_image(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    knee_y = int(pose.landmarks[_idx("left_knee"), 1])
    msg = _reason(_crop_rows(pose, 0, knee_y + 40))
    assert "feet are outside the image" in msg and "full-body photo" in msg


def test_soles_cut_by_the_border(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    ankle_y = int(pose.landmarks[_idx("left_ankle"), 1])
    assert "feet are outside the image" in _reason(_crop_rows(pose, 0, ankle_y + 6))


def test_head_cut_by_the_border(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    nose_y = int(pose.landmarks[_idx("nose"), 1])
    assert "top of the head is outside" in _reason(
        _crop_rows(pose, nose_y - 15, pose.mask.shape[0])
    )


def test_low_visibility_names_the_part(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    lm = pose.landmarks.copy()
    lm[_idx("right_knee"), 3] = 0.2
    msg = _reason(replace(pose, landmarks=lm))
    assert "knees are not clearly visible" in msg and "0.20" in msg


def test_no_person(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    assert "no person" in _reason(replace(pose, mask=np.zeros_like(pose.mask)))
    assert "no person" in _reason(replace(pose, score=0.05))


def test_second_figure_beside_the_pose_is_not_measured(
    base: tuple[Figure, Pose, BodyEstimate],
) -> None:
    """``estimate_body`` measures the person its landmarks locate; refusing photos of
    several people is the pose estimator's job (see the real two-people photo below)."""
    fig, pose, clean = base
    two = replace(pose, mask=np.concatenate([pose.mask, pose.mask], axis=1))
    assert estimate_body(two, fig.height_cm).profile == clean.profile


def test_person_too_small(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    fig, _, _ = base
    small = render(fig, px_per_cm=1.0, margin_cm=60)
    assert "px tall" in _reason(small)


def test_tiny_image(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    side = MIN_IMAGE_SIDE - 1
    tiny = replace(pose, mask=pose.mask[:side, :side])
    assert f"at least {MIN_IMAGE_SIDE} px" in _reason(tiny)


def test_lying_or_strongly_tilted_body(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    fig, _, _ = base
    big = render(fig, margin_cm=60)
    assert "tilted 40 deg" in _reason(rotate(big, 40.0))


def test_side_view(base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    lm = pose.landmarks.copy()
    mid = (lm[_idx("left_shoulder"), 0] + lm[_idx("right_shoulder"), 0]) / 2
    lm[_idx("left_shoulder"), 0] = mid + 4
    lm[_idx("right_shoulder"), 0] = mid - 4
    assert "sideways" in _reason(replace(pose, landmarks=lm))


@pytest.mark.parametrize("bad", [90, 250, float("nan"), "170", True, None])
def test_bad_height_names_height_cm(bad: object, base: tuple[Figure, Pose, BodyEstimate]) -> None:
    _, pose, _ = base
    with pytest.raises(InvalidInputError) as info:
        estimate_body(pose, bad)  # type: ignore[arg-type]
    assert info.value.field == "height_cm"


# ----------------------------------------------------------------- model and API


def test_ellipse_model_reproduces_the_anthropometric_means() -> None:
    # ANSUR II female means (cm): breadth -> girth
    assert circumference_from_width("bust", 26.9) == pytest.approx(94.7, abs=0.3)
    assert circumference_from_width("waist", 30.0) == pytest.approx(86.1, abs=0.3)
    assert circumference_from_width("hips", 35.4) == pytest.approx(102.1, abs=0.3)
    for part in ELLIPSE_MODEL:
        assert circumference_from_width(part, width_from_circumference(part, 90.0)) == (
            pytest.approx(90.0)
        )


class _FakeEstimator:
    def __init__(self, pose: Pose | None) -> None:
        self.pose = pose
        self.calls = 0
        self.sizes: list[tuple[int, int]] = []

    def estimate(self, image: Image.Image, /) -> Pose:
        self.calls += 1
        self.sizes.append(image.size)
        if self.pose is None:
            raise AssertionError("the estimator must not be called")
        return self.pose


def test_from_photo_returns_a_profile_with_confidence(
    base: tuple[Figure, Pose, BodyEstimate],
) -> None:
    fig, pose, clean = base
    photo = Image.fromarray((pose.mask * 255).astype(np.uint8)).convert("RGB")
    fake = _FakeEstimator(pose)
    profile = fr.BodyProfile.from_photo(photo, fig.height_cm, estimator=fake)
    assert fake.calls == 1
    assert profile == clean.profile
    assert profile.confidence is not None and 0 <= profile.confidence <= 1
    assert profile.labels[0] == "hourglass"


def test_from_photo_checks_height_before_running_the_model() -> None:
    photo = Image.new("RGB", (300, 500))
    with pytest.raises(InvalidInputError) as info:
        fr.BodyProfile.from_photo(photo, 250, estimator=_FakeEstimator(None))
    assert info.value.field == "height_cm"


def test_from_photo_gives_the_estimator_a_working_size_image(
    base: tuple[Figure, Pose, BodyEstimate],
) -> None:
    fig, pose, _ = base
    fake = _FakeEstimator(pose)
    body_from_photo(Image.new("RGB", (2000, 4000)), fig.height_cm, estimator=fake)
    assert fake.sizes == [(640, MAX_WORK_SIDE)]


def test_from_photo_refuses_tiny_and_missing_images() -> None:
    side = MIN_IMAGE_SIDE - 1
    with pytest.raises(InvalidInputError, match=f"at least {MIN_IMAGE_SIDE} px"):
        body_from_photo(Image.new("RGB", (side, side)), 170, estimator=_FakeEstimator(None))
    with pytest.raises(InvalidInputError) as info:
        body_from_photo("/nonexistent/photo.jpg", 170, estimator=_FakeEstimator(None))
    assert info.value.field == "image"


def test_body_profile_confidence_is_optional_and_bounded() -> None:
    assert fr.BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98).confidence is None
    with pytest.raises(InvalidInputError) as info:
        fr.BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98, confidence=1.5)
    assert info.value.field == "confidence"


# ----------------------------------------------------------------- real estimator

_real = pytest.mark.skipif(
    not (VISION / "manifest.json").is_file(),
    reason="needs the vision bundle (fashionrec_sdk/models/vision)",
)

#: What each test photo (tests/fixtures/photos, see its README) gives at 170 cm.
REFUSED = {
    "astronaut.jpg": "the hips are outside the image",
    "cameraman_gray.jpg": "the knees are not clearly visible",
    "standing_full_body.jpg": "the feet are outside the image",  # toes on the last row
    "two_people.jpg": "several people",
}


def test_every_test_photo_has_an_expected_outcome() -> None:
    assert {p.name for p in PHOTOS.glob("*.jpg")} == {*REFUSED, "standing_full_body_floor.jpg"}


@_real
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_real_photo_is_refused_with_its_reason(name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        body_from_photo(PHOTOS / name, 170)
    assert info.value.field == "image"
    assert str(info.value).startswith(f"image: {REFUSED[name]}")


@_real
def test_real_full_body_photo_gives_a_low_confidence_estimate() -> None:
    """The real person of ``standing_full_body.jpg`` with synthetic floor below the feet:
    measured, but holding a ball (arms across the chest) and turned, so the estimate
    carries both warnings and a low confidence."""
    est = body_from_photo(PHOTOS / "standing_full_body_floor.jpg", 170)
    profile = est.profile
    for key in ("bust_cm", "waist_cm", "hips_cm"):
        bounds = {type(m).__name__: m for m in BodyProfile.model_fields[key].metadata}
        value = getattr(profile, key)
        assert math.isfinite(value) and bounds["Ge"].ge <= value <= bounds["Le"].le, key
    assert profile.hips_cm > profile.waist_cm
    assert 0.0 <= est.confidence <= 1.0 and est.confidence < 0.5
    assert profile.confidence == est.confidence
    assert any(w.startswith("arms touch the torso") for w in est.warnings)
    assert any("turned" in w and "away from the camera" in w for w in est.warnings)
    again = fr.BodyProfile.from_photo(PHOTOS / "standing_full_body_floor.jpg", 170)
    assert again == profile  # the shared default estimator: same result, deterministic
