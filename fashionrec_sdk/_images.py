"""Decode any reasonable image input to RGB and preprocess it exactly as in training.

:func:`preprocess` is the single implementation used both by the runtime image encoder
and by ``export/`` when it trains and validates the image tower, so the two can never
drift apart.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TypeAlias

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._errors import InvalidInputError
from ._fetch import Fetcher
from ._manifest import ImagePreprocessing

__all__ = ["MAX_PIXELS", "ImageInput", "load_image", "preprocess"]

ImageInput: TypeAlias = "str | os.PathLike[str] | bytes | Image.Image"

#: Larger images are refused as decompression bombs (64 megapixels).
MAX_PIXELS = 64_000_000

_RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def _to_rgb(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr8 = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def load_image(
    source: ImageInput,
    *,
    fetcher: Fetcher | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    field: str = "image",
) -> Image.Image:
    """Decode ``source`` (path, http(s) URL, bytes or PIL image) to an RGB PIL image.

    EXIF orientation is applied; alpha is composited over ``background``; 16-bit,
    palette, CMYK and grayscale images are converted. Truncated or undecodable files and
    images over :data:`MAX_PIXELS` raise :class:`InvalidInputError`.
    """
    if isinstance(source, Image.Image):
        img = source
        if img.width * img.height > MAX_PIXELS:
            raise InvalidInputError(
                f"{field}: image of {img.width}x{img.height} exceeds {MAX_PIXELS} pixels",
                field=field,
            )
    else:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            name = "<bytes>"
        elif isinstance(source, str) and source.lower().startswith(("http://", "https://")):
            if fetcher is None:
                fetcher = Fetcher()
                try:
                    data = fetcher.fetch(source)
                finally:
                    fetcher.close()
            else:
                data = fetcher.fetch(source)
            name = source
        elif isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.is_file():
                raise InvalidInputError(f"{field}: no such image file: {path}", field=field)
            data = path.read_bytes()
            name = str(path)
        else:
            raise InvalidInputError(
                f"{field}: expected a path, URL, bytes or PIL image, got {type(source).__name__}",
                field=field,
            )
        if not data:
            raise InvalidInputError(f"{field}: empty image data ({name})", field=field)
        img = _decode(data, name, field)
    try:
        img = ImageOps.exif_transpose(img) or img
        return _to_rgb(img, background)
    except (OSError, ValueError, SyntaxError) as err:
        raise InvalidInputError(f"{field}: cannot convert image: {err}", field=field) from err


def _decode(data: bytes, name: str, field: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise InvalidInputError(
                    f"{field}: image {name} is {img.width}x{img.height}, over the "
                    f"{MAX_PIXELS}-pixel limit (decompression bomb?)",
                    field=field,
                )
            img.load()
    except InvalidInputError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise InvalidInputError(f"{field}: image {name} is too large: {err}", field=field) from err
    except UnidentifiedImageError as err:
        raise InvalidInputError(f"{field}: {name} is not a recognised image", field=field) from err
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise InvalidInputError(
            f"{field}: image {name} is truncated or corrupt: {err}", field=field
        ) from err
    return img


def preprocess(img: Image.Image, spec: ImagePreprocessing) -> np.ndarray:
    """RGB image -> float32 array ``(3, size, size)``.

    Resize so the shorter side is ``spec.resize`` (aspect kept), center-crop
    ``spec.size``, scale to [0, 1], subtract ``spec.mean`` and divide by ``spec.std``.
    """
    if img.mode != "RGB":
        img = _to_rgb(img, spec.background)
    w, h = img.size
    scale = spec.resize / min(w, h)
    nw, nh = max(spec.size, round(w * scale)), max(spec.size, round(h * scale))
    img = img.resize((nw, nh), _RESAMPLE[spec.interpolation])
    left, top = (nw - spec.size) // 2, (nh - spec.size) // 2
    img = img.crop((left, top, left + spec.size, top + spec.size))
    arr = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    arr = (arr - mean) / std
    return np.ascontiguousarray(arr.transpose(2, 0, 1))
