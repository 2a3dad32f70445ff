"""Model bundles are verified on load: hashes, sizes, format version, resolution order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._paths import SHIPPED_BUNDLE, resolve_bundle_dir


def test_fixture_bundle_loads(fixture_bundle_path: Path) -> None:
    b = fr.ModelBundle.load(fixture_bundle_path, providers="cpu")
    assert b.embedding_dim == 16
    assert set(b.model_names) == {
        "text_encoder",
        "image_encoder",
        "outfit_encoder",
        "physique_gcn",
        "feedback_composer",
    }
    assert len(b.sha256) == 64
    assert "fixture" in repr(b)


def test_manifest_path_is_accepted(fixture_bundle_path: Path) -> None:
    b = fr.ModelBundle.load(fixture_bundle_path / "manifest.json", providers="cpu")
    assert b.path == fixture_bundle_path


def _flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("target", ["text_encoder.onnx", "outfit_encoder.onnx", "tokenizer.json"])
def test_tampered_file_raises_integrity_error(bundle_copy: Path, target: str) -> None:
    _flip_byte(bundle_copy / target)
    with pytest.raises(fr.ArtifactIntegrityError, match="sha256") as info:
        fr.ModelBundle.load(bundle_copy)
    assert info.value.path is not None and info.value.path.name == target


def test_truncated_file_raises_integrity_error(bundle_copy: Path) -> None:
    f = bundle_copy / "image_encoder.onnx"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(fr.ArtifactIntegrityError, match="bytes"):
        fr.ModelBundle.load(bundle_copy)


def test_missing_file_raises_integrity_error(bundle_copy: Path) -> None:
    (bundle_copy / "physique_gcn.onnx").unlink()
    with pytest.raises(fr.ArtifactIntegrityError, match="missing"):
        fr.ModelBundle.load(bundle_copy)


def test_missing_directory_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(fr.ArtifactIntegrityError, match="not found"):
        fr.ModelBundle.load(tmp_path / "nope")
    with pytest.raises(fr.ArtifactIntegrityError, match="manifest"):
        fr.ModelBundle.load(tmp_path)


def test_unknown_format_version_is_incompatible(bundle_copy: Path) -> None:
    m = json.loads((bundle_copy / "manifest.json").read_text())
    m["format_version"] = 99
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(fr.IncompatibleArtifactError, match="format_version 99") as info:
        fr.ModelBundle.load(bundle_copy)
    assert info.value.found == 99


def test_not_a_bundle_manifest(bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(fr.IncompatibleArtifactError, match="not a fashionrec model bundle"):
        fr.ModelBundle.load(bundle_copy)
    (bundle_copy / "manifest.json").write_text("{not json")
    with pytest.raises(fr.ArtifactIntegrityError, match="not valid JSON"):
        fr.ModelBundle.load(bundle_copy)


def test_manifest_escaping_the_bundle_is_refused(bundle_copy: Path) -> None:
    m = json.loads((bundle_copy / "manifest.json").read_text())
    m["models"]["text_encoder"]["file"] = "../../etc/passwd"
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(fr.ArtifactIntegrityError, match="outside the bundle"):
        fr.ModelBundle.load(bundle_copy)


def test_malformed_manifest_field(bundle_copy: Path) -> None:
    m = json.loads((bundle_copy / "manifest.json").read_text())
    m["embedding_dim"] = "big"
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(fr.ArtifactIntegrityError, match="malformed"):
        fr.ModelBundle.load(bundle_copy)


def test_resolution_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fixture_bundle_path: Path
) -> None:
    monkeypatch.delenv("FASHIONREC_HOME", raising=False)
    assert resolve_bundle_dir(None) == SHIPPED_BUNDLE
    assert resolve_bundle_dir(fixture_bundle_path) == fixture_bundle_path
    home = tmp_path / "home"
    monkeypatch.setenv("FASHIONREC_HOME", str(home))
    assert resolve_bundle_dir(None) == SHIPPED_BUNDLE  # no bundle there yet
    import shutil

    shutil.copytree(fixture_bundle_path, home / "bundle")
    assert resolve_bundle_dir(None) == home / "bundle"
    assert fr.ModelBundle.load().manifest.name == "fixture"
    assert resolve_bundle_dir(fixture_bundle_path) == fixture_bundle_path


def test_sessions_are_created_once(bundle: fr.ModelBundle) -> None:
    s1 = bundle.session("physique_gcn")
    assert bundle.session("physique_gcn") is s1
    assert bundle.active_providers()["physique_gcn"] == ["CPUExecutionProvider"]
    with pytest.raises(fr.IncompatibleArtifactError, match="no model"):
        bundle.session("nope")


def test_cli_one_liner_from_issue(bundle_copy: Path) -> None:
    """The acceptance one-liner: loading a tampered copy raises ArtifactIntegrityError."""
    _flip_byte(bundle_copy / "feedback_composer.onnx")
    code = (
        "import fashionrec_sdk as fr\n"
        f"try:\n    fr.ModelBundle.load({str(bundle_copy)!r})\n"
        "except fr.ArtifactIntegrityError as e:\n    print('OK', type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "OK ArtifactIntegrityError"
