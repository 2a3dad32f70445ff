"""Image URL fetching against a loopback HTTP server: limits, retries, errors."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

import fashionrec_sdk as fr

from ._loopback import loopback

PNG = io.BytesIO()
Image.new("RGB", (8, 8), (1, 2, 3)).save(PNG, format="PNG")
PNG_BYTES = PNG.getvalue()


class _Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self, status: int, body: bytes, ctype: str = "image/png", length: int | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/ok.png":
            self._send(200, PNG_BYTES)
        elif self.path == "/404":
            self._send(404, b"nope", "text/plain")
        elif self.path == "/flaky":
            if self.hits[self.path] < 3:
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, PNG_BYTES)
        elif self.path == "/always500":
            self._send(500, b"", "text/plain")
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, PNG_BYTES)
        elif self.path == "/html":
            self._send(200, b"<html></html>", "text/html")
        elif self.path == "/big":
            self._send(200, b"x" * 5000)
        elif self.path == "/big-undeclared":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(b"x" * 5000)
        elif self.path.startswith("/loop"):
            n = int(self.path[5:] or 0)
            self.send_response(302)
            self.send_header("Location", f"/loop{n + 1}")
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.hits = {}
    with loopback(_Handler) as url:
        yield url


def fetcher(**kw: object) -> fr.Fetcher:
    cfg = {"timeout_s": 0.3, "retries": 2, "backoff_s": 0.01, "max_bytes": 1000}
    cfg.update(kw)
    return fr.Fetcher(fr.FetchConfig(**cfg))


def test_ok(server: str) -> None:
    with fetcher() as f:
        assert f.fetch(f"{server}/ok.png") == PNG_BYTES


def test_404_is_not_retried(server: str) -> None:
    with fetcher() as f, pytest.raises(fr.RemoteFetchError, match="404") as info:
        f.fetch(f"{server}/404")
    assert info.value.status_code == 404
    assert _Handler.hits["/404"] == 1


def test_5xx_is_retried_with_backoff(server: str) -> None:
    with fetcher() as f:
        assert f.fetch(f"{server}/flaky") == PNG_BYTES
    assert _Handler.hits["/flaky"] == 3
    with fetcher(retries=1) as f, pytest.raises(fr.RemoteFetchError, match="500") as info:
        f.fetch(f"{server}/always500")
    assert info.value.status_code == 500
    assert _Handler.hits["/always500"] == 2


def test_timeout(server: str) -> None:
    with fetcher(retries=0) as f, pytest.raises(fr.RemoteFetchError, match="Timeout") as info:
        f.fetch(f"{server}/slow")
    assert info.value.url.endswith("/slow")


def test_wrong_content_type(server: str) -> None:
    with fetcher() as f, pytest.raises(fr.RemoteFetchError, match="content-type"):
        f.fetch(f"{server}/html")


def test_oversize_declared_and_streamed(server: str) -> None:
    with fetcher() as f:
        with pytest.raises(fr.RemoteFetchError, match="limit"):
            f.fetch(f"{server}/big")
        with pytest.raises(fr.RemoteFetchError, match="limit"):
            f.fetch(f"{server}/big-undeclared")


def test_redirect_limit(server: str) -> None:
    with fetcher(max_redirects=2) as f, pytest.raises(fr.RemoteFetchError, match="redirected"):
        f.fetch(f"{server}/loop0")


def test_scheme_refused() -> None:
    with fetcher() as f, pytest.raises(fr.RemoteFetchError, match="http"):
        f.fetch("file:///etc/passwd")


def test_fetch_many_keeps_order_and_reports_failures(server: str) -> None:
    with fetcher(retries=0) as f:
        out = f.fetch_many([f"{server}/ok.png", f"{server}/404", f"{server}/ok.png"])
    assert out[0] == PNG_BYTES and out[2] == PNG_BYTES
    assert isinstance(out[1], fr.RemoteFetchError)


def test_image_encoder_reads_urls(server: str, bundle: fr.ModelBundle) -> None:
    enc = fr.ImageEncoder(bundle, fetcher=fetcher())
    assert enc.encode(f"{server}/ok.png").shape == (16,)
    with pytest.raises(fr.RemoteFetchError):
        enc.encode(f"{server}/404")


def test_config_validation() -> None:
    with pytest.raises(fr.InvalidInputError, match="timeout_s"):
        fr.FetchConfig(timeout_s=0)
