"""The one session factory: provider choice, honest CUDA handling, typed errors."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fashionrec_sdk as fr
from fashionrec_sdk import _onnx


def test_cpu_session(fixture_bundle_path: Path) -> None:
    s = _onnx.create_session(fixture_bundle_path / "physique_gcn.onnx", providers="cpu", threads=1)
    assert s.get_providers() == ["CPUExecutionProvider"]


def test_cuda_on_cpu_machine_raises(fixture_bundle_path: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine's onnxruntime offers CUDA; covered by the device check")
    with pytest.raises(fr.ProviderUnavailableError, match="cuda") as info:
        fr.ModelBundle.load(fixture_bundle_path, providers="cuda").session("text_encoder")
    assert info.value.provider == "cuda"
    assert info.value.model == "text_encoder"


class _FakeSession:
    def __init__(self, providers: list[str]) -> None:
        self._providers = providers

    def get_providers(self) -> list[str]:
        return self._providers


def _fake_ort(monkeypatch: pytest.MonkeyPatch, available: list[str], active: list[str]) -> None:
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers", lambda: available)
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: _FakeSession(active))


def test_auto_falls_back_with_warning_when_cuda_listed_but_inactive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_ort(
        monkeypatch, ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]
    )
    with pytest.warns(RuntimeWarning, match="not active"):
        s = _onnx.create_session(tmp_path / "m.onnx", providers="auto")
    assert s.get_providers() == ["CPUExecutionProvider"]


def test_explicit_cuda_listed_but_inactive_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_ort(
        monkeypatch, ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]
    )
    with pytest.raises(fr.ProviderUnavailableError, match="not usable|runs on"):
        _onnx.create_session(tmp_path / "m.onnx", providers="cuda")


def test_auto_uses_cuda_when_really_active(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    active = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    _fake_ort(monkeypatch, active, active)
    assert _onnx.create_session(tmp_path / "m.onnx", providers="auto").get_providers() == active


def test_bad_provider_and_threads(fixture_bundle_path: Path) -> None:
    with pytest.raises(fr.InvalidInputError, match="providers"):
        _onnx.create_session(fixture_bundle_path / "physique_gcn.onnx", providers="tpu")  # type: ignore[arg-type]
    with pytest.raises(fr.InvalidInputError, match="threads"):
        _onnx.create_session(fixture_bundle_path / "physique_gcn.onnx", threads=0)


def test_threads_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASHIONREC_NUM_THREADS", "3")
    assert _onnx.default_threads() == 3
    monkeypatch.setenv("FASHIONREC_NUM_THREADS", "many")
    with pytest.raises(fr.InvalidInputError, match="FASHIONREC_NUM_THREADS"):
        _onnx.default_threads()


def test_garbage_onnx_file_is_integrity_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(fr.ArtifactIntegrityError, match="could not load"):
        _onnx.create_session(bad, providers="cpu")


def test_missing_onnxruntime_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(
        fr.MissingDependencyError, match=r'pip install "fashionrec-sdk\[cpu\]"'
    ) as info:
        _onnx.import_onnxruntime()
    assert info.value.package == "onnxruntime"


def test_run_session_wraps_runtime_errors(bundle: fr.ModelBundle) -> None:
    sess = bundle.session("physique_gcn")
    with pytest.raises(fr.InvalidInputError, match="physique_gcn"):
        _onnx.run_session(
            sess, {"outfit_vector": np.zeros((2, 3), np.float32)}, model="physique_gcn"
        )
