"""Error of the photo body-measurement estimate on synthetic silhouettes (seeded).

    python -m benchmarks.body_photo_error [--per-shape 12] [--seed 0] [--json out.json]

No photos of people with known girths are reachable here (ViBE has model measurements
but no images), so this measures what can be measured: how well
:func:`fashionrec_sdk._body_photo.estimate_body` recovers *known frontal breadths* from
a rendered silhouette and landmarks, and whether the body-shape label survives.

Figures: for each of the five body shapes of ``_physique.body_shape``, ``--per-shape``
bodies with bust / waist / hip girths drawn uniformly from wide ranges and kept when the
rules give that shape (rejection sampling), height 150-190 cm, shoulder breadth 1.4-1.7
x the chest breadth (ANSUR II female bideltoid / chest breadth is about 1.6). Girths become breadths through the same ellipse model the estimator
uses, so the "truth" is the *ellipse-model* girth of the drawn silhouette: this table
measures the image side (landmarks, mask, scale, levels, arms), **not** the ellipse
model's error on real bodies, which is unmeasured.

Conditions: clean render (anti-aliased mask), mask noise (smooth random field, std 0.25,
added to the soft mask: the 0.5 boundary moves by a few px), landmark jitter (N(0, 3 px)
on x and y), 10 deg camera roll, all three together, and arms pressed to the torso.
Reported per condition: mean absolute error (cm) of bust, waist and hips, agreement of the
shape label and of the size band with the truth, mean confidence, and how often a
warning was raised.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from fashionrec_sdk._body_photo import (
    circumference_from_width,
    estimate_body,
    pick_levels,
    width_from_circumference,
)
from fashionrec_sdk._physique import BODY_SHAPES, body_shape, size_band
from fashionrec_sdk._pose import LANDMARKS, Pose

# Heights above the floor as fractions of stature (Drillis & Contini 1966).
_SHOULDER_H = 0.818
_HIP_H = 0.530
_KNEE_H = 0.285
_ANKLE_H = 0.039
_UPPER_ARM, _FOREARM, _HAND = 0.186, 0.146, 0.108


@dataclass(frozen=True)
class Figure:
    """A standing figure: stature, girths (cm) and the pose of the arms."""

    height_cm: float = 168.0
    bust_cm: float = 90.0
    waist_cm: float = 70.0
    hips_cm: float = 96.0
    shoulder_ratio: float = 1.55  # shoulder (bideltoid-like) breadth / chest breadth
    arms: Literal["away", "pressed"] = "away"
    arm_angle_deg: float = 35.0

    @property
    def breadths(self) -> dict[str, float]:
        """Nominal frontal breadths (cm) at the outline's control levels."""
        bust = width_from_circumference("bust", self.bust_cm)
        return {
            "shoulder": self.shoulder_ratio * bust,
            "bust": bust,
            "waist": width_from_circumference("waist", self.waist_cm),
            "hips": width_from_circumference("hips", self.hips_cm),
        }

    def outline(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Torso breadth (cm) at axis levels ``t`` (shoulders 0, hip joints 1)."""
        b = self.breadths
        knots_t = [-0.10, -0.04, 0.0, 0.10, 0.20, 1 / 3, 0.58, 0.76, 1.10, 1.20]
        knots_w = [
            0.075 * self.height_cm,
            0.8 * b["shoulder"],
            b["shoulder"],
            b["shoulder"],
            0.97 * b["bust"],
            b["bust"],
            b["waist"],
            b["waist"],
            b["hips"],
            0.97 * b["hips"],
        ]
        return np.interp(t, knots_t, knots_w)

    def truth(self) -> dict[str, float]:
        """The girths the estimator should find: its own level rules on the true outline."""
        ts = np.round(np.arange(0.0, 1.2 + 0.005, 0.01), 6)
        picked = pick_levels(ts, self.outline(ts))
        out = {k: circumference_from_width(k, picked[k][1]) for k in ("bust", "waist", "hips")}
        out["shoulder_width"] = picked["shoulder"][1]
        return out


def _ellipse(draw: ImageDraw.ImageDraw, c: tuple[float, float], rx: float, ry: float) -> None:
    draw.ellipse((c[0] - rx, c[1] - ry, c[0] + rx, c[1] + ry), fill=255)


def render(
    fig: Figure,
    *,
    px_per_cm: float = 3.0,
    supersample: int = 3,
    margin_cm: float = 15.0,
) -> Pose:
    """Render ``fig`` facing the camera: a soft person mask and matching landmarks."""
    hgt = fig.height_cm
    b = fig.breadths
    arm_w = 0.047 * hgt  # ~8 cm
    sh_lat = b["shoulder"] / 2 - 0.5 * arm_w
    ang = math.radians(fig.arm_angle_deg)
    reach = sh_lat + (_UPPER_ARM + _FOREARM + _HAND) * hgt * math.sin(ang) + arm_w
    half_w = max(reach, b["hips"] / 2 + arm_w * 2) + margin_cm
    width = math.ceil(2 * half_w * px_per_cm)
    height = math.ceil((hgt + 2 * margin_cm) * px_per_cm)
    cx, floor = width / 2, height - margin_cm * px_per_cm

    def at(lat_cm: float, h_cm: float) -> tuple[float, float]:
        return cx + lat_cm * px_per_cm, floor - h_cm * px_per_cm

    def h_of(t: float) -> float:
        return hgt * (_SHOULDER_H - t * (_SHOULDER_H - _HIP_H))

    hip_lat = 0.25 * b["hips"]
    knee_lat, ankle_lat = 0.22 * b["hips"], 0.2 * b["hips"]
    lm: dict[str, tuple[float, float]] = {}
    lm["nose"] = at(0, 0.915 * hgt)
    for side, sgn in (("left", 1.0), ("right", -1.0)):  # person's left = image right
        lm[f"{side}_eye_inner"] = at(sgn * 1.5, 0.935 * hgt)
        lm[f"{side}_eye"] = at(sgn * 3.0, 0.935 * hgt)
        lm[f"{side}_eye_outer"] = at(sgn * 4.5, 0.935 * hgt)
        lm[f"{side}_ear"] = at(sgn * 7.0, 0.925 * hgt)
        lm[f"mouth_{side}"] = at(sgn * 2.5, 0.895 * hgt)
        lm[f"{side}_shoulder"] = at(sgn * sh_lat, _SHOULDER_H * hgt)
        lm[f"{side}_hip"] = at(sgn * hip_lat, _HIP_H * hgt)
        lm[f"{side}_knee"] = at(sgn * knee_lat, _KNEE_H * hgt)
        lm[f"{side}_ankle"] = at(sgn * ankle_lat, _ANKLE_H * hgt)
        lm[f"{side}_heel"] = at(sgn * ankle_lat, 0.012 * hgt)
        lm[f"{side}_foot_index"] = at(sgn * (ankle_lat + 5), 0.008 * hgt)
        if fig.arms == "away":
            d = np.array([math.sin(ang), -math.cos(ang)])
            p0 = np.array([sgn * sh_lat, _SHOULDER_H * hgt])
            dd = d * np.array([sgn, 1.0])
            elbow = p0 + dd * _UPPER_ARM * hgt
            wrist = elbow + dd * _FOREARM * hgt
            hand = wrist + dd * _HAND * hgt
        else:  # hanging, inner edge overlapping the torso outline by 0.5 cm
            h_el, h_wr = 0.630 * hgt, 0.485 * hgt
            t_el = (_SHOULDER_H * hgt - h_el) / ((_SHOULDER_H - _HIP_H) * hgt)
            t_wr = (_SHOULDER_H * hgt - h_wr) / ((_SHOULDER_H - _HIP_H) * hgt)
            lat_el = float(fig.outline(np.array([t_el]))[0]) / 2 + arm_w / 2 - 0.5
            lat_wr = float(fig.outline(np.array([t_wr]))[0]) / 2 + arm_w / 2 - 0.5
            elbow = np.array([sgn * lat_el, h_el])
            wrist = np.array([sgn * lat_wr, h_wr])
            hand = wrist + np.array([0.0, -_HAND * hgt])
        lm[f"{side}_elbow"] = at(float(elbow[0]), float(elbow[1]))
        lm[f"{side}_wrist"] = at(float(wrist[0]), float(wrist[1]))
        lm[f"{side}_index"] = at(float(hand[0]), float(hand[1]))
        lm[f"{side}_pinky"] = at(float(hand[0]) - sgn * 2, float(hand[1]) + 2)
        lm[f"{side}_thumb"] = at(float(hand[0]) + sgn * 2, float(wrist[1]) - 3)

    s = supersample
    img = Image.new("L", (width * s, height * s), 0)
    draw = ImageDraw.Draw(img)

    def ss(p: tuple[float, float]) -> tuple[float, float]:
        return p[0] * s, p[1] * s

    # torso: outline from the neck (t = -0.1) to the crotch (t = 1.2)
    ts = np.linspace(-0.10, 1.20, 131)
    half = fig.outline(ts) / 2
    right = [ss(at(float(w), h_of(float(t)))) for t, w in zip(ts, half, strict=True)]
    left = [ss(at(-float(w), h_of(float(t)))) for t, w in zip(ts, half, strict=True)]
    draw.polygon(right + left[::-1], fill=255)
    # neck and head
    neck_top = 0.875 * hgt
    draw.polygon(
        [
            ss(at(-0.035 * hgt, h_of(-0.05))),
            ss(at(0.035 * hgt, h_of(-0.05))),
            ss(at(0.035 * hgt, neck_top)),
            ss(at(-0.035 * hgt, neck_top)),
        ],
        fill=255,
    )
    hc = ss(at(0, 0.935 * hgt))
    _ellipse(draw, hc, 0.045 * hgt * px_per_cm * s, 0.065 * hgt * px_per_cm * s)
    # legs and feet
    crotch_h = h_of(1.2)
    leg_hw, ankle_hw = 0.03 * hgt, 0.02 * hgt
    for sgn in (1.0, -1.0):
        hips_half = 0.97 * b["hips"] / 2
        poly = [
            at(sgn * 0.0, crotch_h),
            at(sgn * hips_half, crotch_h),
            at(sgn * (knee_lat + leg_hw), _KNEE_H * hgt),
            at(sgn * (ankle_lat + ankle_hw), _ANKLE_H * hgt),
            at(sgn * (ankle_lat + ankle_hw + 5), 0.0),
            at(sgn * (ankle_lat - ankle_hw), 0.0),
            at(sgn * (ankle_lat - ankle_hw), _ANKLE_H * hgt),
            at(sgn * (knee_lat - leg_hw), _KNEE_H * hgt),
        ]
        draw.polygon([ss(p) for p in poly], fill=255)
    # arms: thick polylines with round joints
    for side in ("left", "right"):
        chain = [lm[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist", "index")]
        pts = [ss(p) for p in chain]
        draw.line(pts, fill=255, width=round(arm_w * px_per_cm * s))
        for p in pts:
            _ellipse(draw, p, arm_w * px_per_cm * s / 2, arm_w * px_per_cm * s / 2)
    small = img.resize((width, height), Image.Resampling.BOX)
    mask = np.asarray(small, dtype=np.float32) / np.float32(255.0)
    landmarks = np.zeros((len(LANDMARKS), 4), dtype=np.float32)
    for i, name in enumerate(LANDMARKS):
        landmarks[i, :2] = lm[name]
        landmarks[i, 3] = 0.98
    return Pose(landmarks=landmarks, mask=mask, score=0.97)


def rotate(pose: Pose, degrees: float) -> Pose:
    """The same scene seen by a camera rolled by ``degrees`` (counter-clockwise on screen)."""
    h, w = pose.mask.shape
    img = Image.fromarray(pose.mask, mode="F").rotate(
        degrees, resample=Image.Resampling.BILINEAR, center=(w / 2, h / 2)
    )
    a = math.radians(degrees)
    d = pose.landmarks[:, :2] - np.array([w / 2, h / 2], dtype=np.float32)
    lm = pose.landmarks.copy()
    lm[:, 0] = w / 2 + d[:, 0] * math.cos(a) + d[:, 1] * math.sin(a)
    lm[:, 1] = h / 2 - d[:, 0] * math.sin(a) + d[:, 1] * math.cos(a)
    return replace(pose, landmarks=lm, mask=np.asarray(img, dtype=np.float32))


def add_mask_noise(pose: Pose, rng: np.random.Generator, std: float = 0.25) -> Pose:
    """Move the mask boundary irregularly: blur the mask (sigma 1.5 px) and add a smooth
    random field (sigma 3 px, std ``std``) in a band around the boundary."""
    field = _blur(rng.normal(0.0, 1.0, pose.mask.shape), 3.0)
    field *= std / max(float(field.std()), 1e-6)
    soft = _blur(pose.mask.astype(np.float64), 1.5)
    near = _blur(pose.mask.astype(np.float64), 4.0)
    band = np.clip(4 * near * (1 - near) * 2, 0, 1)  # 1 near the boundary, 0 far from it
    return replace(pose, mask=np.clip(soft + field * band, 0, 1).astype(np.float32))


def _blur(x: NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
    """Separable Gaussian blur (edges padded by reflection)."""
    r = math.ceil(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    x = np.pad(x, r, mode="reflect")
    x = np.apply_along_axis(lambda v: np.convolve(v, k, mode="valid"), 0, x)
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="valid"), 1, x)


def jitter(pose: Pose, rng: np.random.Generator, px: float = 3.0) -> Pose:
    """Landmark localisation noise: N(0, ``px``) on x and y."""
    lm = pose.landmarks.copy()
    lm[:, :2] += rng.normal(0.0, px, (lm.shape[0], 2)).astype(np.float32)
    return replace(pose, landmarks=lm)


def sample_figures(per_shape: int, rng: np.random.Generator) -> list[Figure]:
    """``per_shape`` random figures of each body shape (rejection sampling on the rules)."""
    out: list[Figure] = []
    for shape in BODY_SHAPES:
        got = 0
        while got < per_shape:
            bust, waist, hips = rng.uniform(76, 124), rng.uniform(56, 110), rng.uniform(80, 130)
            if waist > min(bust, hips) + 6 or body_shape(bust, waist, hips) != shape:
                continue
            fig = Figure(
                height_cm=float(rng.uniform(150, 190)),
                bust_cm=float(bust),
                waist_cm=float(waist),
                hips_cm=float(hips),
                shoulder_ratio=float(rng.uniform(1.4, 1.7)),
            )
            t = fig.truth()
            if body_shape(t["bust"], t["waist"], t["hips"]) != shape:
                continue  # the level rules see another shape in this outline
            out.append(fig)
            got += 1
    return out


CONDITIONS = ("clean", "mask_noise", "jitter_3px", "tilt_10deg", "all_three", "arms_pressed")


def make_pose(fig: Figure, condition: str, rng: np.random.Generator) -> Pose:
    """Render ``fig`` under one of :data:`CONDITIONS`."""
    if condition == "arms_pressed":
        return render(replace(fig, arms="pressed"))
    pose = render(fig)
    if condition in ("tilt_10deg", "all_three"):
        pose = rotate(pose, 10.0 if rng.random() < 0.5 else -10.0)
    if condition in ("mask_noise", "all_three"):
        pose = add_mask_noise(pose, rng)
    if condition in ("jitter_3px", "all_three"):
        pose = jitter(pose, rng)
    return pose


def run(per_shape: int = 12, seed: int = 0) -> dict[str, Any]:
    """Estimate every figure under every condition; the error table as a dict."""
    rng = np.random.default_rng(seed)
    figures = sample_figures(per_shape, rng)
    rows: dict[str, Any] = {}
    start = time.perf_counter()
    for cond in CONDITIONS:
        err: dict[str, list[float]] = {"bust": [], "waist": [], "hips": []}
        shape_ok = size_ok = failed = warned = 0
        conf: list[float] = []
        for fig in figures:
            truth = fig.truth()
            try:
                est = estimate_body(make_pose(fig, cond, rng), fig.height_cm)
            except ValueError:
                failed += 1
                continue
            p = est.profile
            err["bust"].append(abs(p.bust_cm - truth["bust"]))
            err["waist"].append(abs(p.waist_cm - truth["waist"]))
            err["hips"].append(abs(p.hips_cm - truth["hips"]))
            shape_ok += p.body_shape == body_shape(truth["bust"], truth["waist"], truth["hips"])
            size_ok += size_band(p.hips_cm) == size_band(truth["hips"])
            conf.append(est.confidence)
            warned += bool(est.warnings)
        n = len(figures) - failed
        rows[cond] = {
            "n": n,
            "failed": failed,
            **{f"mae_{k}_cm": round(float(np.mean(v)), 2) if v else None for k, v in err.items()},
            **{f"max_{k}_cm": round(float(np.max(v)), 2) if v else None for k, v in err.items()},
            "shape_agreement": round(shape_ok / n, 3) if n else None,
            "size_band_agreement": round(size_ok / n, 3) if n else None,
            "mean_confidence": round(float(np.mean(conf)), 3) if conf else None,
            "warned": round(warned / n, 3) if n else None,
        }
    return {
        "seed": seed,
        "figures": len(figures),
        "per_shape": per_shape,
        "seconds": round(time.perf_counter() - start, 1),
        "conditions": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    """The table as Markdown."""
    head = (
        "| condition | n | MAE bust | MAE waist | MAE hips | max err (b/w/h) | shape agree "
        "| size agree | confidence | warned |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for cond, r in result["conditions"].items():
        lines.append(
            f"| {cond} | {r['n']} | {r['mae_bust_cm']} | {r['mae_waist_cm']} | "
            f"{r['mae_hips_cm']} | {r['max_bust_cm']}/{r['max_waist_cm']}/{r['max_hips_cm']} | "
            f"{r['shape_agreement']:.0%} | {r['size_band_agreement']:.0%} | "
            f"{r['mean_confidence']} | {r['warned']:.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-shape", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the result as JSON here")
    args = ap.parse_args()
    result = run(args.per_shape, args.seed)
    print(
        f"{result['figures']} synthetic figures ({args.per_shape} per body shape), "
        f"seed {args.seed}, {result['seconds']} s; errors in cm of girth against the "
        "ellipse-model truth"
    )
    print(markdown(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
