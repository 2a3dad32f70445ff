"""Fetch caller-supplied image URLs with httpx: timeouts, retries, size and type limits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from pydantic import Field

from ._errors import RemoteFetchError
from ._validation import Record

__all__ = ["FetchConfig", "Fetcher"]


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
        last = RemoteFetchError(f"GET {url} was not attempted", url=url)
        for attempt in range(cfg.retries + 1):
            if attempt:
                time.sleep(cfg.backoff_s * (2 ** (attempt - 1)))
            try:
                return self._fetch_once(url)
            except _RetryableError as err:
                last = RemoteFetchError(str(err), url=url, status_code=err.status_code)
        raise last

    def _fetch_once(self, url: str) -> bytes:
        cfg = self.config
        try:
            with self._client.stream("GET", url) as response:
                status = response.status_code
                if status >= 500:
                    raise _RetryableError(f"GET {url} answered {status}", status)
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
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cfg.max_bytes:
                    raise RemoteFetchError(
                        f"GET {url} declares {declared} bytes, over the {cfg.max_bytes}-byte limit",
                        url=url,
                        status_code=status,
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise RemoteFetchError(
                            f"GET {url} sent more than the {cfg.max_bytes}-byte limit",
                            url=url,
                            status_code=status,
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TooManyRedirects as err:
            raise RemoteFetchError(
                f"GET {url} redirected more than {cfg.max_redirects} times", url=url
            ) from err
        except (httpx.TimeoutException, httpx.TransportError) as err:
            raise _RetryableError(f"GET {url} failed: {type(err).__name__}: {err}", None) from err

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


class _RetryableError(Exception):
    def __init__(self, message: str, status_code: int | None) -> None:
        super().__init__(message)
        self.status_code = status_code
