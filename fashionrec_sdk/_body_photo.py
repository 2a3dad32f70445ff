"""Body measurements and body shape from one full-body photo and the person's height.

Input: a :class:`~fashionrec_sdk._pose.Pose` (33 BlazePose landmarks in image pixels and
a person-probability mask at image resolution) and the stature in cm the shopper typed.

Method (:func:`estimate_body`):

1. **Photo checks.** One person (the pose estimator refuses photos of several people;
   :func:`estimate_body` trusts the pose it is given), a full, upright body: nose,
   shoulders, hips, knees and ankles inside the image with visibility >= 0.5, head top and
   soles not touching the image border, torso tilt <= 30 deg, shoulders and hips not
   turned more than 70 deg (from the landmarks' depth; above 30 deg a warning), shoulder
   landmarks at least 0.08 x stature apart (not a side view), at least 200 px from head
   to feet. A failed
   check raises :class:`InvalidInputError` (``field="image"``) naming the part and reason.
2. **Body axis.** From the shoulders' midpoint to the hips' midpoint; every level is a
   line *perpendicular* to that axis, so a tilted camera (mild roll) does not widen the
   measures. ``t`` is the position along the axis in shoulder->hip units (0 at the
   shoulders' midpoint, 1 at the hips' midpoint).
3. **Scale.** Pixel height = from the top of the mask above the nose to the lowest of
   the soles (mask below the ankles) and the heel/foot landmarks, along the axis;
   ``cm_per_px = height_cm / pixel height``. Hair and shoes count as body (a few cm).
4. **Silhouette widths** (mask >= 0.5, sub-pixel edges), per level, of the mask
   segments that overlap the span between the two hip landmarks -- this keeps the torso
   (and both legs below the crotch) and drops arms that hang free. Where an arm's
   shoulder-elbow-wrist-hand polyline crosses *inside* that segment the arm touches the
   torso: the segment is cut at the arm's inner edge (arm thickness measured on the
   mask at the forearm and upper arm) and a warning is added. The width profile is
   median-smoothed over 5 levels (0.05 shoulder-hip units). Levels, from segment
   proportions of stature (Drillis & Contini 1966: shoulder 0.818 H, chest 0.720 H,
   hip joint 0.530 H, crotch ~0.47 H; natural waist ~0.625 H):

   * shoulder: width at ``t = 0.05`` (includes the deltoids, like a bideltoid breadth);
   * bust: widest in ``t`` in [0.25, 0.42] (chest level is ``t ~ 0.34``);
   * waist: narrowest in ``t`` in [0.50, 0.80] (natural waist ``t ~ 0.67``);
   * hips: widest in ``t`` in [0.85, 1.20] (seat ``t ~ 1.1``; crotch ``t ~ 1.2``).

   When the extreme lies on a window's edge (a torso that does not narrow at the
   waist, hips narrower than the waist) the width at the typical level is used
   instead (waist ``t = 0.67``, hips ``t = 1.10``): the window edge is then a point on
   the way to another measurement, not this one.

5. **Circumferences.** Each frontal breadth ``w`` becomes an ellipse with axes ``w`` and
   ``r * w`` whose perimeter (Ramanujan) is scaled by ``k``:
   ``C = k * ellipse(w, r * w)``. ``r`` (depth/breadth) and ``k`` (measured girth over
   the perimeter of the mean breadth/depth ellipse) come from the female means of the
   2012 U.S. Army anthropometric survey, ANSUR II (Gordon et al. 2014, NATICK/TR-15/007;
   means as transcribed in public code, cm): chest breadth 26.9 / depth 24.7 (r 0.92,
   k 1.17), waist breadth 30.0 / depth 21.3 (r 0.71, k 1.06), hip breadth 35.4 / buttock
   depth 23.3 (r 0.66, k 1.10). The assumption is that a person's depth is the
   population's depth/breadth ratio times their breadth; real bodies (a large bust, a
   flat or round belly) depart from it, and that error is *not* measured here -- no
   photos with known girths are available.

Confidence in [0, 1] is the product of: the detection score, landmark visibility,
mask sharpness (soft-edge pixels per boundary pixel), uprightness (tilt), frontality
(shoulder depth difference and shoulder breadth / stature) and a penalty for each level
where arms touch the torso. Its parts are returned in :attr:`BodyEstimate.confidence_parts`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from ._errors import InvalidInputError
from ._images import ImageInput, load_image
from ._pose import (
    LANDMARKS,
    MIN_IMAGE_SIDE,
    MIN_VISIBILITY,
    Pose,
    PoseSource,
    default_estimator,
    working_image,
)
from ._pose_decode import bilinear, runs
from ._records import BodyProfile
from ._validation import Record

__all__ = [
    "BodyEstimate",
    "body_from_photo",
    "check_height",
    "circumference_from_width",
    "estimate_body",
    "pick_levels",
    "width_from_circumference",
]

F64 = NDArray[np.float64]


#: Smallest head-to-feet size, in pixels, that gives usable widths.
MIN_PERSON_PX = 200
#: Largest torso tilt from the image vertical.
MAX_TILT_DEG = 30.0
#: Largest shoulder/hip yaw (turn away from the camera) estimated from landmark depth;
#: BlazePose depth is noisy, so above 30 deg it only warns and lowers the confidence.
MAX_YAW_DEG = 70.0
_WARN_YAW_DEG = 30.0

#: ``(depth / breadth ratio r, girth / ellipse-perimeter factor k)`` per measurement,
#: from ANSUR II female means (see the module docstring).
ELLIPSE_MODEL: dict[str, tuple[float, float]] = {
    "bust": (24.7 / 26.9, 1.168),
    "waist": (21.3 / 30.0, 1.061),
    "hips": (23.3 / 35.4, 1.096),
}

# Levels along the shoulder->hip axis (see the module docstring).
_SHOULDER_T = 0.05
_WINDOWS: dict[str, tuple[float, float, str, float | None]] = {
    # name: (from t, to t, extreme, level used when the extreme is on the window edge)
    "bust": (0.25, 0.42, "max", None),
    "waist": (0.50, 0.80, "min", 0.67),
    "hips": (0.85, 1.20, "max", 1.10),
}
_ARMPIT_T = 0.2  # above it the arms are part of the shoulder silhouette
_T_STEP = 0.01
_S_STEP = 0.5  # lateral sampling step, px

_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the head is", ("nose",)),
    ("the shoulders are", ("left_shoulder", "right_shoulder")),
    ("the hips are", ("left_hip", "right_hip")),
    ("the knees are", ("left_knee", "right_knee")),
    ("the feet are", ("left_ankle", "right_ankle")),
)
_REQUIRED = tuple(name for _, names in _PARTS for name in names)
_INDEX = {name: i for i, name in enumerate(LANDMARKS)}


class BodyEstimate(Record):
    """A body profile estimated from a photo, with how it was measured.

    Attributes:
        profile: the measurements (cm) with :attr:`BodyProfile.confidence` set.
        confidence: in [0, 1]; the product of :attr:`confidence_parts`.
        confidence_parts: detection, visibility, mask_sharpness, upright, frontal, arms.
        widths_px / widths_cm: frontal silhouette breadths at shoulder, bust, waist, hips.
        levels: where each breadth was taken, in shoulder(0)->hip(1) axis units.
        pixel_height: head top to soles along the body axis, in pixels.
        cm_per_px: the scale from the given height.
        tilt_deg: signed angle of the body axis from the image vertical.
        warnings: what may make a measurement less reliable.
    """

    profile: BodyProfile
    confidence: float = Field(ge=0, le=1)
    confidence_parts: dict[str, float]
    widths_px: dict[str, float]
    widths_cm: dict[str, float]
    levels: dict[str, float]
    pixel_height: float
    cm_per_px: float
    tilt_deg: float
    warnings: tuple[str, ...] = ()


def _ellipse_perimeter(a: float, b: float) -> float:
    """Ramanujan's perimeter of an ellipse with semi-axes ``a`` and ``b``."""
    return math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))


def circumference_from_width(part: str, width_cm: float) -> float:
    """Girth (cm) of ``part`` (bust, waist, hips) from its frontal breadth (cm)."""
    r, k = ELLIPSE_MODEL[part]
    return k * _ellipse_perimeter(width_cm / 2, r * width_cm / 2)


def width_from_circumference(part: str, circumference_cm: float) -> float:
    """Inverse of :func:`circumference_from_width` (the model is linear in the breadth)."""
    return circumference_cm / circumference_from_width(part, 1.0)


def check_height(height_cm: object) -> float:
    """``height_cm`` as a float within :class:`BodyProfile`'s bounds, else InvalidInputError."""
    bounds = {type(m).__name__: m for m in BodyProfile.model_fields["height_cm"].metadata}
    lo = float(getattr(bounds.get("Ge"), "ge", 100))
    hi = float(getattr(bounds.get("Le"), "le", 230))
    if isinstance(height_cm, bool) or not isinstance(height_cm, int | float | np.number):
        raise InvalidInputError(
            f"height_cm must be a number, got {type(height_cm).__name__}", field="height_cm"
        )
    value = float(height_cm)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise InvalidInputError(
            f"height_cm must be between {lo:g} and {hi:g} cm, got {height_cm!r}",
            field="height_cm",
        )
    return value


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(f"image: {message}", field="image")


# --------------------------------------------------------------------------- sampling


def _sample(mask: NDArray[np.float32], xs: F64, ys: F64) -> F64:
    """Bilinear mask values at pixel coordinates, 0 outside the image."""
    return bilinear(mask, xs, ys, fill=0.0).astype(np.float64)


def _runs(vals: F64, pos: F64) -> list[tuple[float, float]]:
    """Segments where ``vals >= 0.5``, with linearly interpolated sub-sample edges."""
    _, starts, ends = runs(vals >= 0.5)
    last = len(vals) - 1

    def edge(i: int, j: int) -> float:  # crossing between samples i (one side) and j
        vi, vj = vals[i], vals[j]
        frac = 0.0 if vj == vi else (0.5 - vi) / (vj - vi)
        return float(pos[i] + frac * (pos[j] - pos[i]))

    out = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        lo = edge(s - 1, s) if s > 0 else float(pos[0])
        hi = edge(e - 1, e) if e <= last else float(pos[-1])
        out.append((lo, hi))
    return out


def _walk(
    mask: NDArray[np.float32], start: F64, direction: F64, length: float
) -> tuple[float, bool] | None:
    """Distance from ``start`` along ``direction`` to where the mask ends.

    ``None`` when ``start`` itself is off the mask; the flag is True when the mask is
    still on at the image border (the body continues outside the image).
    """
    d = np.arange(0.0, length, _S_STEP)
    xs, ys = start[0] + d * direction[0], start[1] + d * direction[1]
    vals = _sample(mask, xs, ys)
    h, w = mask.shape
    inside = (xs >= 0) & (xs <= w) & (ys >= 0) & (ys <= h)
    if vals[0] < 0.5:
        return None
    off = np.flatnonzero(vals < 0.5)
    if off.size == 0:
        return float(d[-1]), bool(not inside.all())
    i = int(off[0])
    if not inside[i]:
        return float(d[i - 1]), True
    frac = (0.5 - vals[i - 1]) / (vals[i] - vals[i - 1])
    return float(d[i - 1] + frac * _S_STEP), False


# --------------------------------------------------------------------------- checks


def _check_person(pose: Pose) -> None:
    mask = pose.mask
    if mask.ndim != 2 or min(mask.shape) < 2 or pose.landmarks.shape != (len(LANDMARKS), 4):
        raise _bad("the pose has no usable mask or landmarks")
    if min(mask.shape) < MIN_IMAGE_SIDE:
        raise _bad(
            f"the image is {mask.shape[1]}x{mask.shape[0]} px; at least "
            f"{MIN_IMAGE_SIDE} px on the short side is needed"
        )
    if pose.score < 0.3 or (mask >= 0.5).mean() < 0.002:
        raise _bad("no person was found")


def _check_landmarks(pose: Pose) -> None:
    w, h = pose.size
    for part, names in _PARTS:
        for name in names:
            x, y = pose.point(name)
            if not (math.isfinite(x) and math.isfinite(y)) or not (0 <= x < w and 0 <= y < h):
                raise _bad(f"{part} outside the image; a full-body photo is needed")
        vis = min(pose.visibility(name) for name in names)
        if vis < MIN_VISIBILITY:
            raise _bad(
                f"{part} not clearly visible (visibility {vis:.2f} < {MIN_VISIBILITY}); "
                "a full-body photo with nothing covering the body is needed"
            )


# --------------------------------------------------------------------------- geometry


class _Frame:
    """Body-axis coordinates: ``t`` along shoulders(0)->hips(1), ``s`` lateral px."""

    def __init__(self, pose: Pose) -> None:
        ls, rs = np.array(pose.point("left_shoulder")), np.array(pose.point("right_shoulder"))
        lh, rh = np.array(pose.point("left_hip")), np.array(pose.point("right_hip"))
        self.origin = (ls + rs) / 2
        axis = (lh + rh) / 2 - self.origin
        self.span = float(np.hypot(*axis))
        if self.span < 1.0:
            raise _bad("the shoulders and hips coincide; an upright, full-body photo is needed")
        self.u = axis / self.span
        self.n = np.array([self.u[1], -self.u[0]])  # lateral, towards image right when upright
        self.tilt_deg = math.degrees(math.atan2(self.u[0], self.u[1]))

    def ts(self, p: Sequence[float] | F64) -> tuple[float, float]:
        d = np.asarray(p, dtype=np.float64) - self.origin
        return float(d @ self.u) / self.span, float(d @ self.n)

    def point(self, t: float, s: float = 0.0) -> F64:
        out: F64 = self.origin + t * self.span * self.u + s * self.n
        return out


def _check_upright(pose: Pose, frame: _Frame) -> None:
    if abs(frame.tilt_deg) > MAX_TILT_DEG:
        raise _bad(
            f"the body is tilted {abs(frame.tilt_deg):.0f} deg from vertical (at most "
            f"{MAX_TILT_DEG:.0f}); an upright, standing photo is needed"
        )
    knee = max(frame.ts(pose.point(n))[0] for n in ("left_knee", "right_knee"))
    ankle = min(frame.ts(pose.point(n))[0] for n in ("left_ankle", "right_ankle"))
    if not 1.0 < knee < ankle:
        raise _bad("the legs are not below the hips; a standing, full-body photo is needed")


def _yaw_deg(pose: Pose, a: str, b: str) -> float:
    pa, pb = pose.landmarks[_INDEX[a]], pose.landmarks[_INDEX[b]]
    dx = float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))
    return math.degrees(math.atan2(abs(float(pa[2] - pb[2])), dx))


def _extent(mask: NDArray[np.float32], pose: Pose, frame: _Frame) -> tuple[float, float]:
    """``(t_top, t_bottom)`` of the head top and the soles; raises when cut by the border."""
    head_r = 0.25 * frame.span
    tops = []
    for off in np.linspace(-0.4, 0.4, 5) * head_r:
        hit = _walk(mask, np.array(pose.point("nose")) + off * frame.n, -frame.u, frame.span)
        if hit is None:
            continue
        dist, cut = hit
        if cut:
            raise _bad("the top of the head is outside the image; a full-body photo is needed")
        tops.append(frame.ts(np.array(pose.point("nose")) + off * frame.n - dist * frame.u)[0])
    if not tops:
        raise _bad("the person mask does not cover the head; is the person clearly visible?")
    bottoms = []
    for ankle in ("left_ankle", "right_ankle"):
        base = np.array(pose.point(ankle))
        for off in np.linspace(-0.15, 0.15, 3) * frame.span:
            hit = _walk(mask, base + off * frame.n, frame.u, frame.span)
            if hit is None:
                continue
            dist, cut = hit
            if cut and off == 0:
                raise _bad("the feet are outside the image; a full-body photo is needed")
            if cut:
                continue  # a side line that runs into the border (shadow, floor)
            bottoms.append(frame.ts(base + off * frame.n + dist * frame.u)[0])
    for name in ("left_heel", "right_heel", "left_foot_index", "right_foot_index"):
        x, y = pose.point(name)
        w, h = pose.size
        if pose.visibility(name) >= MIN_VISIBILITY and 0 <= x < w and 0 <= y < h:
            bottoms.append(frame.ts((x, y))[0])
    if not bottoms:
        raise _bad("the person mask does not reach the feet; is the person clearly visible?")
    return min(tops), max(bottoms)


def _arms(pose: Pose, frame: _Frame) -> list[list[tuple[float, float]]]:
    """Each arm's shoulder-elbow-wrist-hand polyline in ``(t, s)`` coordinates."""
    out = []
    for side in ("left", "right"):
        pts = [pose.point(f"{side}_{j}") for j in ("shoulder", "elbow", "wrist")]
        fingers = [pose.point(f"{side}_{f}") for f in ("index", "pinky")]
        pts.append(
            (float(np.mean([f[0] for f in fingers])), float(np.mean([f[1] for f in fingers])))
        )
        out.append([frame.ts(p) for p in pts])
    return out


def _arm_half_width(mask: NDArray[np.float32], pose: Pose, pixel_height: float) -> float:
    """Half the arm thickness, from the mask across the forearm and the upper arm."""
    widths = []
    for side in ("left", "right"):
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist")):
            pa, pb = np.array(pose.point(f"{side}_{a}")), np.array(pose.point(f"{side}_{b}"))
            seg = pb - pa
            length = float(np.hypot(*seg))
            if length < 1:
                continue
            normal = np.array([seg[1], -seg[0]]) / length
            mid = (pa + pb) / 2
            s = np.arange(-0.1 * pixel_height, 0.1 * pixel_height, _S_STEP)
            vals = _sample(mask, mid[0] + s * normal[0], mid[1] + s * normal[1])
            for lo, hi in _runs(vals, s):
                if lo <= 0 <= hi:
                    widths.append(hi - lo)
    plausible = [w for w in widths if 0.02 * pixel_height <= w <= 0.07 * pixel_height]
    return (min(plausible) if plausible else 0.045 * pixel_height) / 2


def _arm_crossings(arm: list[tuple[float, float]], t: float) -> list[float]:
    out = []
    for (t0, s0), (t1, s1) in itertools.pairwise(arm):
        if t0 != t1 and min(t0, t1) <= t <= max(t0, t1):
            out.append(s0 + (t - t0) / (t1 - t0) * (s1 - s0))
    return out


def _profile(
    mask: NDArray[np.float32],
    frame: _Frame,
    core: tuple[float, float],
    arms: list[list[tuple[float, float]]],
    arm_half: float,
    ts: F64,
    half_len: float,
) -> tuple[F64, NDArray[np.bool_]]:
    """Torso breadth (px) per level and whether an arm touched the torso there."""
    s = np.arange(-half_len, half_len + _S_STEP, _S_STEP)
    widths = np.full(len(ts), np.nan)
    touched = np.zeros(len(ts), dtype=bool)
    for i, t in enumerate(ts):
        c = frame.point(float(t))
        vals = _sample(mask, c[0] + s * frame.n[0], c[1] + s * frame.n[1])
        picked = [r for r in _runs(vals, s) if r[1] >= core[0] and r[0] <= core[1]]
        if not picked:
            continue
        lo, hi = min(r[0] for r in picked), max(r[1] for r in picked)
        for arm in arms if t >= _ARMPIT_T else ():
            for sa in _arm_crossings(arm, float(t)):
                if not lo < sa < hi:
                    continue
                touched[i] = True
                if sa > 0 and sa - arm_half > 0.5 * hi:
                    hi = sa - arm_half
                elif sa < 0 and sa + arm_half < 0.5 * lo:
                    lo = sa + arm_half
        widths[i] = hi - lo
    return widths, touched


def _smooth(x: F64, k: int = 5) -> F64:
    pad = k // 2
    xp = np.pad(x, pad, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(xp, k)
    return np.nanmedian(win, axis=1) if np.isfinite(win).any() else x


def pick_levels(ts: F64, widths: F64) -> dict[str, tuple[float, float]]:
    """``{name: (t, width)}`` for shoulder, bust, waist, hips from a width profile.

    ``ts`` are axis levels (shoulders 0, hips 1), ``widths`` the breadth at each (NaN
    where no silhouette); the rules are in the module docstring.
    """
    out: dict[str, tuple[float, float]] = {}
    i_sh = int(np.argmin(np.abs(ts - _SHOULDER_T)))
    out["shoulder"] = (float(ts[i_sh]), float(widths[i_sh]))
    for name, (t0, t1, how, fallback) in _WINDOWS.items():
        sel = np.flatnonzero((ts >= t0 - 1e-9) & (ts <= t1 + 1e-9))
        vals = widths[sel]
        if not np.isfinite(vals).any():
            raise _bad(f"no body silhouette at {name} level; is the person clearly visible?")
        k = int(np.nanargmax(vals) if how == "max" else np.nanargmin(vals))
        on_edge = k <= 1 or k >= len(sel) - 2
        j = int(np.argmin(np.abs(ts - fallback))) if on_edge and fallback is not None else sel[k]
        out[name] = (float(ts[j]), float(widths[j]))
    return out


def _mask_sharpness(mask: NDArray[np.float32]) -> float:
    """1 for a crisp mask; lower as the soft band around the boundary widens."""
    on = mask >= 0.5
    boundary = int((on[:, 1:] != on[:, :-1]).sum() + (on[1:] != on[:-1]).sum())
    if boundary == 0:
        return 0.0
    soft = int(((mask > 0.1) & (mask < 0.9)).sum())
    return float(np.clip(1 - (soft / boundary - 1.5) / 6, 0, 1))


# --------------------------------------------------------------------------- public


def estimate_body(pose: Pose, height_cm: float) -> BodyEstimate:
    """Measurements, body shape and a confidence from one person's pose and height.

    Args:
        pose: landmarks in image pixels and the person mask (see :class:`Pose`).
        height_cm: the person's stature in cm (100 to 230).

    Raises:
        InvalidInputError: ``field="height_cm"`` for a bad height; ``field="image"``
            when the photo does not show one full, upright, front-facing person (the
            message says which part is missing, cut off or not visible).
    """
    height = check_height(height_cm)
    _check_person(pose)
    _check_landmarks(pose)
    mask = np.asarray(pose.mask, dtype=np.float32)
    frame = _Frame(pose)
    _check_upright(pose, frame)
    yaw = max(
        _yaw_deg(pose, "left_shoulder", "right_shoulder"), _yaw_deg(pose, "left_hip", "right_hip")
    )
    if yaw > MAX_YAW_DEG:
        raise _bad(f"the body is turned {yaw:.0f} deg away from the camera; a front view is needed")
    t_top, t_bottom = _extent(mask, pose, frame)
    pixel_height = (t_bottom - t_top) * frame.span
    if pixel_height < MIN_PERSON_PX:
        raise _bad(
            f"the person is only {pixel_height:.0f} px tall; at least {MIN_PERSON_PX} px is "
            "needed (move closer or use a larger image)"
        )
    if not 0.18 <= frame.span / pixel_height <= 0.40:
        raise _bad(
            "the body proportions do not look like a person standing upright "
            "(sitting, crouching or strongly foreshortened?)"
        )
    shoulder_sep = float(
        np.hypot(*(np.array(pose.point("left_shoulder")) - np.array(pose.point("right_shoulder"))))
    )
    breadth_ratio = shoulder_sep / pixel_height
    if breadth_ratio < 0.08:
        raise _bad("the shoulders look turned sideways; a front view is needed")
    scale = height / pixel_height

    hips_s = sorted(frame.ts(pose.point(n))[1] for n in ("left_hip", "right_hip"))
    core = (0.8 * hips_s[0], 0.8 * hips_s[1])
    arms = _arms(pose, frame)
    arm_half = _arm_half_width(mask, pose, pixel_height)
    ts = np.round(np.arange(0.0, 1.2 + _T_STEP / 2, _T_STEP), 6)
    raw, touched = _profile(mask, frame, core, arms, arm_half, ts, 0.4 * pixel_height)
    widths = _smooth(raw)

    picked = pick_levels(ts, widths)
    widths_px = {name: w for name, (_, w) in picked.items()}
    levels = {name: t for name, (t, _) in picked.items()}
    warnings: list[str] = []
    arm_levels = 0
    for name in _WINDOWS:
        j = int(np.argmin(np.abs(ts - levels[name])))
        near = touched[max(0, j - 2) : j + 3]
        if near.any():
            arm_levels += 1
            warnings.append(
                f"arms touch the torso at {name} level: the {name} breadth is uncertain "
                "(arm pixels were cut at the arm landmarks); hold the arms slightly away "
                "from the body"
            )
    if not all(math.isfinite(v) and v > 0 for v in widths_px.values()):
        raise _bad("the silhouette is broken at shoulder level; is the person clearly visible?")

    widths_cm = {k: v * scale for k, v in widths_px.items()}
    girth = {k: circumference_from_width(k, widths_cm[k]) for k in _WINDOWS}
    _check_plausible(girth)

    if yaw > _WARN_YAW_DEG:
        warnings.append(
            f"the body looks turned {yaw:.0f} deg away from the camera: breadths of a "
            "turned body are not frontal breadths; use a front view"
        )
    if abs(frame.tilt_deg) > 5:
        warnings.append(
            f"the body axis is tilted {abs(frame.tilt_deg):.0f} deg; widths were taken "
            "perpendicular to it"
        )
    vis = float(np.mean([pose.visibility(n) for n in _REQUIRED]))
    parts = {
        "detection": float(np.clip(pose.score, 0, 1)),
        "visibility": float(np.clip((vis - MIN_VISIBILITY) / (0.9 - MIN_VISIBILITY), 0, 1)),
        "mask_sharpness": _mask_sharpness(mask),
        "upright": float(np.clip(1 - (frame.tilt_deg / MAX_TILT_DEG) ** 2, 0, 1)),
        "frontal": float(math.cos(math.radians(yaw)) * np.clip(breadth_ratio / 0.15, 0, 1)),
        "arms": float(max(0.0, 1 - 0.15 * arm_levels)),
    }
    parts = {k: round(v, 4) for k, v in parts.items()}
    confidence = round(float(np.prod(list(parts.values()))), 4)
    if parts["mask_sharpness"] < 0.5:
        warnings.append("the person mask has soft or noisy edges: widths are less reliable")
    profile = BodyProfile(
        height_cm=height,
        bust_cm=round(girth["bust"], 1),
        waist_cm=round(girth["waist"], 1),
        hips_cm=round(girth["hips"], 1),
        confidence=confidence,
    )
    return BodyEstimate(
        profile=profile,
        confidence=confidence,
        confidence_parts=parts,
        widths_px={k: round(v, 2) for k, v in widths_px.items()},
        widths_cm={k: round(v, 2) for k, v in widths_cm.items()},
        levels=levels,
        pixel_height=round(pixel_height, 2),
        cm_per_px=round(scale, 5),
        tilt_deg=round(frame.tilt_deg, 2),
        warnings=tuple(warnings),
    )


def _check_plausible(girth: dict[str, float]) -> None:
    fields = BodyProfile.model_fields
    for part, key in (("bust", "bust_cm"), ("waist", "waist_cm"), ("hips", "hips_cm")):
        bounds = {type(m).__name__: m for m in fields[key].metadata}
        lo, hi = float(bounds["Ge"].ge), float(bounds["Le"].le)
        if not lo <= girth[part] <= hi:
            raise _bad(
                f"the silhouette gives an implausible {part} of {girth[part]:.0f} cm "
                f"(expected {lo:g}-{hi:g}); is this one person, front-facing, with the "
                "height right?"
            )


def body_from_photo(
    image: ImageInput, height_cm: float, *, estimator: PoseSource | None = None
) -> BodyEstimate:
    """Estimate a :class:`BodyProfile` from a full-body, front-facing photo and the height.

    Args:
        image: path, bytes or PIL image of one person standing upright, whole body in
            the picture (head to feet), arms slightly away from the body, fitted clothes.
        height_cm: the person's stature in cm (100 to 230); it sets the scale.
        estimator: object with ``estimate(image) -> Pose``, called with the photo at
            most :data:`~fashionrec_sdk._pose.MAX_WORK_SIDE` px on its long side (pixel
            sizes are relative: the height sets the scale); default: the shared
            :func:`~fashionrec_sdk._pose.default_estimator`.

    Raises:
        InvalidInputError: bad height (``field="height_cm"``) or a photo that cannot be
            measured (``field="image"``, the message names the reason).
    """
    height = check_height(height_cm)
    img = load_image(image)
    if min(img.size) < MIN_IMAGE_SIDE:
        raise _bad(
            f"the image is {img.width}x{img.height} px; at least {MIN_IMAGE_SIDE} px on the "
            "short side is needed"
        )
    work, _ = working_image(img)
    pose = (estimator or default_estimator()).estimate(work)
    return estimate_body(pose, height)
