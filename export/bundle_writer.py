"""Write a model bundle directory: files + a manifest with sizes and SHA-256."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fashionrec_sdk._bundle import sha256_file
from fashionrec_sdk._manifest import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    BundleManifest,
    FileEntry,
    ModelEntry,
)

from .onnx_export import ExportSpec

__all__ = ["file_entry", "model_entry", "write_bundle"]


def file_entry(path: Path, name: str | None = None) -> FileEntry:
    return FileEntry(file=name or path.name, sha256=sha256_file(path), bytes=path.stat().st_size)


def model_entry(path: Path, spec: ExportSpec, quantization: str = "none") -> ModelEntry:
    return ModelEntry(
        file=path.name,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        inputs=spec.inputs,
        outputs=spec.outputs,
        opset=spec.opset,
        quantization=quantization,  # type: ignore[arg-type]
        description=spec.description,
        trained_on=spec.trained_on,
    )


def write_bundle(
    out_dir: Path,
    *,
    models: dict[str, tuple[Path, ExportSpec, str]],
    files: dict[str, Path],
    created: str | None = None,
    **fields: Any,
) -> BundleManifest:
    """Copy files into a fresh directory, write the manifest, then swap it into place.

    ``models`` maps a model name to ``(onnx file, spec, quantization)``; ``files`` maps
    auxiliary names (the tokenizer) to files. The directory is replaced atomically
    (rename of a complete sibling directory), so a crash never leaves half a bundle.
    """
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)
    model_entries: dict[str, ModelEntry] = {}
    for name, (src, spec, quant) in models.items():
        dst = tmp / f"{name}.onnx"
        shutil.copyfile(src, dst)
        model_entries[name] = model_entry(dst, spec, quant)
    file_entries: dict[str, FileEntry] = {}
    for name, src in files.items():
        dst = tmp / src.name
        shutil.copyfile(src, dst)
        file_entries[name] = file_entry(dst)
    manifest = BundleManifest(
        format=BUNDLE_FORMAT,
        format_version=BUNDLE_FORMAT_VERSION,
        created=created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        models=model_entries,
        files=file_entries,
        **fields,
    )
    text = json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
    (tmp / "manifest.json").write_text(text)
    for p in tmp.iterdir():
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())
    old = out_dir.with_name(out_dir.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)
    return manifest
