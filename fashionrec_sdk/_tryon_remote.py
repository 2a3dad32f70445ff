"""Client of a retailer-run try-on server (e.g. a diffusion try-on model) over httpx.

Protocol (``POST {url}``, JSON both ways; documented in ``docs/how-to/try-on.md``)::

    request  {"person_image": "<base64 JPEG or PNG>",
              "garment_image": "<base64 PNG>",
              "category": "top" | "bottom" | "dress" | "outerwear" | ... | null,
              "garment_id": "<product id>" | null}
    response {"image": "<base64 PNG or JPEG>", "meta": {...optional...}}

Status 200 with that body is success. 429, 5xx, timeouts and connection errors are
retried with exponential backoff (``Retry-After`` honoured up to a cap); any other
status, malformed JSON, a missing or undecodable ``image`` or a body over ``max_bytes``
raise :class:`RemoteFetchError` naming the URL and status. Images whose encoding would
make the request larger than ``max_request_bytes`` are refused with
:class:`InvalidInputError` before anything is sent.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping

import httpx
from PIL import Image

from ._errors import InvalidInputError, RemoteFetchError
from ._images import ImageInput, load_image
from ._records import Product
from ._remote import JsonPoster, decode_b64, decode_image, load_json
from ._tryon import load_garment_image

__all__ = ["RemoteTryOn"]


class RemoteTryOn:
    """:class:`~fashionrec_sdk._tryon.TryOnBackend` calling a try-on server.

    Args:
        url: the endpoint (http or https) that receives the POST.
        timeout: seconds for connecting and for each read.
        retries: extra attempts after a 429, 5xx, timeout or connection error.
        max_bytes: largest accepted response body.
        max_request_bytes: largest request body; bigger images raise
            :class:`InvalidInputError` before sending.
        headers: extra headers (e.g. ``{"Authorization": "Bearer ..."}``).
        backoff: first retry delay in seconds, doubled each retry.
        max_retry_after: cap on a server's ``Retry-After`` delay, seconds.
        transport: an ``httpx`` transport (tests, proxies).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        max_bytes: int = 32 * 1024 * 1024,
        max_request_bytes: int = 16 * 1024 * 1024,
        headers: Mapping[str, str] | None = None,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            raise InvalidInputError(f"url must be http(s), got {url!r}", field="url")
        if not timeout > 0:
            raise InvalidInputError(f"timeout must be > 0, got {timeout}", field="timeout")
        if not 0 <= retries <= 10:
            raise InvalidInputError(f"retries must be in 0..10, got {retries}", field="retries")
        if max_bytes <= 0 or max_request_bytes <= 0:
            raise InvalidInputError(
                "max_bytes and max_request_bytes must be > 0", field="max_bytes"
            )
        self.url = url
        self.retries = int(retries)
        self.max_bytes = int(max_bytes)
        self.max_request_bytes = int(max_request_bytes)
        self.backoff = max(0.0, float(backoff))
        self.max_retry_after = max(0.0, float(max_retry_after))
        self._poster = JsonPoster(
            url,
            timeout_s=timeout,
            max_bytes=self.max_bytes,
            retries=self.retries,
            backoff_s=self.backoff,
            max_retry_after_s=self.max_retry_after,
            headers=headers,
            only_200=True,
            transport=transport,
        )

    def close(self) -> None:
        self._poster.close()

    def __enter__(self) -> RemoteTryOn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tryon(
        self,
        person_image: ImageInput,
        garment: ImageInput | Product,
        *,
        category: str | None = None,
    ) -> Image.Image:
        """Send the person and the garment; return the server's image as RGB.

        The result is resized to the person image's size when the server answers with
        another size, so every :class:`TryOnBackend` returns the same shape.

        Raises:
            InvalidInputError: an image cannot be decoded or makes the request larger
                than ``max_request_bytes``.
            RemoteFetchError: the server failed (after retries) or answered outside the
                protocol; ``.url`` and ``.status_code`` are set.
        """
        person = load_image(person_image, field="person_image")
        garment_id: str | None = None
        coarse: str | None = None
        if isinstance(garment, Product):
            if garment.image is None:
                raise InvalidInputError(
                    f"garment: product {garment.id!r} has no image",
                    field="garment",
                    product_id=garment.id,
                )
            garment_id = garment.id
            coarse = garment.coarse_category
            source: ImageInput = garment.image
        else:
            source = garment
        if category is not None:
            from ._categories import coarse_category

            coarse = coarse_category(category)
        garment_img = load_garment_image(source, field="garment")
        budget = self.max_request_bytes
        person_b64 = self._encode(person, "JPEG", "person_image", budget)
        garment_b64 = self._encode(garment_img, "PNG", "garment", budget - len(person_b64))
        payload = {
            "person_image": person_b64,
            "garment_image": garment_b64,
            "category": coarse,
            "garment_id": garment_id,
        }
        body = json.dumps(payload).encode("utf-8")
        if len(body) > self.max_request_bytes:
            raise InvalidInputError(
                f"person_image: the request would be {len(body)} bytes, over the "
                f"{self.max_request_bytes}-byte limit; send smaller images",
                field="person_image",
            )
        result = self._image(self._poster.post(body))
        if result.size != person.size:
            result = result.resize(person.size, Image.Resampling.LANCZOS)
        return result

    def _encode(self, img: Image.Image, fmt: str, field: str, budget: int) -> str:
        buf = io.BytesIO()
        if fmt == "JPEG":
            img.convert("RGB").save(buf, format="JPEG", quality=95)
        else:
            img.save(buf, format="PNG")
        # base64 grows the bytes by 4/3
        if (len(buf.getvalue()) + 2) // 3 * 4 > budget:
            raise InvalidInputError(
                f"{field}: the {img.width}x{img.height} image encodes to "
                f"{len(buf.getvalue())} bytes, too large for the "
                f"{self.max_request_bytes}-byte request limit; send a smaller image",
                field=field,
            )
        return base64.b64encode(buf.getvalue()).decode("ascii")

    def _image(self, body: bytes) -> Image.Image:
        url = self.url
        data = load_json(body, url)
        encoded = data.get("image") if isinstance(data, dict) else None
        if not isinstance(encoded, str):
            raise RemoteFetchError(
                f"POST {url} returned JSON without an 'image' string", url=url, status_code=200
            )
        raw = decode_b64(encoded, url=url, name="'image'")
        return decode_image(raw, where=f"POST {url}", url=url, status_code=200)
