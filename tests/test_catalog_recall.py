"""HNSW parameters: recall@10 against exact search at the default ef.

How the defaults (``IndexParams``: M=16, ef_construction=200, ef=96) were chosen, with
``python -m benchmarks.catalog_scale --n 100000``: on 100k synthetic embedding-like
vectors (384-d) recall@10 vs ef was 0.950 (16), 0.984 (32), 0.992 (48), 0.998 (64),
0.9998 (96), 1.0 (128). At 1M items recall falls (0.962 at ef 96, 0.988 at 256), so
indexes larger than 150k search with a larger ef (``search_ef``).

Two checks here:

* synthetic clustered vectors shaped like text-tower embeddings (20k x 384, see
  ``_synthetic``): always runs;
* real item vectors: Polyvore item titles encoded by the shipped text tower, indexed,
  and queried with *other* titles (held out: every 10th title of a seeded shuffle is a
  query, the rest are items). Skipped when the shipped bundle or the data is absent.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from fashionrec_sdk._catalog._index import DEFAULT_PARAMS, AnnIndex, IndexParams, search_ef
from fashionrec_sdk._catalog._synthetic import clustered_vectors

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "fashionrec_sdk" / "models" / "default"
DATA = Path(os.environ.get("FASHIONREC_DATA", ROOT.parent / "shared" / "data"))
MIN_RECALL = 0.98


def _recall_at_10(items: np.ndarray, queries: np.ndarray) -> float:
    index = AnnIndex(items.shape[1], DEFAULT_PARAMS, capacity=len(items))
    index.add(np.arange(len(items)), items, threads=2)
    exact = np.argsort(-(queries @ items.T), axis=1)[:, :10]
    hits = []
    for q, truth in zip(queries, exact, strict=True):
        found = index.search(q, 10)
        assert found is not None
        hits.append(len(set(found[0].tolist()) & set(truth.tolist())) / 10)
    return float(np.mean(hits))


@pytest.mark.slow
def test_recall_on_synthetic_embedding_like_vectors() -> None:
    vectors = clustered_vectors(20_500, 384, seed=11)
    recall = _recall_at_10(vectors[:20_000], vectors[20_000:])
    assert recall >= MIN_RECALL, f"recall@10 {recall:.4f} at ef={DEFAULT_PARAMS.ef}"


def _titles() -> list[str]:
    folder = DATA / "polyvore_maryland"
    names: set[str] = set()
    for file in ("valid_no_dup_with_category_3more_name.json", "test_dev_half.json"):
        path = folder / file
        if not path.is_file():
            pytest.skip(f"real titles not found: {path} (set FASHIONREC_DATA)")
        for outfit in json.loads(path.read_text()).values():
            for item in outfit.values():
                if isinstance(item, dict) and item.get("name"):
                    names.add(item["name"])
    titles = sorted(names)
    random.Random(0).shuffle(titles)
    return titles


@pytest.mark.slow
def test_recall_on_real_text_tower_vectors() -> None:
    if not (SHIPPED / "manifest.json").is_file():
        pytest.skip(f"no shipped model bundle at {SHIPPED} (run `make models`)")
    from fashionrec_sdk._bundle import ModelBundle
    from fashionrec_sdk._encoders import TextEncoder

    titles = _titles()[: int(os.environ.get("FASHIONREC_RECALL_TITLES", "4000"))]
    encoder = TextEncoder(ModelBundle.load(SHIPPED, providers="cpu"))
    vectors = encoder.encode(titles)
    queries = vectors[::10]
    items = np.delete(vectors, np.arange(0, len(vectors), 10), axis=0)
    recall = _recall_at_10(items, queries)
    assert recall >= MIN_RECALL, f"recall@10 {recall:.4f} on {len(items)} real items"


def test_search_ef_grows_with_size_within_bounds() -> None:
    floor = DEFAULT_PARAMS.ef
    assert search_ef(0, floor) == search_ef(150_000, floor) == floor
    sizes = [150_000, 300_000, 1_000_000, 10_000_000, 10**9]
    efs = [search_ef(n, floor) for n in sizes]
    assert efs == sorted(efs) and efs[2] == 248 and efs[-1] == 512
    assert search_ef(10**9, 600) == 600  # an explicit ef above the cap is kept


def test_index_ef_follows_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from fashionrec_sdk._catalog import _index

    monkeypatch.setattr(_index, "_EF_BASE_SIZE", 1000)  # the schedule at small sizes
    index = AnnIndex(16, IndexParams(ef=8))
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((4000, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index.add(np.arange(1000), vecs[:1000])
    assert index.ef == index._index.ef == 8
    index.add(np.arange(1000, 4000), vecs[1000:])
    assert index.ef == index._index.ef == 16  # 8 * sqrt(4000 / 1000)
    index.remove(np.arange(3000))
    assert index.ef == index._index.ef == 8
