"""Numpy geometry of the BlazePose pipeline: anchors, detection decoding, ROI warps.

Also the two raster primitives the body estimate and the try-on share with it:
:func:`bilinear` (sampling an image or mask at float pixel positions) and :func:`runs`
(the runs of ``True`` in the rows of a boolean mask).

Constants follow MediaPipe 0.10.21's ``pose_detection_cpu`` and
``pose_landmark_by_roi_cpu`` graphs (SSD anchors, box/keypoint scales, weighted NMS at
IoU 0.3, ROI = 1.25 x the body circle's diameter around the hip centre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "Detection",
    "Frame",
    "Roi",
    "anchors",
    "bilinear",
    "detect",
    "letterbox",
    "person_mask",
    "project_landmarks",
    "runs",
    "warp_to_roi",
]

DETECTOR_SIZE = 224
NMS_IOU = 0.3
ROI_SCALE = 1.25
#: The person mask is computed at most this many pixels on the long side, then resized.
MASK_WORK_SIDE = 512

F32 = NDArray[np.float32]


@lru_cache(maxsize=1)
def anchors() -> F32:
    """``(2254, 2)`` SSD anchor centres ``(x, y)`` in [0, 1] (fixed size 1x1).

    Strides 8, 16, 32, 32, 32 with two anchors per layer and position (layers of equal
    stride share a grid: 28x28x2 + 14x14x2 + 7x7x6).
    """
    strides = (8, 16, 32, 32, 32)
    rows: list[F32] = []
    layer = 0
    while layer < len(strides):
        per_cell = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += 2  # aspect ratio 1.0 + the interpolated scale
            last += 1
        side = math.ceil(DETECTOR_SIZE / strides[layer])
        ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        centres = np.stack([(xs + 0.5) / side, (ys + 0.5) / side], axis=-1).reshape(-1, 2)
        rows.append(np.repeat(centres, per_cell, axis=0).astype(np.float32))
        layer = last
    return np.concatenate(rows)


@dataclass(frozen=True)
class Frame:
    """How the image was letterboxed into the detector input: ``x_img = (x_in - pad) / s``."""

    scale: float
    pad_x: float
    pad_y: float


def letterbox(img: Image.Image) -> tuple[F32, Frame]:
    """Image -> ``(1, 224, 224, 3)`` in [-1, 1], aspect kept, black borders."""
    w, h = img.size
    s = DETECTOR_SIZE / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    canvas = Image.new("RGB", (DETECTOR_SIZE, DETECTOR_SIZE))
    px, py = (DETECTOR_SIZE - nw) // 2, (DETECTOR_SIZE - nh) // 2
    canvas.paste(img.resize((nw, nh), Image.Resampling.BILINEAR), (px, py))
    arr = np.asarray(canvas, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)
    return arr[None], Frame(scale=nw / w, pad_x=float(px), pad_y=float(py))


@dataclass(frozen=True)
class Detection:
    """A person detection in image pixels: box ``(x0, y0, x1, y1)``, 4 keypoints, score."""

    box: F32
    keypoints: F32
    score: float


def _iou(box: F32, others: F32) -> F32:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def detect(raw: F32, logits: F32, frame: Frame, min_score: float) -> list[Detection]:
    """Decode the detector's ``(2254, 12)`` / ``(2254,)`` outputs; weighted NMS.

    Returns detections (image pixels) sorted by score, best first.
    """
    raw = np.nan_to_num(raw.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    logits = np.nan_to_num(logits.astype(np.float32), nan=-100.0, posinf=100.0, neginf=-100.0)
    scores = (1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))).astype(
        np.float32
    )
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    anc = anchors()[keep] * DETECTOR_SIZE
    r = raw[keep]
    cx, cy = r[:, 0] + anc[:, 0], r[:, 1] + anc[:, 1]
    boxes: F32 = np.stack(
        [cx - r[:, 2] / 2, cy - r[:, 3] / 2, cx + r[:, 2] / 2, cy + r[:, 3] / 2], 1
    )
    kps = r[:, 4:12].reshape(-1, 4, 2) + anc[:, None, :]
    # detector input pixels -> image pixels
    offset = np.array([frame.pad_x, frame.pad_y], dtype=np.float32)
    boxes = ((boxes - np.tile(offset, 2)) / frame.scale).astype(np.float32)
    kps = ((kps - offset) / frame.scale).astype(np.float32)
    s = scores[keep]
    order = np.argsort(-s, kind="stable")
    remaining = order
    out: list[Detection] = []
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining])
        group = remaining[overlap > NMS_IOU]
        group = group if group.size else remaining[:1]
        weights = s[group][:, None]
        total = float(weights.sum())
        box = (boxes[group] * weights).sum(0) / total
        kp = (kps[group] * weights[:, :, None]).sum(0) / total
        out.append(Detection(box.astype(np.float32), kp.astype(np.float32), float(s[top])))
        remaining = remaining[overlap <= NMS_IOU]
        remaining = remaining[remaining != top]
    return out


@dataclass(frozen=True)
class Roi:
    """A rotated square in image pixels: centre, side, rotation (radians, clockwise)."""

    cx: float
    cy: float
    side: float
    rotation: float

    @classmethod
    def from_keypoints(cls, hip: F32, circle: F32) -> Roi:
        """ROI from the hip-centre and body-circle keypoints (MediaPipe's alignment)."""
        dx, dy = float(circle[0] - hip[0]), float(circle[1] - hip[1])
        side = max(2.0 * math.hypot(dx, dy), 1.0) * ROI_SCALE
        rotation = math.pi / 2 - math.atan2(-dy, dx)
        rotation = rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))
        return cls(float(hip[0]), float(hip[1]), side, rotation)

    def scaled(self, factor: float) -> Roi:
        """The same region in an image resized by ``factor``."""
        return Roi(self.cx * factor, self.cy * factor, self.side * factor, self.rotation)

    def matrix(self, size: int) -> F32:
        """2x3 affine map from ROI-crop pixels (``size`` x ``size``) to image pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        k = self.side / size
        half = size / 2
        return np.array(
            [
                [c * k, -s * k, self.cx - (c * half - s * half) * k],
                [s * k, c * k, self.cy - (s * half + c * half) * k],
            ],
            dtype=np.float64,
        ).astype(np.float32)


def bilinear(
    img: NDArray[np.float32],
    xs: NDArray[np.floating],
    ys: NDArray[np.floating],
    *,
    fill: float | None,
) -> F32:
    """Bilinear sample ``img`` (H, W[, C]) at float pixel coords (pixel ``j`` covers
    ``[j, j + 1)``, its centre is ``j + 0.5``).

    ``fill=None`` replicates the border; otherwise points outside ``[0, W] x [0, H]``
    get ``fill``.
    """
    h, w = img.shape[:2]
    x = xs - 0.5
    y = ys - 0.5
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    x0i = np.clip(x0, 0, w - 1).astype(np.intp)
    x1i = np.clip(x0 + 1, 0, w - 1).astype(np.intp)
    y0i = np.clip(y0, 0, h - 1).astype(np.intp)
    y1i = np.clip(y0 + 1, 0, h - 1).astype(np.intp)
    if img.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = img[y0i, x0i] * (1 - fx) + img[y0i, x1i] * fx
    bottom = img[y1i, x0i] * (1 - fx) + img[y1i, x1i] * fx
    out: F32 = (top * (1 - fy) + bottom * fy).astype(np.float32)
    if fill is not None:
        outside = (x < -0.5) | (x > w - 0.5) | (y < -0.5) | (y > h - 0.5)
        out[outside] = fill
    return out


def runs(
    mask: NDArray[np.bool_],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """The runs of ``True`` along the last axis of a 1-D or 2-D boolean array.

    Returns ``(rows, starts, ends)`` (``ends`` exclusive), row-major order; ``rows`` is
    all 0 for a 1-D array.
    """
    m = np.atleast_2d(mask)
    padded = np.zeros((m.shape[0], m.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = m
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)
    return rows, starts, ends


def warp_to_roi(rgb: F32, roi: Roi, size: int) -> F32:
    """``(size, size, 3)`` crop of ``rgb`` (H, W, 3 in [0, 1]) along ``roi``."""
    m = roi.matrix(size).astype(np.float64)
    v, u = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    xs = (m[0, 0] * u + m[0, 1] * v + m[0, 2]).astype(np.float32)
    ys = (m[1, 0] * u + m[1, 1] * v + m[1, 2]).astype(np.float32)
    return bilinear(rgb, xs, ys, fill=None)


def project_landmarks(raw: F32, roi: Roi, size: int, width: int, height: int) -> F32:
    """Landmark rows ``(x, y, z, vis_logit, presence_logit)`` in crop pixels -> image.

    Returns ``(n, 4)`` float32 ``(x, y, z, visibility)``; visibility is the sigmoid of
    the visibility logit, and 0 for points outside the image.
    """
    raw = np.nan_to_num(raw.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    m = roi.matrix(size).astype(np.float64)
    x = m[0, 0] * raw[:, 0] + m[0, 1] * raw[:, 1] + m[0, 2]
    y = m[1, 0] * raw[:, 0] + m[1, 1] * raw[:, 1] + m[1, 2]
    z = raw[:, 2] * roi.side / size
    vis = 1.0 / (1.0 + np.exp(-np.clip(raw[:, 3], -60.0, 60.0)))
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    vis = np.where(inside, vis, 0.0)
    return np.stack([x, y, z, vis], axis=1).astype(np.float32)


def person_mask(
    seg_logits: F32, selfie: F32, roi: Roi, width: int, height: int
) -> tuple[F32, float]:
    """Full-image person probability ``(height, width)`` and the "someone else" ratio.

    Inside the ROI: the landmark model's segmentation (sigmoid of its logits, warped back
    from the crop). Outside it: the whole-image selfie segmentation, so a limb that
    leaves the ROI is not cut off. The ratio is the person area the selfie model finds
    outside the ROI over the detected person's area: a second person whom the
    (face-based) detector missed, e.g. one seen from behind, makes it large.
    """
    size = seg_logits.shape[0]
    prob = 1.0 / (1.0 + np.exp(-np.clip(np.nan_to_num(seg_logits), -60.0, 60.0)))
    prob32: F32 = prob.astype(np.float32)
    k = min(1.0, MASK_WORK_SIDE / max(width, height))
    mw, mh = max(1, round(width * k)), max(1, round(height * k))
    gy, gx = np.meshgrid((np.arange(mh) + 0.5) / k, (np.arange(mw) + 0.5) / k, indexing="ij")
    # image pixels -> crop pixels (inverse of roi.matrix)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    dx, dy = gx - roi.cx, gy - roi.cy
    scale = size / roi.side
    u = ((c * dx + s * dy) * scale + size / 2).astype(np.float32)
    v = ((-s * dx + c * dy) * scale + size / 2).astype(np.float32)
    inside = (u >= 0) & (u < size) & (v >= 0) & (v < size)
    in_roi = bilinear(prob32, u, v, fill=0.0)
    sel = np.clip(np.nan_to_num(selfie.astype(np.float32)), 0.0, 1.0)
    sel_small = np.asarray(
        Image.fromarray(sel, mode="F").resize((mw, mh), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    small = np.where(inside, in_roi, sel_small).astype(np.float32)
    person = int(np.count_nonzero((in_roi > 0.5) & inside))
    elsewhere = int(np.count_nonzero((sel_small > 0.5) & ~inside))
    ratio = elsewhere / max(person, 1) if elsewhere > 0.01 * mw * mh else 0.0
    if (mw, mh) != (width, height):
        small = np.asarray(
            Image.fromarray(small, mode="F").resize((width, height), Image.Resampling.BILINEAR),
            dtype=np.float32,
        )
    return np.ascontiguousarray(np.clip(small, 0.0, 1.0), dtype=np.float32), ratio
