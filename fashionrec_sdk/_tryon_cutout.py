"""Cut a garment out of its product photo: background colour, soft alpha, one clean blob.

Works on white shop photos, on Fashion-MNIST style images (garment on black) and on
images that already carry transparency. numpy + Pillow only: connected components are
labelled on horizontal runs with a union-find, which is fast for garment masks (a few
runs per row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from ._errors import InvalidInputError
from ._pose_decode import runs

__all__ = ["WORK_SIDE", "Cutout", "cut_out", "has_alpha", "label_runs"]

#: The garment is analysed and warped at this long side (pixels).
WORK_SIDE = 256
#: Colour distance (0-441 RGB units) below which a pixel is background / above which it
#: is fully garment; linear in between.
_ALPHA_LO = 14.0
_ALPHA_HI = 48.0
#: The garment must cover at least this fraction of the working image.
_MIN_AREA = 0.002


@dataclass(frozen=True)
class Cutout:
    """A garment cut out of its photo, cropped to its bounding box.

    Attributes:
        image: RGBA image, alpha feathered.
        mask: ``(h, w)`` bool silhouette (largest blob, holes filled), same size.
        background: the background colour that was removed (RGB, 0-255).
    """

    image: Image.Image
    mask: NDArray[np.bool_]
    background: tuple[int, int, int]


def cut_out(img: Image.Image, *, field: str = "garment") -> Cutout:
    """Cut the garment out of ``img`` (RGB, or RGBA/LA with real transparency).

    Raises:
        InvalidInputError: (``field``) nothing distinct from the background was found.
    """
    work, upscale = _working_copy(img)
    arr = np.asarray(work, dtype=np.float32)
    rgb = arr[..., :3]
    if arr.shape[2] == 4 and float(arr[..., 3].min()) < 250.0:
        soft = arr[..., 3] / np.float32(255.0)
        background = (255, 255, 255)
    else:
        background = _border_colour(rgb)
        dist = np.sqrt(((rgb - np.asarray(background, np.float32)) ** 2).sum(axis=2))
        soft = np.clip((dist - _ALPHA_LO) / (_ALPHA_HI - _ALPHA_LO), 0.0, 1.0)
    hard = soft > 0.5
    blob = _largest_component(hard)
    h, w = hard.shape
    if blob is None or int(blob.sum()) < max(4.0, _MIN_AREA * h * w):
        raise InvalidInputError(
            f"{field}: no garment found: the image is (almost) all background "
            f"(background colour {background})",
            field=field,
        )
    filled = _fill_holes(blob)
    ys, xs = np.nonzero(filled)
    pad = 2
    top, bottom = max(int(ys.min()) - pad, 0), min(int(ys.max()) + 1 + pad, h)
    left, right = max(int(xs.min()) - pad, 0), min(int(xs.max()) + 1 + pad, w)
    alpha = Image.fromarray((filled * 255).astype(np.uint8), mode="L")
    # Edge pixels are mixed with the background colour (a halo): shave them off.
    shave = int(np.clip(round(upscale / 2.0), 1, 4))
    alpha = alpha.filter(ImageFilter.MinFilter(2 * shave + 1))
    alpha = alpha.filter(ImageFilter.GaussianBlur(radius=max(0.6, max(h, w) / 300.0)))
    rgba = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), mode="RGB").convert("RGBA")
    rgba.putalpha(alpha)
    box = (left, top, right, bottom)
    return Cutout(image=rgba.crop(box), mask=filled[top:bottom, left:right], background=background)


def has_alpha(img: Image.Image) -> bool:
    """Whether ``img`` carries transparency (an alpha band or a transparent colour)."""
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    )


def _working_copy(img: Image.Image) -> tuple[Image.Image, float]:
    """``img`` as RGB(A) resized to :data:`WORK_SIDE`, and the scale factor applied."""
    img = img.convert("RGBA" if has_alpha(img) else "RGB")
    w, h = img.size
    scale = WORK_SIDE / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return img, 1.0
    method = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    return img.resize(size, method), scale


def _border_colour(rgb: NDArray[np.float32]) -> tuple[int, int, int]:
    """The most common colour (16-level bins) along the image border, averaged."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]], axis=0)
    q = np.clip(border // 16, 0, 15).astype(np.int64)
    keys = q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]
    mode = int(np.bincount(keys, minlength=4096).argmax())
    chosen = border[keys == mode].mean(axis=0)
    r, g, b = (round(float(c)) for c in chosen)
    return r, g, b


def label_runs(
    mask: NDArray[np.bool_], *, eight: bool
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Connected components of ``mask`` as horizontal runs.

    Returns ``(row, start, end, label)`` per run (``end`` exclusive); runs with the same
    label are connected (8-connectivity when ``eight``, else 4).
    """
    h = mask.shape[0]
    rows, starts, ends = runs(mask)
    n = len(rows)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    bounds = np.searchsorted(rows, np.arange(h + 1)).tolist()
    s_list, e_list = starts.tolist(), ends.tolist()
    slack = 1 if eight else 0
    for r in range(h - 1):
        a, a_end = bounds[r], bounds[r + 1]
        b, b_end = bounds[r + 1], bounds[r + 2]
        while a < a_end and b < b_end:
            if s_list[a] < e_list[b] + slack and s_list[b] < e_list[a] + slack:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            if e_list[a] < e_list[b]:
                a += 1
            else:
                b += 1
    labels = np.asarray([find(i) for i in range(n)], dtype=np.int64)
    return rows.astype(np.int64), starts.astype(np.int64), ends.astype(np.int64), labels


def _paint(
    shape: tuple[int, int],
    rows: NDArray[np.int64],
    starts: NDArray[np.int64],
    ends: NDArray[np.int64],
) -> NDArray[np.bool_]:
    h, w = shape
    acc = np.zeros((h, w + 1), dtype=np.int32)
    np.add.at(acc, (rows, starts), 1)
    np.add.at(acc, (rows, ends), -1)
    return np.cumsum(acc, axis=1)[:, :w] > 0


def _largest_component(mask: NDArray[np.bool_]) -> NDArray[np.bool_] | None:
    if not mask.any():
        return None
    rows, starts, ends, labels = label_runs(mask, eight=True)
    area = np.bincount(labels, weights=(ends - starts).astype(np.float64))
    keep = labels == int(area.argmax())
    return _paint(mask.shape, rows[keep], starts[keep], ends[keep])


def _fill_holes(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``mask`` plus every background region that does not reach the image border."""
    h, w = mask.shape
    rows, starts, ends, labels = label_runs(~mask, eight=False)
    if len(rows) == 0:
        return mask
    edge = (rows == 0) | (rows == h - 1) | (starts == 0) | (ends == w)
    outside = np.isin(labels, np.unique(labels[edge]))
    holes = ~outside
    if not holes.any():
        return mask
    return mask | _paint(mask.shape, rows[holes], starts[holes], ends[holes])
