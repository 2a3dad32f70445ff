"""Image generation from a text description: an embedded sketch generator and a remote backend.

* :class:`SketchGenerator` (embedded, numpy + onnxruntime): description -> text tower
  vector -> the ``sketch_generator`` ONNX graph (latent flow matching, a few Euler steps,
  a VAE decoder) with noise from a seeded numpy RNG -> a 28x28 greyscale sketch,
  upscaled to ``size`` RGB and optionally tinted with a colour named in the description.
  Trained on Fashion-MNIST: a sketch generator, not a product photographer.
* :class:`RemoteImageGenerator`: the OpenAI-compatible ``POST {base_url}/v1/images/generations``
  endpoint over httpx, with timeouts, retries (429, 5xx, timeouts) and size limits.
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np
from PIL import Image
from pydantic import Field

from ._bundle import ModelBundle
from ._encoders import TextEncoder
from ._errors import (
    ArtifactIntegrityError,
    IncompatibleArtifactError,
    InvalidInputError,
    RemoteFetchError,
)
from ._fetch import FetchConfig, Fetcher
from ._integrity import read_json, sha256_file
from ._onnx import Providers, create_session, run_session
from ._remote import JsonPoster, decode_b64, decode_image, load_json
from ._validation import Record

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "ImageGenerator",
    "RemoteImageConfig",
    "RemoteImageGenerator",
    "SketchGenerator",
    "generate_image",
]

#: Longest accepted description (the OpenAI images API's limit for dall-e-2).
MAX_DESCRIPTION_CHARS = 1000
MAX_IMAGES = 10
MODEL_NAME = "sketch_generator"
CONFIG_FILE = "sketch_generator.json"

#: Colour words the embedded generator tints with (lighter colours keep the grey sketch,
#: which would otherwise vanish into the white background).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (190, 30, 45),
    "burgundy": (128, 0, 32),
    "pink": (230, 100, 150),
    "orange": (235, 120, 20),
    "yellow": (220, 180, 0),
    "olive": (110, 120, 40),
    "green": (30, 130, 60),
    "teal": (0, 128, 128),
    "blue": (30, 80, 190),
    "denim": (50, 80, 130),
    "navy": (20, 30, 90),
    "purple": (110, 40, 150),
    "brown": (110, 70, 35),
    "camel": (180, 130, 70),
    "khaki": (160, 145, 95),
    "grey": (110, 110, 110),
    "gray": (110, 110, 110),
    "black": (20, 20, 20),
}
_COLOUR_RE = re.compile(r"\b(" + "|".join(COLOURS) + r")\b", re.IGNORECASE)


def _check_request(description: object, n: object, size: object) -> str:
    if not isinstance(description, str):
        raise InvalidInputError(
            f"description must be a str, got {type(description).__name__}", field="description"
        )
    text = description.strip()
    if not text:
        raise InvalidInputError("description is empty", field="description")
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise InvalidInputError(
            f"description has {len(text)} characters, over the {MAX_DESCRIPTION_CHARS} limit",
            field="description",
        )
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_IMAGES:
        raise InvalidInputError(f"n must be an int in 1..{MAX_IMAGES}, got {n!r}", field="n")
    if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= 2048:
        raise InvalidInputError(f"size must be an int in 16..2048, got {size!r}", field="size")
    return text


def _check_seed(seed: object) -> int | None:
    if seed is None:
        return None
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(
            f"seed must be a non-negative int or None, got {seed!r}", field="seed"
        )
    return seed


class ImageGenerator(ABC):
    """Something that turns a text description into images."""

    @abstractmethod
    def generate(
        self, description: str, *, n: int = 1, seed: int | None = None, size: int = 256
    ) -> list[Image.Image]:
        """``n`` RGB images of ``size`` x ``size`` pixels for ``description``.

        Raises:
            InvalidInputError: empty or over-long description (``field="description"``),
                bad ``n`` or ``size``.
        """


# --------------------------------------------------------------------------- embedded


def tint(gray: np.ndarray, description: str) -> np.ndarray:
    """``(H, W)`` uint8 dark-on-white sketch -> ``(H, W, 3)`` uint8, ink coloured by the
    first colour word of ``description`` (unchanged grey when there is none)."""
    match = _COLOUR_RE.search(description)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    if match is None:
        return rgb
    colour = np.asarray(COLOURS[match.group(1).lower()], dtype=np.float32)
    ink = 1.0 - gray.astype(np.float32)[:, :, None] / 255.0
    shade = 255.0 - ink * (255.0 - colour)
    out: np.ndarray = np.clip(shade + 0.5, 0, 255).astype(np.uint8)
    return out


class SketchGenerator(ImageGenerator):
    """Embedded text-to-sketch generator (Fashion-MNIST style, 28x28 upscaled).

    Deterministic for a given ``seed``. Sampling parameters come from
    ``sketch_generator.json`` (written by ``export/train_generator.py``) when the bundle
    carries it as a file entry (it adds a check that ``text_encoder`` is the text tower
    the generator was trained on); otherwise tensor names and the latent size are read
    from the ONNX graph, which has the number of steps and the guidance built in.

    Args:
        bundle: a :class:`ModelBundle` holding ``sketch_generator`` and a file entry
            ``sketch_generator.json``; or a path to such a bundle, to
            ``sketch_generator.onnx`` or to a folder holding it and its ``.json``;
            ``None``: the shipped vision bundle.
        text_encoder: the text tower the generator was trained on (``None``: the shipped
            default bundle's). Its model hash must match the one the generator records.
        threads: intra-op threads of a session this class creates.
    """

    def __init__(
        self,
        bundle: ModelBundle | str | os.PathLike[str] | None = None,
        *,
        text_encoder: TextEncoder | None = None,
        providers: Providers = "cpu",
        threads: int | None = 1,
    ) -> None:
        self._session, self.config, self.source = _load_generator(bundle, providers, threads)
        sampling = self.config.get("sampling") or {}
        self._cond = str(sampling.get("condition_input", "text_vector"))
        self._noise = str(sampling.get("noise_input", "noise"))
        shapes = {i.name: tuple(i.shape) for i in self._session.get_inputs()}
        outputs = [o.name for o in self._session.get_outputs()]
        self._output = str(sampling.get("output", outputs[0] if outputs else "image"))
        cond_shape, noise_shape = shapes.get(self._cond), shapes.get(self._noise)
        if (
            cond_shape is None
            or noise_shape is None
            or len(noise_shape) != 2
            or not isinstance(noise_shape[1], int)
            or self._output not in outputs
        ):
            raise IncompatibleArtifactError(
                f"{self.source}: the sketch generator's I/O {shapes} -> {outputs} is not "
                f"({self._cond}, {self._noise}) -> {self._output}",
                path=self.source,
            )
        self.latent_dim = int(noise_shape[1])
        self.text_encoder = text_encoder or TextEncoder(ModelBundle.load(threads=threads))
        if cond_shape[-1] != self.text_encoder.dim:
            raise IncompatibleArtifactError(
                f"the sketch generator takes {cond_shape[-1]}-d text vectors, the text encoder "
                f"gives {self.text_encoder.dim}-d",
                path=self.source,
                expected=cond_shape[-1],
                found=self.text_encoder.dim,
            )
        expected = (self.config.get("text_encoder") or {}).get("sha256")
        entry = self.text_encoder.bundle.manifest.models.get("text_encoder")
        found = entry.sha256 if entry is not None else None
        if expected and found != expected:
            raise IncompatibleArtifactError(
                f"the sketch generator was trained on text tower {expected[:12]}, but the "
                f"text encoder given is {str(found)[:12]}: its vectors would be meaningless",
                path=self.source,
                expected=expected,
                found=found,
            )

    def sketch(self, description: str, *, n: int = 1, seed: int | None = None) -> np.ndarray:
        """The raw samples: ``(n, 28, 28)`` float32 in [0, 1], dark garment on white."""
        text = _check_request(description, n, 256)
        vec = self.text_encoder.encode(text)
        rng = np.random.default_rng(_check_seed(seed))
        noise = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        feeds = {self._cond: np.tile(vec[None, :], (n, 1)), self._noise: noise}
        (out,) = run_session(self._session, feeds, [self._output], model=MODEL_NAME)
        images: np.ndarray = np.clip(out[:, 0], 0.0, 1.0).astype(np.float32)
        return images

    def generate(
        self, description: str, *, n: int = 1, seed: int | None = None, size: int = 256
    ) -> list[Image.Image]:
        """``n`` sketches for ``description`` as ``size`` x ``size`` RGB images."""
        text = _check_request(description, n, size)
        images = []
        for arr in self.sketch(text, n=n, seed=seed):
            gray = Image.fromarray((arr * 255.0 + 0.5).astype(np.uint8), mode="L")
            gray = gray.resize((size, size), Image.Resampling.BICUBIC)
            images.append(Image.fromarray(tint(np.asarray(gray), text), mode="RGB"))
        return images


def _load_generator(
    bundle: ModelBundle | str | os.PathLike[str] | None, providers: Providers, threads: int | None
) -> tuple[Any, dict[str, Any], Path]:
    """(session, config dict, source path) from a bundle or a loose ``.onnx`` + ``.json``."""
    if bundle is None:
        from . import _paths

        shipped = getattr(_paths, "SHIPPED_VISION_BUNDLE", None)
        if shipped is None or not (Path(shipped) / "manifest.json").is_file():
            raise ArtifactIntegrityError(
                "no vision bundle is installed; pass SketchGenerator(bundle=...) "
                "(a bundle directory or sketch_generator.onnx)",
                path=shipped,
            )
        bundle = ModelBundle.load(shipped, providers=providers, threads=threads)
    if isinstance(bundle, ModelBundle):
        if not bundle.has(MODEL_NAME):
            raise IncompatibleArtifactError(
                f"bundle {bundle.path} has no {MODEL_NAME!r} model",
                path=bundle.path,
                expected=MODEL_NAME,
                found=sorted(bundle.manifest.models),
            )
        config: dict[str, Any] = {}
        if CONFIG_FILE in bundle.manifest.files:  # optional: adds the text tower check
            raw, _ = read_json(bundle.file(CONFIG_FILE), what="sketch generator config")
            config = _as_dict(raw, bundle.path)
        return bundle.session(MODEL_NAME), config, bundle.path
    path = Path(bundle).expanduser()
    if (path / "manifest.json").is_file():
        return _load_generator(
            ModelBundle.load(path, providers=providers, threads=threads), providers, threads
        )
    onnx_path = path / f"{MODEL_NAME}.onnx" if path.is_dir() else path
    json_path = onnx_path.with_suffix(".json")
    if not onnx_path.is_file() or not json_path.is_file():
        raise ArtifactIntegrityError(
            f"sketch generator not found: need {onnx_path} and {json_path}", path=onnx_path
        )
    raw_config, _ = read_json(json_path, what="sketch generator config")
    config = _as_dict(raw_config, json_path)
    recorded = config.get("sha256")
    actual = sha256_file(onnx_path)
    if recorded != actual:
        raise ArtifactIntegrityError(
            f"{onnx_path} has SHA-256 {actual[:12]}, its config records {str(recorded)[:12]}",
            path=onnx_path,
        )
    session = create_session(onnx_path, providers=providers, threads=threads, model=MODEL_NAME)
    return session, config, onnx_path


def _as_dict(data: object, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ArtifactIntegrityError(f"{path}: sketch generator config is not an object", path=path)
    return data


# --------------------------------------------------------------------------- remote


class RemoteImageConfig(Record):
    """Where and how to call an OpenAI-compatible image generation server."""

    base_url: str = Field(min_length=1)
    api_key: str | None = Field(default=None, repr=False)
    model: str = "dall-e-2"
    response_format: Literal["b64_json", "url"] = "b64_json"
    timeout_s: float = Field(default=120.0, gt=0, le=900)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=1.0, ge=0, le=60)
    max_retry_after_s: float = Field(default=30.0, ge=0, le=600)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    send_seed: bool = False
    user_agent: str = "fashionrec-sdk/0.1"


class RemoteImageGenerator(ImageGenerator):
    """Client of ``POST {base_url}/v1/images/generations`` (OpenAI images API shape).

    Request JSON: ``{"model", "prompt", "n", "size": "WxH", "response_format"}`` (plus
    ``"seed"`` when ``send_seed`` is set; the OpenAI API itself has none). Response JSON:
    ``{"created": int, "data": [{"b64_json": str} | {"url": str}, ...]}``. URLs are
    downloaded with the same timeout, retries and byte limit. Every failure raises
    :class:`RemoteFetchError` naming the URL and the HTTP status.
    """

    def __init__(
        self,
        config: RemoteImageConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        **kwargs: Any,
    ) -> None:
        self.config = config or RemoteImageConfig(**kwargs)
        if config is not None and kwargs:
            raise InvalidInputError(
                "pass either config or keyword settings, not both", field="config"
            )
        base = self.config.base_url.rstrip("/")
        if not base.lower().startswith(("http://", "https://")):
            raise InvalidInputError(f"base_url must be http(s), got {base!r}", field="base_url")
        self.endpoint = f"{base}/v1/images/generations"
        auth = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        self._poster = JsonPoster(
            self.endpoint,
            timeout_s=self.config.timeout_s,
            max_bytes=self.config.max_response_bytes,
            retries=self.config.retries,
            backoff_s=self.config.backoff_s,
            max_retry_after_s=self.config.max_retry_after_s,
            headers=auth,
            user_agent=self.config.user_agent,
            transport=transport,
        )
        self._fetcher = Fetcher(
            FetchConfig(
                timeout_s=min(self.config.timeout_s, 300.0),
                max_bytes=self.config.max_response_bytes,
                retries=self.config.retries,
                backoff_s=min(self.config.backoff_s, 30.0),
            ),
            transport=transport,
        )

    def close(self) -> None:
        self._poster.close()
        self._fetcher.close()

    def __enter__(self) -> RemoteImageGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(
        self, description: str, *, n: int = 1, seed: int | None = None, size: int = 256
    ) -> list[Image.Image]:
        """Ask the server for ``n`` images; each is returned as ``size`` x ``size`` RGB."""
        text = _check_request(description, n, size)
        payload: dict[str, Any] = {
            "model": self.config.model,
            "prompt": text,
            "n": n,
            "size": f"{size}x{size}",
            "response_format": self.config.response_format,
        }
        if _check_seed(seed) is not None and self.config.send_seed:
            payload["seed"] = seed
        body = self._poster.post(payload)
        items = _parse_response(body, self.endpoint)
        if len(items) < n:
            raise RemoteFetchError(
                f"POST {self.endpoint} returned {len(items)} images, {n} were requested",
                url=self.endpoint,
                status_code=200,
            )
        return [self._image(item, size) for item in items[:n]]

    def _image(self, item: dict[str, Any], size: int) -> Image.Image:
        if isinstance(item.get("b64_json"), str):
            data = decode_b64(item["b64_json"], url=self.endpoint, name="b64_json")
            where = self.endpoint
        elif isinstance(item.get("url"), str):
            where = item["url"]
            data = self._fetcher.fetch(where)
        else:
            raise RemoteFetchError(
                f"POST {self.endpoint}: a data item has neither 'b64_json' nor 'url'",
                url=self.endpoint,
                status_code=200,
            )
        img = decode_image(data, where=where, url=where)
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.LANCZOS)
        return img


def _parse_response(body: bytes, url: str) -> list[dict[str, Any]]:
    data = load_json(body, url)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise RemoteFetchError(
            f"POST {url} returned JSON without a 'data' list of objects", url=url, status_code=200
        )
    return items


# --------------------------------------------------------------------------- function

_DEFAULT: SketchGenerator | None = None
_DEFAULT_LOCK = threading.Lock()


def generate_image(
    description: str,
    *,
    generator: ImageGenerator | None = None,
    seed: int | None = None,
    size: int = 256,
) -> Image.Image:
    """One ``size`` x ``size`` RGB image for ``description``.

    ``generator=None`` uses the embedded :class:`SketchGenerator` of the shipped vision
    bundle (created once). Pass a :class:`RemoteImageGenerator` for photographic images.
    """
    global _DEFAULT
    if generator is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = SketchGenerator()
            generator = _DEFAULT
    return generator.generate(description, n=1, seed=seed, size=size)[0]
