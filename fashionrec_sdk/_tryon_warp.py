"""Thin-plate-spline warp of a garment image onto body points (numpy + Pillow MESH).

With three control points a thin-plate spline is the affine transform through them;
with more it bends smoothly between them. The inverse map (output pixel -> garment
pixel) is evaluated on a coarse grid and handed to Pillow's ``MESH`` transform, which
resamples each grid cell from its source quadrilateral in C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["Tps", "warp"]

#: Output grid cell side (pixels) of the mesh the inverse map is sampled on.
_CELL = 8


def _kernel(r2: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r2 * np.log(r2)
    return np.where(r2 > 0.0, out, 0.0)


@dataclass(frozen=True)
class Tps:
    """A 2-D thin-plate spline mapping ``src`` points onto ``dst`` points."""

    ctrl: NDArray[np.float64]
    weights: NDArray[np.float64]
    origin: NDArray[np.float64]
    scale: float

    @classmethod
    def fit(
        cls, src: NDArray[np.float64], dst: NDArray[np.float64], *, smooth: float = 1e-3
    ) -> Tps:
        """Fit the spline with ``f(src[i]) ~= dst[i]`` (``(n, 2)`` arrays, ``n >= 3``).

        Coordinates are normalised for conditioning; ``smooth`` regularises near-duplicate
        control points, and a least-squares solve keeps degenerate layouts finite.
        """
        src = np.asarray(src, dtype=np.float64)
        dst = np.asarray(dst, dtype=np.float64)
        origin = src.mean(axis=0)
        scale = float(np.abs(src - origin).max()) or 1.0
        p = (src - origin) / scale
        n = len(p)
        k = _kernel(((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=2)) + smooth * np.eye(n)
        basis = np.hstack([np.ones((n, 1)), p])
        system = np.zeros((n + 3, n + 3))
        system[:n, :n] = k
        system[:n, n:] = basis
        system[n:, :n] = basis.T
        rhs = np.zeros((n + 3, 2))
        rhs[:n] = dst
        weights = np.asarray(np.linalg.lstsq(system, rhs, rcond=None)[0], dtype=np.float64)
        return cls(ctrl=p, weights=weights, origin=origin, scale=scale)

    def __call__(self, pts: NDArray[np.float64]) -> NDArray[np.float64]:
        """Map ``(m, 2)`` points."""
        q = (np.asarray(pts, dtype=np.float64) - self.origin) / self.scale
        n = len(self.ctrl)
        u = _kernel(((q[:, None, :] - self.ctrl[None, :, :]) ** 2).sum(axis=2))
        out = u @ self.weights[:n] + self.weights[n] + q @ self.weights[n + 1 :]
        return np.asarray(out, dtype=np.float64)


def warp(
    garment: Image.Image,
    src: NDArray[np.float64],
    dst: NDArray[np.float64],
    size: tuple[int, int],
) -> Image.Image:
    """Warp RGBA ``garment`` so its points ``src`` land on ``dst`` in a ``size`` canvas.

    Pixels outside the garment's image stay transparent.
    """
    forward = Tps.fit(src, dst)
    inverse = Tps.fit(dst, src)
    gw, gh = garment.size
    t = np.linspace(0.0, 1.0, 17)
    outline = np.concatenate(
        [
            np.stack([t * gw, np.zeros_like(t)], 1),
            np.stack([t * gw, np.full_like(t, gh)], 1),
            np.stack([np.zeros_like(t), t * gh], 1),
            np.stack([np.full_like(t, gw), t * gh], 1),
        ]
    )
    placed = forward(outline)
    width, height = size
    margin = _CELL * 2
    x0 = int(np.clip(np.floor(placed[:, 0].min()) - margin, 0, width))
    x1 = int(np.clip(np.ceil(placed[:, 0].max()) + margin, 0, width))
    y0 = int(np.clip(np.floor(placed[:, 1].min()) - margin, 0, height))
    y1 = int(np.clip(np.ceil(placed[:, 1].max()) + margin, 0, height))
    if x1 <= x0 or y1 <= y0 or not np.isfinite(placed).all():
        return Image.new("RGBA", size, (0, 0, 0, 0))
    xs = np.unique(np.append(np.arange(x0, x1, _CELL), x1))
    ys = np.unique(np.append(np.arange(y0, y1, _CELL), y1))
    gx, gy = np.meshgrid(xs, ys)
    grid = inverse(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float64))
    grid = np.nan_to_num(grid, nan=-1e6, posinf=1e6, neginf=-1e6).reshape(len(ys), len(xs), 2)
    grid = np.clip(grid, -1e6, 1e6)
    mesh: list[tuple[tuple[int, int, int, int], tuple[float, ...]]] = []
    for j in range(len(ys) - 1):
        for i in range(len(xs) - 1):
            box = (int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1]))
            ul, ll = grid[j, i], grid[j + 1, i]
            lr, ur = grid[j + 1, i + 1], grid[j, i + 1]
            quad = (ul[0], ul[1], ll[0], ll[1], lr[0], lr[1], ur[0], ur[1])
            mesh.append((box, tuple(float(v) for v in quad)))
    return garment.transform(
        size,
        Image.Transform.MESH,
        mesh,
        resample=Image.Resampling.BILINEAR,
        fillcolor=(0, 0, 0, 0),
    )
