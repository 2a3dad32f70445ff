"""Helpers shared by the catalog tests (fixture bundle, synthetic vectors, tampering)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._catalog._persist import BundleRef, _checksum
from fashionrec_sdk._catalog._synthetic import synthetic_products

SYNTH_REF = BundleRef(sha256="0" * 64, name="synthetic", version="0", embedding_dim=32)


def png_bytes(
    color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 48)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def product_dicts(n: int, prefix: str = "p") -> list[dict[str, Any]]:
    """``n`` valid product dicts over several categories."""
    cats = ["Women > Dresses", "Tops", "Jeans", "Boots", "Bags", "Coats", "Earrings", "Scarf"]
    colors = ["red", "blue", "black", "white", "green", "pink"]
    return [
        {
            "id": f"{prefix}{i}",
            "title": f"{colors[i % 6]} {cats[i % 8].split('>')[-1].strip().lower()} {i}",
            "category": cats[i % 8],
            "price": float(10 + (i * 7) % 190),
            "brand": ["acme", "zeta", "nova"][i % 3],
            "sizes": [["S", "M"], ["M", "L"], ["XS"]][i % 3],
            "in_stock": i % 4 != 0,
            "gender": ["women", "men", "unisex", None][i % 4],
            "attributes": {"fabric": ["cotton", "silk"][i % 2]},
        }
        for i in range(n)
    ]


def synthetic_catalog(n: int, dim: int = 32, seed: int = 0) -> tuple[Catalog, np.ndarray]:
    """A catalog of ``n`` synthetic products with random unit vectors (no encoders)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ref = SYNTH_REF.model_copy(update={"embedding_dim": dim})
    return Catalog._from_vectors(synthetic_products(n, seed=seed), vectors, bundle_ref=ref), vectors


def manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return data


def rewrite_manifest(directory: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as the manifest with a valid checksum (a *crafted* manifest)."""
    data = dict(data)
    data["checksum"] = _checksum(data)
    (directory / "manifest.json").write_text(json.dumps(data, indent=2))


def rehash(directory: Path, name: str) -> None:
    """Make the manifest agree with the current bytes of file ``name`` (crafting)."""
    data = manifest(directory)
    record = data["files"][name]
    raw = (directory / record["file"]).read_bytes()
    record["sha256"] = hashlib.sha256(raw).hexdigest()
    record["bytes"] = len(raw)
    rewrite_manifest(directory, data)


def state(catalog: Catalog) -> dict[str, Any]:
    """Comparable snapshot: products and text vectors by id."""
    ids = sorted(catalog.ids())
    vecs = catalog.text_vectors(ids) if ids else np.zeros((0, catalog.dim), np.float32)
    return {
        "products": {p.id: p.model_dump(mode="json") for p in catalog},
        "vectors": {pid: vecs[i].round(3).tolist() for i, pid in enumerate(ids)},
    }
