"""Text and image encoders over the bundle's ONNX towers (numpy + onnxruntime only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
from tokenizers import Tokenizer

from ._bundle import ModelBundle
from ._errors import IncompatibleArtifactError, InvalidInputError
from ._fetch import Fetcher
from ._images import ImageInput, load_image, preprocess
from ._onnx import run_session

__all__ = ["ImageEncoder", "TextEncoder", "l2_normalize"]


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Unit-length rows (zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    out: np.ndarray = (x / np.maximum(norm, np.float32(1e-12))).astype(np.float32, copy=False)
    return out


def _check_batch_size(batch_size: int) -> int:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(
            f"batch_size must be a positive int, got {batch_size!r}", field="batch_size"
        )
    return batch_size


class TextEncoder:
    """Text -> L2-normalised vector of the bundle's embedding space.

    The ONNX text tower returns token states; mean pooling over the attention mask and
    L2 normalisation happen here (as in sentence-transformers' all-MiniLM-L6-v2).
    """

    def __init__(self, bundle: ModelBundle | None = None, *, batch_size: int = 64) -> None:
        self.bundle = bundle or ModelBundle.load()
        self.batch_size = _check_batch_size(batch_size)
        spec = self.bundle.manifest.text
        self._spec = spec
        self._tokenizer = Tokenizer.from_file(str(self.bundle.file(spec.tokenizer)))
        # Some tokenizer.json files (all-MiniLM-L6-v2's) pad every text to max_length;
        # batches are padded here to their longest member instead (8x less work).
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=spec.max_length)
        entry = self.bundle.manifest.models.get("text_encoder")
        if entry is None:
            raise IncompatibleArtifactError(
                f"bundle {self.bundle.path} has no text_encoder", path=self.bundle.path
            )
        self._input_names = {t.name for t in entry.inputs}
        self.dim = self.bundle.embedding_dim
        #: Dynamic int8 quantisation computes activation scales over the whole input
        #: tensor, so a text's vector would depend on its batch neighbours (and their
        #: padding): cosine ~0.99 between the same text alone and in a batch. An int8
        #: tower therefore runs one text per call, which is also faster on CPU here
        #: (3.0 vs 3.8 ms/text on 1 thread: no padding work).
        self.deterministic_batching = entry.quantization != "int8"

    @overload
    def encode(self, texts: str, *, batch_size: int | None = None) -> np.ndarray: ...
    @overload
    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray: ...

    def encode(self, texts: str | Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Encode one text -> ``(D,)`` or many -> ``(N, D)``, float32, unit length.

        Texts are sorted by length and run in chunks of ``batch_size`` so padding stays
        small; the output keeps the input order. With an int8 tower every text runs on
        its own (see :attr:`deterministic_batching`): a text always gets the same vector.
        """
        single = isinstance(texts, str)
        items: list[str] = [texts] if single else list(texts)  # type: ignore[list-item]
        for i, t in enumerate(items):
            if not isinstance(t, str):
                raise InvalidInputError(
                    f"texts[{i}] must be a str, got {type(t).__name__}", field=f"texts[{i}]"
                )
        bs = _check_batch_size(batch_size) if batch_size is not None else self.batch_size
        if not self.deterministic_batching:
            bs = 1
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        encodings = self._tokenizer.encode_batch(items)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(items), bs):
            idx = order[start : start + bs]
            out[idx] = self._run([encodings[i] for i in idx])
        return out[0] if single else out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        length = max(len(e.ids) for e in encodings)
        n = len(encodings)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.int64)
        types = np.zeros((n, length), dtype=np.int64)
        for row, enc in enumerate(encodings):
            k = len(enc.ids)
            ids[row, :k] = enc.ids
            mask[row, :k] = enc.attention_mask
            types[row, :k] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        (states,) = run_session(
            self.bundle.session("text_encoder"), feeds, None, model="text_encoder"
        )[:1]
        if self._spec.pooling == "mean" and states.ndim == 3:
            m = mask[:, :, None].astype(np.float32)
            pooled = (states * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        else:
            pooled = states
        return l2_normalize(pooled) if self._spec.normalize else pooled.astype(np.float32)


class ImageEncoder:
    """Image -> L2-normalised vector in the text tower's space."""

    def __init__(
        self,
        bundle: ModelBundle | None = None,
        *,
        batch_size: int = 16,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.bundle = bundle or ModelBundle.load()
        self.batch_size = _check_batch_size(batch_size)
        spec = self.bundle.manifest.image
        if spec is None or not self.bundle.has("image_encoder"):
            raise IncompatibleArtifactError(
                f"bundle {self.bundle.path} has no image_encoder", path=self.bundle.path
            )
        self.spec = spec
        self.fetcher = fetcher
        self.dim = self.bundle.embedding_dim
        self._input = self.bundle.manifest.models["image_encoder"].inputs[0].name

    def pixels(self, image: ImageInput, *, field: str = "image") -> np.ndarray:
        """Decode and preprocess one image -> ``(3, S, S)`` float32 (the model's input)."""
        img = load_image(image, fetcher=self.fetcher, background=self.spec.background, field=field)
        return preprocess(img, self.spec)

    @overload
    def encode(self, images: ImageInput, *, batch_size: int | None = None) -> np.ndarray: ...
    @overload
    def encode(
        self, images: Sequence[ImageInput], *, batch_size: int | None = None
    ) -> np.ndarray: ...

    def encode(
        self, images: ImageInput | Sequence[ImageInput], *, batch_size: int | None = None
    ) -> np.ndarray:
        """Encode one image -> ``(D,)`` or many -> ``(N, D)``, float32, unit length.

        Each image is a path, http(s) URL, encoded bytes or PIL image. A bad image
        raises :class:`InvalidInputError` naming its position (``images[3]``).
        """
        items: list[ImageInput]
        if isinstance(images, list | tuple):
            single, items = False, list(images)
        else:
            single, items = True, [images]  # type: ignore[list-item]
        bs = _check_batch_size(batch_size) if batch_size is not None else self.batch_size
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), bs):
            chunk = items[start : start + bs]
            batch = np.stack(
                [
                    self.pixels(img, field="image" if single else f"images[{start + i}]")
                    for i, img in enumerate(chunk)
                ]
            )
            (vecs,) = run_session(
                self.bundle.session("image_encoder"),
                {self._input: batch},
                None,
                model="image_encoder",
            )[:1]
            out[start : start + len(chunk)] = l2_normalize(vecs)
        return out[0] if single else out
