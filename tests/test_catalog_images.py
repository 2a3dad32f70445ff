"""Catalog ingest of image URLs against a loopback HTTP server (no network).

Slow responses time out, 404s fail at once, 5xx are retried, oversize bodies and wrong
content types are refused; each failed item is stored from its text and flagged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog

from ._catalog_util import png_bytes
from ._loopback import loopback

PNG = png_bytes((10, 120, 200))


class _Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "image/png") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def do_GET(self) -> None:
        path = self.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path.startswith("/ok"):
            self._send(200, PNG)
        elif path == "/slow.png":
            with self.lock:
                type(self).in_flight += 1
                type(self).max_in_flight = max(type(self).max_in_flight, type(self).in_flight)
            time.sleep(1.5)
            with self.lock:
                type(self).in_flight -= 1
            self._send(200, PNG)
        elif path == "/missing.png":
            self._send(404, b"not found", "text/plain")
        elif path == "/flaky.png":
            if self.hits[path] <= 2:
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, PNG)
        elif path == "/down.png":
            self._send(500, b"error", "text/plain")
        elif path == "/big.png":
            self._send(200, PNG + b"\0" * 200_000)
        elif path == "/page.html":
            self._send(200, b"<html></html>", "text/html")
        elif path == "/loop.png":
            self.send_response(302)
            self.send_header("Location", "/loop.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/garbage.png":
            self._send(200, b"definitely not a png")
        else:
            self._send(404, b"", "text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with loopback(_Handler) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


CONFIG = fr.FetchConfig(timeout_s=0.3, retries=2, backoff_s=0.01, max_bytes=50_000, max_redirects=2)


def test_url_images_failures_are_flagged_and_items_kept(
    server: str, bundle: fr.ModelBundle
) -> None:
    _Handler.hits.clear()
    names = ["ok1", "ok2", "slow", "missing", "flaky", "down", "big", "page", "loop", "garbage"]
    rows = [
        {"id": n, "title": f"blue shirt {n}", "category": "Tops", "image": f"{server}/{n}.png"}
        for n in names
    ]
    rows[7]["image"] = f"{server}/page.html"
    with Catalog.build(rows, bundle=bundle, fetch=CONFIG, show_progress=False) as catalog:
        report = catalog.last_report
        assert report is not None
        assert len(catalog) == len(names) and not report.failed
        flagged = {i.product_id: i.reason for i in report.text_only}
        assert set(flagged) == {"slow", "missing", "down", "big", "page", "loop", "garbage"}
        assert "Timeout" in flagged["slow"]
        assert "404" in flagged["missing"]
        assert "500" in flagged["down"]
        assert "50000-byte limit" in flagged["big"]
        assert "content-type 'text/html'" in flagged["page"]
        assert "redirected more than 2" in flagged["loop"]
        assert "not a recognised image" in flagged["garbage"]
        assert {n for n in names if catalog.has_image(n)} == {"ok1", "ok2", "flaky"}
        for name in names:  # every item is searchable, with or without its image
            hits = catalog.search_vector(catalog.vectors([name])[0], k=len(names))
            assert name in {h.product.id for h in hits}
    hits = _Handler.hits
    assert hits["/flaky.png"] == 3  # two 503s, then success on the second retry
    assert hits["/down.png"] == 3  # 1 + retries
    assert hits["/slow.png"] == 3  # timeouts are retried too
    assert hits["/missing.png"] == 1  # 4xx is not retried


def test_images_are_fetched_concurrently(server: str, bundle: fr.ModelBundle) -> None:
    config = fr.FetchConfig(timeout_s=0.3, retries=0, concurrency=8)
    rows = [
        {"id": f"s{i}", "title": "shirt", "category": "Tops", "image": f"{server}/slow.png"}
        for i in range(8)
    ]
    _Handler.max_in_flight = 0
    catalog = Catalog.build(rows, bundle=bundle, fetch=config, show_progress=False)
    catalog.close()
    assert len(catalog.last_report.text_only) == 8  # type: ignore[union-attr]
    # Requests overlapped at the server (no wall-clock assertion: a count of in-flight
    # requests, which does not depend on how busy the machine is).
    assert _Handler.max_in_flight > 1


def test_upsert_reuses_a_caller_supplied_fetcher(server: str, bundle: fr.ModelBundle) -> None:
    with fr.Fetcher(CONFIG) as fetcher:
        catalog = Catalog.build([], bundle=bundle, fetch=fetcher, show_progress=False)
        report = catalog.upsert(
            [{"id": "u", "title": "shirt", "category": "Tops", "image": f"{server}/ok3.png"}]
        )
        catalog.close()  # does not close a fetcher it does not own
        assert report.with_image == 1 and fetcher.fetch(f"{server}/ok4.png") == PNG
