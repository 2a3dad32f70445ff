"""Embedded virtual try-on: a 2D garment warp onto a person photo from pose landmarks.

:func:`tryon` puts one garment (an image or a :class:`~fashionrec_sdk.Product`) on the
person of a photo:

1. **Cut-out** (:mod:`._tryon_cutout`): background colour from the border pixels, soft
   alpha from the colour distance, largest connected blob, holes filled, edges feathered.
2. **Placement** by garment kind, from the BlazePose landmarks of a
   :class:`~fashionrec_sdk._pose.Pose`: tops and outerwear from the shoulders (widened to
   the garment's own sleeve span) down to the hips (tops) or mid-thigh (outerwear);
   dresses shoulders -> knees; skirts waist -> knees; shorts waist -> mid-thigh;
   trousers waist -> ankles with each leg pinned at its knee and ankle. The garment keeps
   one horizontal scale (set by its hem, bodice or waistband width against the body's
   width); a thin-plate spline through the control points (:mod:`._tryon_warp`) follows
   the body's tilt and the legs' directions.
3. **Composite**: the garment over the person, limited to the person mask dilated by a
   few pixels (below the hips, flowing garments - dresses, skirts, coats - may extend
   past the legs), then the arms (shoulder-elbow-wrist-hand polylines thickened and
   intersected with the person mask) are restored on top.

Steps 2 and 3 run at a working size (long side at most
:data:`~fashionrec_sdk._pose.MAX_WORK_SIDE` pixels); for a larger photo only the
garment layer and its alpha are scaled up, over the garment's bounding box, and pasted
on the full-resolution photo, so the result has the photo's size and the person keeps
every pixel of detail.

Shoes, bags, accessories and jewellery are refused with :class:`InvalidInputError`
(``field="category"``): a torso/leg warp has no sensible place for them.

It is a deterministic 2D simulation, not an image-synthesis try-on model: sleeves are
not bent onto the arms, there is no cloth draping, lighting or occlusion reasoning
beyond the arms. :class:`~fashionrec_sdk._tryon_remote.RemoteTryOn` calls a real try-on
server for that.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from ._categories import coarse_category
from ._errors import InvalidInputError
from ._images import ImageInput, _decode, load_image
from ._pose import (
    LANDMARKS,
    MIN_VISIBILITY,
    Pose,
    PoseSource,
    check_side,
    default_estimator,
    working_image,
)
from ._pose_decode import runs
from ._records import Product
from ._tryon_cutout import Cutout, cut_out, has_alpha
from ._tryon_warp import warp

__all__ = [
    "GARMENT_KINDS",
    "WEARABLE",
    "EmbeddedTryOn",
    "TryOnBackend",
    "load_garment_image",
    "tryon",
]

#: Coarse categories a try-on can place on a body.
WEARABLE: tuple[str, ...] = ("top", "outerwear", "dress", "bottom")

#: What :func:`tryon` can place, after mapping the category.
GARMENT_KINDS = ("top", "outerwear", "dress", "skirt", "shorts", "trousers")

_SKIRT = ("skirt", "skort")
_SHORTS = ("short",)
_TROUSERS = ("trouser", "pant", "jean", "legging", "jogger", "chino", "culotte", "slack")


@runtime_checkable
class TryOnBackend(Protocol):
    """A try-on implementation the recommender and the session can call.

    ``tryon`` returns an RGB image the size of ``person_image`` showing the person
    wearing ``garment`` (an image or a :class:`~fashionrec_sdk.Product`).
    """

    def tryon(
        self,
        person_image: ImageInput,
        garment: ImageInput | Product,
        *,
        category: str | None = None,
    ) -> Image.Image: ...


class EmbeddedTryOn:
    """:class:`TryOnBackend` running :func:`tryon` in process.

    Args:
        estimator: the pose estimator to reuse (any object with ``estimate(image)``);
            ``None``: the shared :func:`~fashionrec_sdk._pose.default_estimator`.
    """

    def __init__(self, estimator: PoseSource | None = None) -> None:
        self.estimator = estimator

    def tryon(
        self,
        person_image: ImageInput,
        garment: ImageInput | Product,
        *,
        category: str | None = None,
    ) -> Image.Image:
        """See :func:`tryon`."""
        return tryon(person_image, garment, estimator=self.estimator, category=category)


def tryon(
    person_image: ImageInput,
    garment: ImageInput | Product,
    *,
    pose: Pose | None = None,
    estimator: PoseSource | None = None,
    category: str | None = None,
) -> Image.Image:
    """Show the person of ``person_image`` wearing ``garment`` (2D simulation).

    Args:
        person_image: photo of one person (path, URL, bytes or PIL image), whole body
            for bottoms and dresses.
        garment: product photo of the garment (white, black or any plain background,
            or transparent), or a :class:`~fashionrec_sdk.Product` whose ``image`` and
            ``category`` are used.
        pose: the person's pose if already estimated (its mask must have the photo's
            size); otherwise ``estimator`` is run on the photo at the working size.
        estimator: object with ``estimate(image) -> Pose``; default: the shared
            :func:`~fashionrec_sdk._pose.default_estimator`.
        category: free-text or coarse category ("top", "Women > Jeans", "midi skirt");
            overrides the product's. ``None`` with an image garment: guessed from the
            silhouette (legs -> trousers, tall -> dress, else top).

    Returns:
        RGB image of the same size as ``person_image`` (placement and compositing run
        at a long side of at most :data:`~fashionrec_sdk._pose.MAX_WORK_SIDE` px; see
        the module docstring). Deterministic.

    Raises:
        InvalidInputError: ``field="garment"`` (undecodable, or nothing but background),
            ``field="category"`` (not a string; shoes, bags, accessories, jewellery),
            ``field="person_image"`` (undecodable, a side under
            :data:`~fashionrec_sdk._pose.MIN_IMAGE_SIDE` px, no person or several people
            found, or a body part the garment needs is outside the image or not
            visible - the message names it), ``field="pose"`` (not a ``Pose``, or a pose
            of another image size), ``field="estimator"`` (no ``estimate`` method).
    """
    if category is not None and not isinstance(category, str):
        raise InvalidInputError(
            f"category: expected a string or None, got {type(category).__name__}",
            field="category",
        )
    if pose is not None and not isinstance(pose, Pose):
        raise InvalidInputError(
            f"pose: expected a Pose or None, got {type(pose).__name__}", field="pose"
        )
    if estimator is not None and not callable(getattr(estimator, "estimate", None)):
        raise InvalidInputError(
            f"estimator: {type(estimator).__name__} has no estimate(image) method",
            field="estimator",
        )
    person = load_image(person_image, field="person_image")
    check_side(person, field="person_image", purpose="try-on")
    source, text, coarse = _garment_source(garment, category)
    if coarse is not None and coarse not in WEARABLE:
        raise InvalidInputError(
            f"category: try-on places tops, bottoms, dresses and outerwear; {coarse!r} "
            f"(from {text!r}) is not supported",
            field="category",
        )
    cut = cut_out(load_garment_image(source, field="garment"), field="garment")
    kind = _garment_kind(coarse, text, cut.mask)
    work, _ = working_image(person)
    if pose is None:
        pose = _estimate(estimator or default_estimator(), work)
    pose = _fit_pose(pose, person.size, work.size)
    body = _Body(pose, work.size)
    src, dst, corridor = _place(kind, cut, body)
    warped = warp(cut.image, src, dst, work.size)
    layer, alpha = _garment_layer(warped, pose, body, kind, corridor)
    return _paste(person, layer, alpha)


# --------------------------------------------------------------------------- inputs


def _garment_source(
    garment: ImageInput | Product, category: str | None
) -> tuple[ImageInput, str, str | None]:
    if isinstance(garment, Product):
        if garment.image is None:
            raise InvalidInputError(
                f"garment: product {garment.id!r} has no image",
                field="garment",
                product_id=garment.id,
            )
        text = category if category is not None else f"{garment.category} | {garment.title}"
        coarse = coarse_category(category) if category is not None else garment.coarse_category
        return garment.image, text.lower(), coarse
    if category is None:
        return garment, "", None
    return garment, category.lower(), coarse_category(category)


def load_garment_image(source: ImageInput, *, field: str = "garment") -> Image.Image:
    """Decode a garment image like :func:`load_image` (decoded once), but keep
    transparency: RGBA when the image has an alpha channel or a transparent colour."""
    img = source if isinstance(source, Image.Image) else _decode_raw(source, field)
    rgb = load_image(img, field=field)  # size limit, EXIF orientation, mode conversion
    if has_alpha(img):
        return (ImageOps.exif_transpose(img) or img).convert("RGBA")
    return rgb


def _decode_raw(source: ImageInput, field: str) -> Image.Image:
    """Path, URL or bytes -> the decoded image, mode untouched (alpha kept)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data, name = bytes(source), "<bytes>"
    elif isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        from ._fetch import Fetcher

        with Fetcher() as fetcher:
            data, name = fetcher.fetch(source), source
    elif isinstance(source, str | os.PathLike) and Path(source).is_file():
        data, name = Path(source).read_bytes(), str(source)
    else:
        return load_image(source, field=field)  # raises the typed error (no file, type)
    if not data:
        raise InvalidInputError(f"{field}: empty image data ({name})", field=field)
    return _decode(data, name, field)


def _runs_in_row(mask: NDArray[np.bool_], y: int) -> list[tuple[int, int]]:
    _, starts, ends = runs(mask[int(np.clip(y, 0, mask.shape[0] - 1))])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _has_legs(mask: NDArray[np.bool_]) -> bool:
    """Whether the silhouette splits into two legs around its centre near the bottom."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    centre = 0.5 * (xs.min() + xs.max())
    span = xs.max() - xs.min() + 1
    top, bottom = ys.min(), ys.max()
    votes = 0
    for frac in (0.8, 0.88, 0.96):
        runs = _runs_in_row(mask, int(top + frac * (bottom - top)))
        gaps = [(e1, s2) for (_, e1), (s2, _) in itertools.pairwise(runs)]
        if any(a <= centre + 0.15 * span and b >= centre - 0.15 * span for a, b in gaps):
            votes += 1
    return votes >= 2 and h >= 4 and w >= 4


def _garment_kind(coarse: str | None, text: str, mask: NDArray[np.bool_]) -> str:
    ys, xs = np.nonzero(mask)
    aspect = (ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1)
    if coarse is None:
        if _has_legs(mask):
            return "trousers" if aspect >= 1.4 else "shorts"
        return "dress" if aspect >= 1.5 else "top"
    if coarse != "bottom":
        return coarse
    if any(word in text for word in _SKIRT):
        return "skirt"
    if any(word in text for word in _SHORTS):
        return "shorts"
    if any(word in text for word in _TROUSERS):
        return "trousers"
    if _has_legs(mask):
        return "trousers" if aspect >= 1.4 else "shorts"
    return "skirt"


def _estimate(estimator: PoseSource, work: Image.Image) -> Pose:
    """The estimator's pose; its "image" errors are about ``person_image`` here."""
    try:
        pose = estimator.estimate(work)
    except InvalidInputError as err:
        if err.field != "image":
            raise
        reason = str(err).removeprefix("image: ")
        raise InvalidInputError(f"person_image: {reason}", field="person_image") from err
    if not isinstance(pose, Pose):
        raise InvalidInputError(
            f"estimator: estimate() returned {type(pose).__name__}, not a Pose",
            field="estimator",
        )
    return pose


def _fit_pose(pose: Pose, size: tuple[int, int], work: tuple[int, int]) -> Pose:
    """``pose`` checked and expressed at the working size ``work`` (from ``size``)."""
    landmarks = np.asarray(pose.landmarks, dtype=np.float32)
    mask = np.asarray(pose.mask)
    if landmarks.ndim != 2 or landmarks.shape[0] < len(LANDMARKS) or landmarks.shape[1] < 4:
        raise InvalidInputError(
            f"pose: expected (33, 4) landmarks, got {landmarks.shape}", field="pose"
        )
    if mask.ndim != 2 or mask.shape[::-1] not in (size, work):
        raise InvalidInputError(
            f"pose: its mask has shape {mask.shape} but the person image is "
            f"{size[0]}x{size[1]}; estimate the pose on the same image",
            field="pose",
        )
    if mask.shape[::-1] == work:
        return pose
    k = work[0] / size[0], work[1] / size[1]
    scaled = landmarks.copy()
    scaled[:, 0] *= k[0]
    scaled[:, 1] *= k[1]
    scaled[:, 2] *= math.sqrt(k[0] * k[1])
    small = Image.fromarray(np.asarray(mask, dtype=np.float32), mode="F").resize(
        work, Image.Resampling.BILINEAR, reducing_gap=3.0
    )
    return replace(pose, landmarks=scaled, mask=np.asarray(small, dtype=np.float32))


# --------------------------------------------------------------------------- body frame

#: Body parts (landmark pairs) each kind needs.
_NEEDS: dict[str, tuple[str, ...]] = {
    "top": ("shoulders", "hips"),
    "outerwear": ("shoulders", "hips"),
    "dress": ("shoulders", "hips", "knees"),
    "skirt": ("hips", "knees"),
    "shorts": ("hips", "knees"),
    "trousers": ("hips", "knees", "ankles"),
}
_PAIRS = {
    "shoulders": ("left_shoulder", "right_shoulder"),
    "hips": ("left_hip", "right_hip"),
    "knees": ("left_knee", "right_knee"),
    "ankles": ("left_ankle", "right_ankle"),
}


@dataclass(frozen=True)
class _Pair:
    """A left/right landmark pair ordered by image side: ``a`` image-left, ``b`` right."""

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    dir: NDArray[np.float64]

    @property
    def mid(self) -> NDArray[np.float64]:
        return 0.5 * (self.a + self.b)

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.b - self.a))


class _Body:
    """Visible landmarks of a pose and the body's up/across axes."""

    def __init__(self, pose: Pose, size: tuple[int, int]) -> None:
        lm = np.asarray(pose.landmarks, dtype=np.float64)
        w, h = size
        tol_x, tol_y = 0.02 * w, 0.02 * h
        self.points: dict[str, NDArray[np.float64]] = {}
        self.why: dict[str, str] = {}
        for i, name in enumerate(LANDMARKS):
            x, y, vis = lm[i, 0], lm[i, 1], lm[i, 3]
            if not np.isfinite([x, y, vis]).all():
                self.why[name] = "not estimated"
            elif not (-tol_x <= x <= w + tol_x and -tol_y <= y <= h + tol_y):
                self.why[name] = "outside the image"
            elif vis < MIN_VISIBILITY:
                self.why[name] = f"visibility {vis:.2f} < {MIN_VISIBILITY}"
            else:
                self.points[name] = np.array([x, y])

    def require(self, kind: str) -> None:
        needs = _NEEDS[kind]
        for part in needs:
            missing = [n for n in _PAIRS[part] if n not in self.points]
            if missing:
                detail = "; ".join(f"{n} {self.why[n]}" for n in missing)
                raise InvalidInputError(
                    f"person_image: the {part} are not visible ({detail}): the photo is "
                    f"cropped or the body is hidden; placing {_article(kind)} needs the "
                    f"{', '.join(needs)} in the picture",
                    field="person_image",
                )

    def axes(self) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        """``(up, across, torso_length)``; ``across`` points to image-right if upright."""
        hips = self.mid("hips")
        if self.has("shoulders"):
            vec = self.mid("shoulders") - hips
        elif self.has("knees"):
            vec = hips - self.mid("knees")
        else:
            vec = np.array([0.0, -1.0])
        length = float(np.linalg.norm(vec))
        up = vec / length if length > 1e-6 else np.array([0.0, -1.0])
        across = np.array([-up[1], up[0]])
        # without shoulders, hip->knee stands in: about 1/1.15 of a torso length
        torso = length if self.has("shoulders") else length * 1.15
        return up, across, torso

    def has(self, part: str) -> bool:
        return all(n in self.points for n in _PAIRS[part])

    def mid(self, part: str) -> NDArray[np.float64]:
        a, b = _PAIRS[part]
        return 0.5 * (self.points[a] + self.points[b])

    def pair(self, part: str, across: NDArray[np.float64]) -> _Pair:
        p, q = (self.points[n] for n in _PAIRS[part])
        if float(np.dot(q - p, across)) < 0:
            p, q = q, p
        d = q - p
        norm = float(np.linalg.norm(d))
        direction = d / norm if norm > 1e-6 and float(np.dot(d, across)) / norm > 0.5 else across
        return _Pair(a=p, b=q, dir=direction)


def _article(kind: str) -> str:
    return {"trousers": "trousers", "shorts": "shorts", "outerwear": "outerwear"}.get(
        kind, f"a {kind}"
    )


# --------------------------------------------------------------------------- placement

#: Garment width over the body width it covers (ease), per kind.
_EASE = {"top": 1.12, "outerwear": 1.25, "dress": 1.1, "skirt": 1.1, "shorts": 1.1}


def _span(mask: NDArray[np.bool_], y: float, centre: float | None = None) -> tuple[float, float]:
    """Horizontal extent of row ``y``: all of it, or only the run nearest ``centre``."""
    runs = _runs_in_row(mask, round(y))
    if not runs:
        cols = np.flatnonzero(mask.any(axis=0))
        return float(cols.min()), float(cols.max() + 1)
    if centre is None:
        return float(runs[0][0]), float(runs[-1][1])
    best = min(
        runs,
        key=lambda r: 0.0 if r[0] <= centre < r[1] else min(abs(r[0] - centre), abs(r[1] - centre)),
    )
    return float(best[0]), float(best[1])


def _rung(
    g_y: float,
    g_span: tuple[float, float],
    g_centre: float,
    sx: float,
    centre: NDArray[np.float64],
    direction: NDArray[np.float64],
) -> tuple[list[list[float]], list[NDArray[np.float64]]]:
    src = [[g_span[0], g_y], [g_span[1], g_y]]
    dst = [
        centre + direction * (g_span[0] - g_centre) * sx,
        centre + direction * (g_span[1] - g_centre) * sx,
    ]
    return src, dst


def _place(
    kind: str, cut: Cutout, body: _Body
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Control points ``(src in garment px, dst in person px)`` for ``kind`` and the
    half-width of the corridor below the hips where the garment may extend past the
    person mask (0: nowhere, ``inf``: anywhere below the hips)."""
    body.require(kind)
    up, across, torso = body.axes()
    if torso < 8.0:
        raise InvalidInputError(
            f"person_image: the person is too small ({torso:.0f} px from hips to "
            "shoulders) to place a garment",
            field="person_image",
        )
    mask = cut.mask
    ys, xs = np.nonzero(mask)
    y0, y1 = float(ys.min()), float(ys.max() + 1)
    gh = y1 - y0
    g_centre = 0.5 * (float(xs.min()) + float(xs.max() + 1))
    hips = body.pair("hips", across)
    hip_w = max(hips.width, 0.3 * torso)
    src: list[list[float]] = []
    dst: list[NDArray[np.float64]] = []

    def add(rung: tuple[list[list[float]], list[NDArray[np.float64]]]) -> None:
        src.extend(rung[0])
        dst.extend(rung[1])

    if kind in ("top", "outerwear", "dress"):
        shoulders = body.pair("shoulders", across)
        shoulder_w = max(shoulders.width, 0.5 * torso)
        torso_w = max(0.95 * shoulder_w, 1.8 * hip_w)
        top_c = shoulders.mid + up * 0.1 * torso
        if kind == "dress":
            bodice = _span(mask, y0 + 0.25 * gh, g_centre)
            sx = _EASE[kind] * shoulder_w / max(bodice[1] - bodice[0], 1.0)
            knees = body.pair("knees", across)
            hem_c = knees.mid - up * 0.08 * torso
            path = np.linalg.norm(hips.mid - top_c) + np.linalg.norm(hem_c - hips.mid)
            g_hip = y0 + gh * float(np.linalg.norm(hips.mid - top_c)) / max(float(path), 1e-6)
            hip_span = _span(mask, g_hip, g_centre)
            sx = max(sx, torso_w / max(hip_span[1] - hip_span[0], 1.0))
            add(_rung(y0, _span(mask, y0 + 0.03 * gh), g_centre, sx, top_c, shoulders.dir))
            add(_rung(g_hip, hip_span, g_centre, sx, hips.mid, hips.dir))
            add(_rung(y1, _span(mask, y1 - 0.03 * gh), g_centre, sx, hem_c, knees.dir))
            return np.asarray(src), np.asarray(dst), float("inf")
        # Coats and pullovers lie with the sleeves hanging below the hem: the hem is the
        # end of the longest run of the centre column.
        y_hem = _hem_row(mask, g_centre, y1)
        hem = _span(mask, y_hem - 0.03 * gh, g_centre)
        if hem[1] - hem[0] < 0.35 * (float(xs.max() + 1) - float(xs.min())):
            hem = _span(mask, y_hem - 0.03 * gh)
        sx = _EASE[kind] * torso_w / max(hem[1] - hem[0], 1.0)
        sx = min(sx, 2.6 * torso_w / (float(xs.max() + 1) - float(xs.min())))
        if kind == "top":
            bottom_c = hips.mid - up * 0.06 * torso
        elif body.has("knees"):
            bottom_c = hips.mid + 0.5 * (body.mid("knees") - hips.mid)
        else:
            bottom_c = hips.mid - up * 0.55 * torso
        add(_rung(y0, (float(xs.min()), float(xs.max() + 1)), g_centre, sx, top_c, shoulders.dir))
        add(_rung(y_hem, hem, g_centre, sx, bottom_c, hips.dir))
        corridor = 0.5 * sx * (hem[1] - hem[0]) * 1.05 if kind == "outerwear" else 0.0
        return np.asarray(src), np.asarray(dst), corridor

    knees = body.pair("knees", across)
    waist_c = hips.mid + up * 0.15 * torso
    waist_w = 1.6 * hip_w
    if body.has("shoulders"):
        waist_w = max(waist_w, 0.75 * max(body.pair("shoulders", across).width, 0.5 * torso))
    band = _span(mask, y0 + 0.03 * gh)
    sx = _EASE.get(kind, 1.1) * waist_w / max(band[1] - band[0], 1.0)
    add(_rung(y0, band, g_centre, sx, waist_c, hips.dir))
    if kind == "skirt":
        hem_c = knees.mid - up * 0.05 * torso
        add(_rung(y1, _span(mask, y1 - 0.03 * gh), g_centre, sx, hem_c, knees.dir))
        return np.asarray(src), np.asarray(dst), float("inf")

    # Legged garments: the crotch and each leg pinned separately.
    crotch_g = _crotch(mask, g_centre, y0, y1)
    src.append([g_centre, crotch_g])
    dst.append(hips.mid - up * 0.12 * torso)
    legs = [(hips.a, knees.a), (hips.b, knees.b)]
    if kind == "shorts":
        ends = [hip + 0.5 * (knee - hip) for hip, knee in legs]
        _add_leg_rung(src, dst, mask, y1 - 0.03 * gh, y1, ends, legs, sx)
        return np.asarray(src), np.asarray(dst), 0.0
    ankles = body.pair("ankles", across)
    ends = [ankles.a + 0.05 * (ankles.a - knees.a), ankles.b + 0.05 * (ankles.b - knees.b)]
    full = [
        float(
            np.linalg.norm(hip - waist_c) + np.linalg.norm(knee - hip) + np.linalg.norm(end - knee)
        )
        for (hip, knee), end in zip(legs, ends, strict=True)
    ]
    to_knee = [
        float(np.linalg.norm(hip - waist_c) + np.linalg.norm(knee - hip)) for hip, knee in legs
    ]
    frac = float(np.mean([k / max(f, 1e-6) for k, f in zip(to_knee, full, strict=True)]))
    g_knee = y0 + frac * gh
    _add_leg_rung(src, dst, mask, g_knee, g_knee, [knees.a, knees.b], legs, sx)
    _add_leg_rung(src, dst, mask, y1 - 0.03 * gh, y1, ends, legs, sx)
    return np.asarray(src), np.asarray(dst), 0.0


def _hem_row(mask: NDArray[np.bool_], g_centre: float, y1: float) -> float:
    """Bottom of the longest run of the garment's centre column (the body's hem)."""
    _, starts, ends = runs(mask[:, int(np.clip(round(g_centre), 0, mask.shape[1] - 1))])
    if len(starts) == 0:
        return y1
    longest = int(np.argmax(ends - starts))
    return float(ends[longest])


def _crotch(mask: NDArray[np.bool_], g_centre: float, y0: float, y1: float) -> float:
    col = mask[:, int(np.clip(round(g_centre), 0, mask.shape[1] - 1))]
    filled = np.flatnonzero(col)
    if len(filled) == 0:
        return y0 + 0.3 * (y1 - y0)
    # the lowest garment pixel of the centre column, above the gap between the legs
    below = filled[filled < y1]
    gaps = np.flatnonzero(np.diff(below) > 1)
    last = below[gaps[0]] if len(gaps) else below[-1]
    return float(np.clip(last + 1, y0 + 0.1 * (y1 - y0), y0 + 0.6 * (y1 - y0)))


def _add_leg_rung(
    src: list[list[float]],
    dst: list[NDArray[np.float64]],
    mask: NDArray[np.bool_],
    g_row: float,
    g_y: float,
    targets: list[NDArray[np.float64]],
    legs: list[tuple[NDArray[np.float64], NDArray[np.float64]]],
    sx: float,
) -> None:
    """Pin the outer runs of garment row ``g_row`` (the two legs) to ``targets``."""
    runs = _runs_in_row(mask, round(g_row))
    if len(runs) < 2:
        return
    separation = float(np.linalg.norm(targets[1] - targets[0]))
    for (start, end), target, (hip, _knee) in zip((runs[0], runs[-1]), targets, legs, strict=True):
        axis = target - hip
        norm = float(np.linalg.norm(axis))
        if norm < 1e-6:
            continue
        perp = np.array([-axis[1], axis[0]]) / norm
        if perp[0] < 0:
            perp = -perp
        half = min(0.5 * (end - start) * sx, 0.45 * separation)
        src.extend([[float(start), g_y], [float(end), g_y]])
        dst.extend([target - perp * half, target + perp * half])


# --------------------------------------------------------------------------- composite


def _garment_layer(
    garment: Image.Image,
    pose: Pose,
    body: _Body,
    kind: str,
    corridor: float,
) -> tuple[Image.Image, NDArray[np.float32]]:
    """The warped garment's RGB and its final alpha in [0, 1] (working size): limited
    to the dilated person mask (or the corridor below the hips), arms cut out."""
    width, height = garment.size
    up, across, torso = body.axes()
    person_mask = np.clip(np.nan_to_num(np.asarray(pose.mask, dtype=np.float32)), 0.0, 1.0)
    binary = Image.fromarray(((person_mask > 0.5) * 255).astype(np.uint8), mode="L")
    radius = max(2, round(0.06 * torso))
    spread = np.asarray(binary.filter(ImageFilter.BoxBlur(radius)), dtype=np.float32) / 255.0
    allowed = np.clip(spread * 3.0, 0.0, 1.0)
    if corridor > 0:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        hips = body.mid("hips")
        below = (xx - hips[0]) * up[0] + (yy - hips[1]) * up[1] < 0
        if np.isfinite(corridor):
            side = np.abs((xx - hips[0]) * across[0] + (yy - hips[1]) * across[1])
            below &= side <= corridor
        allowed = np.where(below, 1.0, allowed)
    g_alpha = np.asarray(garment.getchannel("A"), dtype=np.float32) / np.float32(255.0)
    arms = _arms_mask(body, kind, torso, (width, height)) * person_mask
    alpha = (g_alpha * allowed * (1.0 - arms)).astype(np.float32)
    return garment.convert("RGB"), alpha


def _paste(person: Image.Image, layer: Image.Image, alpha: NDArray[np.float32]) -> Image.Image:
    """``person`` with ``layer`` blended over it by ``alpha`` (both at the working size,
    scaled up to the person's size over the garment's bounding box only)."""
    out = person.copy()
    ys, xs = np.nonzero(alpha > 0.5 / 255.0)
    if len(xs) == 0:
        return out
    mask = Image.fromarray(np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    (ww, wh), (pw, ph) = layer.size, person.size
    if (ww, wh) == (pw, ph):
        out.paste(layer, (0, 0), mask)
        return out
    kx, ky = ww / pw, wh / ph
    # the box in person pixels covering the garment, and the same box in working pixels
    x0 = max(0, math.floor((int(xs.min()) - 1) / kx))
    y0 = max(0, math.floor((int(ys.min()) - 1) / ky))
    x1 = min(pw, math.ceil((int(xs.max()) + 2) / kx))
    y1 = min(ph, math.ceil((int(ys.max()) + 2) / ky))
    src = (x0 * kx, y0 * ky, x1 * kx, y1 * ky)
    size = (x1 - x0, y1 - y0)
    patch = layer.resize(size, Image.Resampling.BILINEAR, box=src)
    out.paste(patch, (x0, y0), mask.resize(size, Image.Resampling.BILINEAR, box=src))
    return out


def _arms_mask(body: _Body, kind: str, torso: float, size: tuple[int, int]) -> NDArray[np.float32]:
    """Soft mask of the arms and hands (polylines thickened), to keep over the garment."""
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    thickness = max(3, round(0.2 * torso))
    covered = 0.0 if kind in ("skirt", "shorts", "trousers") else 0.45
    pts = body.points
    for side in ("left", "right"):
        shoulder, elbow = pts.get(f"{side}_shoulder"), pts.get(f"{side}_elbow")
        wrist = pts.get(f"{side}_wrist")
        line: list[NDArray[np.float64]] = []
        if shoulder is not None and elbow is not None:
            line = [shoulder + covered * (elbow - shoulder), elbow]
        elif elbow is not None:
            line = [elbow]
        if wrist is not None:
            line.append(wrist)
        fingers = [pts[f"{side}_{f}"] for f in ("index", "pinky", "thumb") if f"{side}_{f}" in pts]
        if fingers and wrist is not None:
            hand = np.mean(fingers, axis=0)
            line.append(hand)
            r = max(2.0, 0.6 * float(np.linalg.norm(hand - wrist)))
            draw.ellipse((hand[0] - r, hand[1] - r, hand[0] + r, hand[1] + r), fill=255)
        if len(line) >= 2:
            flat = [(float(p[0]), float(p[1])) for p in line]
            draw.line(flat, fill=255, width=thickness, joint="curve")
            for x, y in flat:
                half = thickness / 2.0
                draw.ellipse((x - half, y - half, x + half, y + half), fill=255)
    soft = canvas.filter(ImageFilter.GaussianBlur(radius=1.0))
    return np.asarray(soft, dtype=np.float32) / np.float32(255.0)
