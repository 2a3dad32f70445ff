"""Catalog at scale: build time, memory, recall@10 and latency on N synthetic items.

    python -m benchmarks.catalog_scale --n 100000 [--dim 384] [--out bench_out/...]

Vectors come from :func:`fashionrec_sdk._catalog._synthetic.clustered_vectors`
(statistics matched to all-MiniLM-L6-v2 embeddings of real product titles) and are
added through the catalog's vector-level internal API (no encoders), so the numbers
are the catalog's own: the global + per-category HNSW indexes, float16 vector storage,
the reader-writer lock and :class:`Hit` construction.

Measured, in one run, on ``--queries`` held-out vectors from the same distribution:

* build time (all indexes), save and open time, bytes per item on disk and in RAM
  (RSS growth while building);
* recall@10 of ``search_vector`` at the default ef against exact search over the same
  stored (float16) vectors, and the recall of exact float16 search against exact
  float32 search (what float16 storage costs);
* single-thread ``search_vector`` latency p50/p99, unfiltered and for filters of
  several selectivities, with how each filtered query was answered (HNSW rounds or
  exact scan), recall against exact filtered search and whether k results came back;
* recall@10 against ef for the global index (``--ef-grid``).

Results are printed and written as JSON (diffable between runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._catalog._index import DEFAULT_PARAMS, IndexParams
from fashionrec_sdk._catalog._persist import BundleRef
from fashionrec_sdk._catalog._search import SearchTrace
from fashionrec_sdk._catalog._synthetic import clustered_vectors, synthetic_products, vector_stats
from fashionrec_sdk._records import Filters

FILTERS: dict[str, Filters] = {
    "in_stock": Filters(in_stock=True),
    "category dress": Filters(categories=("dress",)),
    "brand + max_price": Filters(brands=("acme",), max_price=35.0),
    "brand + gender + max_price": Filters(brands=("acme",), gender="kids", max_price=30.0),
    "sizes + attributes + in_stock (python check)": Filters(
        sizes=("XS",), attributes={"fit": "slim"}, in_stock=True
    ),
    "brand + gender + max_price + size (rare)": Filters(
        brands=("acme",), gender="kids", max_price=12.0, sizes=("XL",)
    ),
}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def exact_topk(
    queries: np.ndarray,
    k: int,
    n: int,
    rows: Callable[[int, int], np.ndarray],
    chunk: int = 100_000,
) -> np.ndarray:
    """Exact top-k row indices among ``n`` rows for each query; ``rows(start, stop)``
    gives rows ``start..stop`` (chunked, so the whole matrix never has to exist)."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, n, chunk):
        s = queries @ rows(start, min(n, start + chunk)).T
        idx = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, idx, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, idx + start], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :k]
        best_s = np.take_along_axis(cand_s, order, axis=1)
        best_i = np.take_along_axis(cand_i, order, axis=1)
    return best_i


def _exact_topk(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return exact_topk(queries, k, len(base), lambda a, b: base[a:b])


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    """Mean share of each row of ``truth`` found in the matching list of ``found``."""
    k = truth.shape[1]
    return float(
        np.mean([len(set(f) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)])
    )


def _pct(times: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1e3
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    n, dim, k = args.n, args.dim, 10
    params = IndexParams(
        m=args.m or DEFAULT_PARAMS.m,
        ef_construction=args.ef_construction or DEFAULT_PARAMS.ef_construction,
        ef=args.ef or DEFAULT_PARAMS.ef,
    )
    out: dict[str, Any] = {
        "n": n,
        "dim": dim,
        "k": k,
        "params": vars(params),
        "queries": args.queries,
    }
    t = time.perf_counter()
    vectors = clustered_vectors(n + args.queries, dim, seed=args.seed)
    base, queries = vectors[:n], vectors[n:]
    products = synthetic_products(n, seed=args.seed)
    out["generate_s"] = round(time.perf_counter() - t, 2)
    if args.stats:
        out["vector_stats"] = vector_stats(base)
    ref = BundleRef(sha256="0" * 64, name="synthetic", version="0", embedding_dim=dim)

    rss0 = _rss_bytes()
    t = time.perf_counter()
    catalog = Catalog._from_vectors(products, base, bundle_ref=ref, params=params)
    out["build_s"] = round(time.perf_counter() - t, 2)
    out["ram_bytes_per_item"] = round((_rss_bytes() - rss0) / n)
    print(f"built {n} items in {out['build_s']} s", file=sys.stderr)
    del vectors

    store = catalog._store
    stored = store.fused(np.arange(n))  # what the index holds (from float16 rows)
    truth = _exact_topk(stored, queries, k)
    truth32 = _exact_topk(base, queries, k)
    out["float16_exact_recall_vs_float32"] = round(recall([list(r) for r in truth], truth32), 4)

    found: list[list[int]] = []
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        hits = catalog.search_vector(q, k)
        times.append(time.perf_counter() - t)
        found.append([store.slot_of[h.product.id] for h in hits])
    out["recall_at_10"] = round(recall(found, truth), 4)
    out["effective_ef"] = store.index_all.ef
    out["query"] = _pct(times)
    out["qps_single_thread"] = round(len(times) / sum(times), 1)
    print(f"recall@10 {out['recall_at_10']} p50 {out['query']['p50_ms']} ms", file=sys.stderr)

    filtered: dict[str, Any] = {}
    nq = min(args.queries, 300)
    for name, flt in FILTERS.items():
        mask = np.array([flt.accepts(store.entries[s].product) for s in range(n)])  # type: ignore[union-attr]
        passing = np.flatnonzero(mask)
        sub_truth = passing[_exact_topk(stored[passing], queries[:nq], min(k, len(passing)))]
        paths: dict[str, int] = {}
        rounds: list[int] = []
        times = []
        got: list[list[int]] = []
        short = 0
        for q in queries[:nq]:
            trace = SearchTrace()
            t = time.perf_counter()
            hits = catalog.search_vector(q, k, filters=flt, _trace=trace)
            times.append(time.perf_counter() - t)
            paths[trace.path] = paths.get(trace.path, 0) + 1
            rounds.append(trace.rounds)
            got.append([store.slot_of[h.product.id] for h in hits])
            short += len(hits) < min(k, len(passing))
            if not all(flt.accepts(h.product) for h in hits):
                raise SystemExit(f"filter {name!r} returned an item that fails it")
        filtered[name] = {
            "passing_share": round(len(passing) / n, 5),
            "recall_at_10": round(recall(got, sub_truth), 4),
            "short_results": short,
            "paths": paths,
            "mean_rounds": round(float(np.mean(rounds)), 2),
            **_pct(times),
        }
        print(f"filter {name}: {filtered[name]}", file=sys.stderr)
    out["filtered"] = filtered

    if args.ef_grid:
        grid = {}
        raw = store.index_all._index
        for ef in [int(x) for x in args.ef_grid.split(",")]:
            raw.set_ef(ef)
            labels, _ = raw.knn_query(queries, k=k, num_threads=1)
            grid[ef] = round(recall([list(r) for r in labels], truth), 4)
        raw.set_ef(store.index_all.ef)
        out["recall_vs_ef"] = grid

    if not args.no_save:
        directory = Path(tempfile.mkdtemp(prefix="frcat-", dir=args.tmp))
        try:
            t = time.perf_counter()
            catalog.save(directory / "cat")
            out["save_s"] = round(time.perf_counter() - t, 2)
            files = list((directory / "cat").iterdir())
            disk = sum(f.stat().st_size for f in files)
            out["disk_bytes_per_item"] = round(disk / n)
            out["disk_files"] = {f.name: f.stat().st_size for f in sorted(files)}
            del catalog, store
            t = time.perf_counter()
            reopened = Catalog._open_vectors(directory / "cat", ref)
            out["open_s"] = round(time.perf_counter() - t, 2)
            hits = reopened.search_vector(queries[0], k)
            out["reopened_ok"] = [reopened._store.slot_of[h.product.id] for h in hits] == found[0]
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--m", type=int, default=None)
    parser.add_argument("--ef-construction", type=int, default=None)
    parser.add_argument("--ef", type=int, default=None)
    parser.add_argument("--ef-grid", default="16,32,48,64,96,128")
    parser.add_argument("--stats", action="store_true", help="also print vector statistics")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--tmp", default=None, help="directory for the saved catalog")
    parser.add_argument(
        "--out", default=None, help="JSON output (default bench_out/catalog_scale_N.json)"
    )
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    out = Path(args.out or f"bench_out/catalog_scale_{args.n}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
