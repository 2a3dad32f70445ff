"""Fetch caller-supplied image URLs with httpx: timeouts, retries, size and type limits.

Also home of the two pieces every HTTP client in the package shares (the fetcher here,
the JSON backends through :mod:`fashionrec_sdk._remote`): :func:`read_limited` (a body
under a byte limit) and :func:`with_retries` (exponential backoff, ``Retry-After``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
from pydantic import Field

from ._errors import RemoteFetchError
from ._validation import Record

__all__ = ["FetchConfig", "Fetcher"]

T = TypeVar("T")


class FetchConfig(Record):
    """Limits for fetching images over http(s)."""

    timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=3, ge=0, le=20)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.25, ge=0, le=30)
    concurrency: int = Field(default=8, ge=1, le=128)
    content_types: tuple[str, ...] = ("image/",)
    user_agent: str = "fashionrec-sdk/0.1"


class Fetcher:
    """Downloads images; thread-safe, one pooled ``httpx.Client``."""

    def __init__(
        self, config: FetchConfig | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config or FetchConfig()
        self._client = httpx.Client(
            timeout=self.config.timeout_s,
            follow_redirects=True,
            max_redirects=self.config.max_redirects,
            headers={"User-Agent": self.config.user_agent},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str) -> bytes:
        """GET ``url`` and return its body.

        Retries on timeouts, connection errors and 5xx with exponential backoff; refuses
        non-http(s) schemes, 4xx, wrong content types and bodies over ``max_bytes``.

        Raises:
            RemoteFetchError: with ``.url`` and ``.status_code``.
        """
        if not url.lower().startswith(("http://", "https://")):
            raise RemoteFetchError(f"only http(s) URLs can be fetched, got {url!r}", url=url)
        cfg = self.config
        return with_retries(
            lambda: self._fetch_once(url),
            method="GET",
            url=url,
            retries=cfg.retries,
            backoff_s=cfg.backoff_s,
        )

    def _fetch_once(self, url: str) -> bytes:
        cfg = self.config
        try:
            with self._client.stream("GET", url) as response:
                status = response.status_code
                if status >= 500:
                    raise RetryableError(f"GET {url} answered {status}", status)
                if status >= 400:
                    raise RemoteFetchError(
                        f"GET {url} answered {status}", url=url, status_code=status
                    )
                ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if cfg.content_types and not ctype.startswith(cfg.content_types):
                    raise RemoteFetchError(
                        f"GET {url} returned content-type {ctype or 'none'!r}, "
                        f"expected one of {list(cfg.content_types)}",
                        url=url,
                        status_code=status,
                    )
                return read_limited(response, method="GET", url=url, limit=cfg.max_bytes)
        except httpx.TooManyRedirects as err:
            raise RemoteFetchError(
                f"GET {url} redirected more than {cfg.max_redirects} times", url=url
            ) from err
        except (httpx.TimeoutException, httpx.TransportError) as err:
            raise RetryableError(f"GET {url} failed: {type(err).__name__}: {err}", None) from err

    def fetch_many(self, urls: Sequence[str]) -> list[bytes | RemoteFetchError]:
        """Fetch several URLs concurrently (``config.concurrency`` at once), in order."""

        def one(url: str) -> bytes | RemoteFetchError:
            try:
                return self.fetch(url)
            except RemoteFetchError as err:
                return err

        if len(urls) <= 1:
            return [one(u) for u in urls]
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(urls))) as pool:
            return list(pool.map(one, urls))


# --------------------------------------------------------------------------- shared pieces


class RetryableError(Exception):
    """A failed attempt worth repeating: a timeout, a connection error, a 429 or a 5xx.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self, message: str, status_code: int | None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


def with_retries(
    attempt: Callable[[], T],
    *,
    method: str,
    url: str,
    retries: int,
    backoff_s: float,
    max_retry_after_s: float = 0.0,
) -> T:
    """``attempt()``, repeated up to ``retries`` more times while it raises
    :class:`RetryableError`.

    The wait after the k-th failure (k from 0) is ``backoff_s * 2**k``, or the error's
    ``retry_after`` capped at ``max_retry_after_s`` when that is longer.

    Raises:
        RemoteFetchError: the last failure's message and status, with ``.url``; any
            other error ``attempt`` raises passes through at once.
    """
    last = RemoteFetchError(f"{method} {url} was not attempted", url=url)
    for k in range(retries + 1):
        try:
            return attempt()
        except RetryableError as err:
            last = RemoteFetchError(str(err), url=url, status_code=err.status_code)
            if k < retries:
                wait = backoff_s * (2**k)
                if err.retry_after is not None:
                    wait = max(wait, min(err.retry_after, max_retry_after_s))
                time.sleep(wait)
    raise last


def read_limited(response: httpx.Response, *, method: str, url: str, limit: int) -> bytes:
    """The body of a streamed ``response``, refused once it passes ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before reading when the status is
    below 400 (an error page may say what went wrong even if it is long).

    Raises:
        RemoteFetchError: the body is over ``limit``; ``.status_code`` is the response's.
    """
    status = response.status_code
    declared = response.headers.get("content-length")
    if status < 400 and declared and declared.isdigit() and int(declared) > limit:
        raise RemoteFetchError(
            f"{method} {url} declares {declared} bytes, over the {limit}-byte limit",
            url=url,
            status_code=status,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise RemoteFetchError(
                f"{method} {url} sent more than the {limit}-byte limit",
                url=url,
                status_code=status,
            )
        chunks.append(chunk)
    return b"".join(chunks)
