"""What the JSON-over-HTTP backends share (``RemoteImageGenerator``, ``RemoteTryOn``).

:class:`JsonPoster` POSTs a JSON request to one URL with a timeout, retries 429, 5xx,
timeouts and connection errors with exponential backoff (a server's ``Retry-After``
honoured up to a cap), refuses bodies over a byte limit and turns every other failure
into :class:`RemoteFetchError` naming the URL and the HTTP status. :func:`load_json`,
:func:`decode_b64` and :func:`decode_image` turn a successful answer into an image with
the same error type. Body limits and the retry loop are the image fetcher's
(:func:`~fashionrec_sdk._fetch.read_limited`, :func:`~fashionrec_sdk._fetch.with_retries`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import httpx
from PIL import Image

from ._errors import InvalidInputError, RemoteFetchError
from ._fetch import RetryableError, read_limited, with_retries
from ._images import load_image

_JSON_CONTENT = {"Content-Type": "application/json"}


class JsonPoster:
    """POSTs JSON to ``url`` through one pooled ``httpx.Client``; thread-safe.

    Args:
        url: the endpoint (the caller checks it is http(s)).
        timeout_s: seconds for connecting and for each read.
        max_bytes: largest accepted response body.
        retries: extra attempts after a 429, 5xx, timeout or connection error.
        backoff_s: first retry delay, doubled each retry.
        max_retry_after_s: cap on a server's ``Retry-After`` delay.
        headers: extra request headers, over ``User-Agent`` and ``Accept``.
        user_agent: the ``User-Agent`` header.
        only_200: treat any status but 200 as a failure (otherwise any below 400
            other than 429 is success).
        transport: an ``httpx`` transport (tests, proxies).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        max_bytes: int,
        retries: int,
        backoff_s: float,
        max_retry_after_s: float,
        headers: Mapping[str, str] | None = None,
        user_agent: str = "fashionrec-sdk/0.1",
        only_200: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.only_200 = only_200
        all_headers = {"User-Agent": user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        self._client = httpx.Client(timeout=timeout_s, headers=all_headers, transport=transport)

    def close(self) -> None:
        self._client.close()

    def post(self, payload: Mapping[str, Any] | bytes) -> bytes:
        """POST ``payload`` and return the body of the successful answer.

        A mapping is encoded by httpx; ``bytes`` are sent as they are, as JSON (for a
        caller that has already encoded and size-checked its request).

        Raises:
            RemoteFetchError: after the retries, or at once on another 4xx (or non-200
                with ``only_200``) or an over-limit body; ``.url`` and ``.status_code``
                are set (``status_code`` is ``None`` after a timeout or connection error).
        """
        return with_retries(
            lambda: self._post_once(payload),
            method="POST",
            url=self.url,
            retries=self.retries,
            backoff_s=self.backoff_s,
            max_retry_after_s=self.max_retry_after_s,
        )

    def _post_once(self, payload: Mapping[str, Any] | bytes) -> bytes:
        url = self.url
        content: bytes | None = None
        data: Mapping[str, Any] | None = None
        if isinstance(payload, bytes):
            content = payload
        else:
            data = payload
        headers = _JSON_CONTENT if content is not None else None
        try:
            with self._client.stream(
                "POST", url, content=content, json=data, headers=headers
            ) as response:
                status = response.status_code
                body = read_limited(response, method="POST", url=url, limit=self.max_bytes)
                if status == 429 or status >= 500:
                    raise RetryableError(
                        f"POST {url} answered {status}{server_message(body)}",
                        status,
                        retry_after(response.headers.get("retry-after")),
                    )
                if status >= 400 or (self.only_200 and status != 200):
                    raise RemoteFetchError(
                        f"POST {url} answered {status}{server_message(body)}",
                        url=url,
                        status_code=status,
                    )
                return body
        except (httpx.TimeoutException, httpx.TransportError) as err:
            raise RetryableError(f"POST {url} failed: {type(err).__name__}: {err}", None) from err


def load_json(body: bytes, url: str) -> object:
    """The JSON value of a successful answer from ``POST url``.

    Raises:
        RemoteFetchError: malformed JSON (``status_code=200``).
    """
    try:
        data: object = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RemoteFetchError(
            f"POST {url} returned malformed JSON: {err}", url=url, status_code=200
        ) from err
    return data


def decode_b64(encoded: str, *, url: str, name: str) -> bytes:
    """The bytes of a base64 field ``name`` in the answer from ``POST url``.

    Raises:
        RemoteFetchError: not valid base64 (``status_code=200``).
    """
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise RemoteFetchError(
            f"POST {url}: {name} is not valid base64", url=url, status_code=200
        ) from err


def decode_image(
    data: bytes, *, where: str, url: str, status_code: int | None = None
) -> Image.Image:
    """``data`` as an RGB image; ``where`` starts the error message.

    Raises:
        RemoteFetchError: the bytes are not a readable image.
    """
    try:
        return load_image(data, field="image")
    except InvalidInputError as err:
        raise RemoteFetchError(
            f"{where}: the server sent an unreadable image: {err}",
            url=url,
            status_code=status_code,
        ) from err


def server_message(body: bytes) -> str:
    """``": <message>"`` from an error body (``{"error": {"message": ...}}``,
    ``{"error": "..."}`` or plain text), or ``""`` when it says nothing."""
    msg: Any
    try:
        err = json.loads(body).get("error")
        msg = err.get("message") if isinstance(err, dict) else err
    except (ValueError, AttributeError):  # not JSON, or JSON but not an object
        msg = body[:200].decode("utf-8", "replace")
    return f": {str(msg)[:300]}" if msg else ""


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (``None``: absent, or an HTTP date)."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
