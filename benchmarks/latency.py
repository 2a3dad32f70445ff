"""Latency and throughput of every public call, side by side, in one run.

    python -m benchmarks.latency [--quick] [--sizes 10000,100000,1000000] [--out bench_out]

Measured on the default bundle (or ``--bundle``):

* p50/p95/p99 latency of ``search`` (text, image), ``similar``, ``complete_outfit``,
  ``for_user``, ``alternatives``, ``physique_fit`` and ``session.ask`` at each catalog
  size, with 1 thread (``FASHIONREC_NUM_THREADS=1``, hnswlib single-threaded) and with
  all cores. Size sweeps use synthetic item vectors with the statistics of real
  all-MiniLM-L6-v2 title embeddings (``fashionrec_sdk._catalog._synthetic``) added
  through the catalog's vector-level API; queries use the real models.
* catalog ingest throughput (items/s), text only and with images (real Fashion-MNIST
  product photos as PNG bytes when the Debian package is installed);
* each ONNX model against the same weights in PyTorch eager (same inputs, same run),
  and the text tower int8 vs fp32 (ratio and cosine to fp32);
* hnswlib against exact numpy search and faiss (HNSW), recall@10 and QPS;
* peak RSS and bytes per catalog item.

Targets (2-core machine, one thread) are printed as pass/miss; they are not test
assertions. Output: JSON (machine, versions, parameters, every figure), a Markdown table
and PNG plots under ``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._catalog._persist import BundleRef
from fashionrec_sdk._catalog._synthetic import clustered_vectors, synthetic_products

from .catalog_scale import exact_topk
from .catalog_scale import recall as recall_at

TARGETS = {
    "complete_outfit p99 <= 10 ms @100k, 1 thread": ("complete_outfit", 100_000, "p99", 10.0),
    "text search p50 <= 15 ms, 1 thread": ("search_text", None, "p50", 15.0),
}


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "mean": float(a.mean()),
        "n": len(samples),
    }


def timed(
    fn: Callable[[int], object], n: int, warmup: int = 3
) -> tuple[dict[str, float], list[float]]:
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t)
    return percentiles(samples), samples


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _png_images(n: int) -> list[bytes]:
    try:
        from PIL import Image

        from export.stages.fmnist import load_split
    except ImportError:
        return []
    try:
        test = load_split("test")
    except fr.FashionRecError:
        return []
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(255 - test.images[i]).resize((112, 112)).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def build_catalog(
    bundle: fr.ModelBundle, n: int, seed: int = 0, queries: int = 0
) -> tuple[Catalog, float, np.ndarray]:
    """A synthetic catalog of ``n`` items and ``queries`` held-out vectors drawn with it."""
    products = synthetic_products(n, seed=seed)
    allv = clustered_vectors(n + queries, bundle.embedding_dim, seed=seed)
    vecs, held_out = allv[:n], allv[n:]
    ref = BundleRef(
        sha256=bundle.sha256,
        name=bundle.manifest.name,
        version=bundle.manifest.version,
        embedding_dim=bundle.embedding_dim,
    )
    t = time.perf_counter()
    catalog = Catalog._from_vectors(products, vecs, bundle_ref=ref, bundle=bundle)
    return catalog, time.perf_counter() - t, held_out


def catalog_recall(
    catalog: Catalog, queries: np.ndarray, efs: tuple[int, ...] = (96, 128, 256, 512)
) -> dict[str, Any]:
    """recall@10 of ``search_vector`` (default ef) and of the global index at other ``ef``
    values, against exact search over the stored vectors, with single-query latency."""
    store = catalog._store
    truth = exact_topk(queries, 10, len(catalog), lambda a, b: store.fused(np.arange(a, b)))

    def recall(found: list[list[int]]) -> float:
        return recall_at(found, truth)

    got = [[store.slot_of[h.product.id] for h in catalog.search_vector(q, 10)] for q in queries]
    out: dict[str, Any] = {"queries": len(queries), "search_vector_default_ef": recall(got)}
    raw = store.index_all._index
    default_ef = raw.ef
    curve = []
    for ef in efs:
        raw.set_ef(ef)
        t = time.perf_counter()
        labels, _ = raw.knn_query(queries, k=10, num_threads=1)
        ms = (time.perf_counter() - t) * 1e3 / len(queries)
        curve.append({"ef": ef, "recall@10": recall([list(r) for r in labels]), "ms_per_query": ms})
    raw.set_ef(default_ef)
    out["global_index_curve"] = curve
    return out


def bench_calls(
    bundle: fr.ModelBundle, catalog: Catalog, reps: int, images: list[bytes]
) -> dict[str, dict[str, float]]:
    rec = fr.Recommender(catalog)
    ids = catalog.ids()
    rng = np.random.default_rng(1)
    pick = [ids[int(i)] for i in rng.integers(len(ids), size=reps + 10)]
    by_cat: dict[str, list[str]] = {}
    for pid in pick:
        p = catalog.get(pid)
        if p is not None:
            by_cat.setdefault(p.coarse_category, []).append(pid)
    tops, bottoms, shoes = (
        by_cat.get("top", pick),
        by_cat.get("bottom", pick),
        by_cat.get("shoes", pick),
    )
    queries = [
        "red summer dress",
        "black leather ankle boots",
        "navy wool blazer for work",
        "floral midi skirt",
        "white sneakers",
        "gold hoop earrings",
        "oversized grey hoodie",
        "silk blouse",
    ]
    body = fr.BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98)
    filters = fr.Filters(in_stock=True, max_price=150)
    out: dict[str, dict[str, float]] = {}
    calls: dict[str, Callable[[int], object]] = {
        "search_text": lambda i: rec.search(queries[i % len(queries)], k=10),
        "search_text_filtered": lambda i: rec.search(
            queries[i % len(queries)], k=10, filters=filters
        ),
        "similar": lambda i: rec.similar(pick[i], k=10),
        "complete_outfit": lambda i: rec.complete_outfit(
            [tops[i % len(tops)], bottoms[i % len(bottoms)]], k=10
        ),
        "complete_outfit_body": lambda i: rec.complete_outfit(
            [tops[i % len(tops)]], k=10, body=body
        ),
        "for_user": lambda i: rec.for_user(
            fr.UserProfile(history=pick[i : i + 5], body=body), k=10
        ),
        "for_user_query": lambda i: rec.for_user(
            fr.UserProfile(history=pick[i : i + 5]), query=queries[i % 8], k=10
        ),
        "alternatives": lambda i: rec.alternatives(
            [tops[i % len(tops)], bottoms[i % len(bottoms)], shoes[i % len(shoes)]],
            replace=tops[i % len(tops)],
            feedback="less formal, in blue",
            k=10,
        ),
        "physique_fit": lambda i: rec.physique_fit(
            [tops[i % len(tops)], bottoms[i % len(bottoms)]], body
        ),
        "session_ask": lambda i: rec.session().ask(
            f"an outfit for a job interview under ${100 + i}"
        ),
    }
    if images:
        calls["search_image"] = lambda i: rec.search(image=images[i % len(images)], k=10)
    for name, fn in calls.items():
        out[name], _ = timed(fn, reps)
    return out


def bench_ingest(bundle: fr.ModelBundle, n: int, images: list[bytes]) -> dict[str, float]:
    products = synthetic_products(n, seed=5, prefix="ing")
    texts = [p.model_copy(update={"title": f"{p.title} cotton regular fit"}) for p in products]
    t = time.perf_counter()
    Catalog.build(texts, bundle=bundle, show_progress=False)
    text_rate = n / (time.perf_counter() - t)
    out = {"text_only_items_per_s": text_rate}
    if images:
        with_img = [
            p.model_copy(update={"image": images[i % len(images)]}) for i, p in enumerate(texts)
        ]
        t = time.perf_counter()
        Catalog.build(with_img, bundle=bundle, show_progress=False)
        out["with_images_items_per_s"] = n / (time.perf_counter() - t)
    return out


def bench_ann(n: int, queries: int, dim: int = 384) -> dict[str, Any]:
    """hnswlib (the catalog's parameters) vs exact numpy vs faiss HNSW, same vectors."""
    import hnswlib

    from fashionrec_sdk._catalog._index import DEFAULT_PARAMS

    # One draw, split: queries come from the same distribution as the indexed items.
    allv = clustered_vectors(n + queries, dim, seed=11)
    base, q = allv[:n], allv[n:]
    t = time.perf_counter()
    exact = np.argsort(-(q @ base.T), axis=1)[:, :10]
    exact_qps = queries / (time.perf_counter() - t)
    out: dict[str, Any] = {
        "n": n,
        "queries": queries,
        "exact_numpy": {"recall@10": 1.0, "qps_batch": exact_qps},
    }
    one = []
    for row in q[: min(queries, 200)]:
        s = time.perf_counter()
        np.argpartition(-(base @ row), 10)[:10]
        one.append(time.perf_counter() - s)
    out["exact_numpy"]["qps_1thread_single"] = 1.0 / float(np.mean(one))
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(
        max_elements=n, M=DEFAULT_PARAMS.m, ef_construction=DEFAULT_PARAMS.ef_construction
    )
    index.set_num_threads(os.cpu_count() or 1)
    index.add_items(base, np.arange(n))
    index.set_num_threads(1)
    curve = []
    for ef in (16, 32, 64, DEFAULT_PARAMS.ef, 128, 256):
        index.set_ef(max(ef, 10))
        t = time.perf_counter()
        labels, _ = index.knn_query(q, k=10)
        qps = queries / (time.perf_counter() - t)
        recall = float(
            np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, exact, strict=True)])
        )
        curve.append({"ef": ef, "recall@10": recall, "qps_1thread": qps})
    out["hnswlib"] = {
        "M": DEFAULT_PARAMS.m,
        "ef_construction": DEFAULT_PARAMS.ef_construction,
        "default_ef": DEFAULT_PARAMS.ef,
        "curve": curve,
    }
    try:
        import faiss
    except ImportError:
        out["faiss"] = "not installed (make bench installs faiss-cpu in the benchmark run)"
        return out
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    fidx = faiss.IndexHNSWFlat(dim, DEFAULT_PARAMS.m, faiss.METRIC_INNER_PRODUCT)
    fidx.hnsw.efConstruction = DEFAULT_PARAMS.ef_construction
    fidx.add(base)
    faiss.omp_set_num_threads(1)
    fcurve = []
    for ef in (16, 32, 64, 128, 256):
        fidx.hnsw.efSearch = max(ef, 10)
        t = time.perf_counter()
        _, labels = fidx.search(q, 10)
        qps = queries / (time.perf_counter() - t)
        recall = float(
            np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, exact, strict=True)])
        )
        fcurve.append({"ef": ef, "recall@10": recall, "qps_1thread": qps})
    out["faiss_hnsw"] = {"M": DEFAULT_PARAMS.m, "curve": fcurve}
    return out


def bench_models(bundle: fr.ModelBundle, reps: int) -> dict[str, Any]:
    """ONNX Runtime (1 thread) vs the same weights in PyTorch eager (1 thread)."""
    import torch

    from benchmarks._torch_twins import torch_twins

    torch.set_num_threads(1)
    ort_bundle = fr.ModelBundle.load(bundle.path, providers="cpu", threads=1)
    out: dict[str, Any] = {}
    for name, (module, onnx_session, feeds) in torch_twins(ort_bundle).items():
        out[name] = _compare(module, onnx_session, feeds, reps)
    return out


def _compare(
    module: Any, session: Any, feeds: dict[str, np.ndarray], reps: int
) -> dict[str, float]:
    import torch

    inputs = tuple(torch.from_numpy(v) for v in feeds.values())
    with torch.no_grad():
        t_torch, _ = timed(lambda _i: module(*inputs), reps)
    t_onnx, _ = timed(lambda _i: session.run(None, feeds), reps)
    return {
        "torch_ms_p50": t_torch["p50"],
        "onnx_ms_p50": t_onnx["p50"],
        "speedup": t_torch["p50"] / max(t_onnx["p50"], 1e-9),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes and few repetitions (CI, < 3 min)"
    )
    ap.add_argument("--sizes", default=None, help="catalog sizes, comma-separated")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--bundle", default=None)
    ap.add_argument("--out", default="bench_out")
    ap.add_argument(
        "--threads",
        default="1,all",
        help="thread settings to run: '1', 'all' or '1,all' (a 1M catalog is built once per setting)",
    )
    ap.add_argument(
        "--skip-extras",
        action="store_true",
        help="only the per-size call latencies and recall (no ingest, model and ANN comparisons)",
    )
    args = ap.parse_args(argv)
    sizes = [
        int(s)
        for s in (args.sizes or ("2000" if args.quick else "10000,100000,1000000")).split(",")
    ]
    reps = args.reps or (20 if args.quick else 200)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = fr.ModelBundle.load(args.bundle)
    images = _png_images(16)
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
        },
        "versions": _versions(),
        "parameters": {
            "sizes": sizes,
            "reps": reps,
            "quick": args.quick,
            "bundle": f"{bundle.manifest.name} {bundle.manifest.version}",
        },
        "calls": {},
    }
    settings = [1 if t == "1" else os.cpu_count() or 1 for t in args.threads.split(",")]
    for threads in settings:
        os.environ["FASHIONREC_NUM_THREADS"] = str(threads)
        b = fr.ModelBundle.load(args.bundle, providers="cpu", threads=threads)
        for n in sizes:
            rss0 = rss_mb()
            catalog, build_s, held_out = build_catalog(b, n, queries=300)
            key = f"{n}@{threads}t"
            print(
                f"catalog {n:,} items built in {build_s:.1f}s; benchmarking calls with {threads} thread(s)...",
                flush=True,
            )
            report["calls"][key] = bench_calls(
                b, catalog, reps if n < 1_000_000 else max(20, reps // 4), images
            )
            report["calls"][key]["_catalog"] = {
                "build_s": build_s,
                "rss_growth_mb": rss_mb() - rss0,
                "bytes_per_item_ram": (rss_mb() - rss0) * 1e6 / n,
                "recall": catalog_recall(catalog, held_out if not args.quick else held_out[:50]),
            }
            del catalog
        if args.quick:
            break
    os.environ["FASHIONREC_NUM_THREADS"] = "1"
    report["targets"] = _targets(report)
    if args.skip_extras:
        (out_dir / "latency.json").write_text(json.dumps(report, indent=2))
        print(json.dumps({k: v.get("_catalog") for k, v in report["calls"].items()}, indent=2))
        return 0
    one = fr.ModelBundle.load(args.bundle, providers="cpu", threads=1)
    report["ingest"] = bench_ingest(one, 200 if args.quick else 2000, images)
    report["models"] = bench_models(one, 10 if args.quick else 50)
    report["ann"] = bench_ann(20_000 if args.quick else 100_000, 200 if args.quick else 1000)
    report["peak_rss_mb"] = rss_mb()
    report["targets"] = _targets(report)
    (out_dir / "latency.json").write_text(json.dumps(report, indent=2))
    md = _markdown(report)
    (out_dir / "latency.md").write_text(md)
    _plots(report, out_dir)
    print(md)
    return 0


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("fashionrec-sdk", "numpy", "onnxruntime", "hnswlib", "torch", "faiss-cpu"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def _targets(report: dict[str, Any]) -> dict[str, str]:
    res: dict[str, str] = {}
    for label, (call, n, stat, limit) in TARGETS.items():
        keys = [k for k in report["calls"] if k.endswith("@1t") and (n is None or k == f"{n}@1t")]
        if not keys:
            res[label] = "not measured (size not in this run)"
            continue
        value = report["calls"][keys[0]][call][stat]
        res[label] = f"{'PASS' if value <= limit else 'MISS'} ({value:.2f} ms)"
    speedups = {m: v["speedup"] for m, v in report.get("models", {}).items()}
    for m, s in speedups.items():
        res[f"{m} >= 2x faster in onnxruntime"] = f"{'PASS' if s >= 2 else 'MISS'} ({s:.2f}x)"
    ann = report.get("ann", {}).get("hnswlib")
    if ann:
        default = next(c for c in ann["curve"] if c["ef"] >= ann["default_ef"])
        res["recall@10 >= 0.98 at default ef"] = (
            f"{'PASS' if default['recall@10'] >= 0.98 else 'MISS'} ({default['recall@10']:.3f} at ef {default['ef']})"
        )
    return res


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Latency (ms)",
        "",
        "| call | " + " | ".join(report["calls"]) + " |",
        "|---|" + "---|" * len(report["calls"]),
    ]
    names = [n for n in next(iter(report["calls"].values())) if not n.startswith("_")]
    for name in names:
        cells = []
        for key in report["calls"]:
            s = report["calls"][key].get(name)
            cells.append(f"{s['p50']:.2f} / {s['p95']:.2f} / {s['p99']:.2f}" if s else "-")
        lines.append(f"| {name} (p50/p95/p99) | " + " | ".join(cells) + " |")
    lines += ["", "| catalog | build s | RAM bytes/item |", "|---|---|---|"]
    for key, v in report["calls"].items():
        c = v["_catalog"]
        lines.append(f"| {key} | {c['build_s']:.1f} | {c['bytes_per_item_ram']:.0f} |")
    lines += ["", "## Ingest", ""] + [f"* {k}: {v:.1f}" for k, v in report["ingest"].items()]
    lines += [
        "",
        "## ONNX Runtime vs PyTorch eager (1 thread, p50 ms)",
        "",
        "| model | torch | onnx | speed-up |",
        "|---|---|---|---|",
    ]
    for m, v in report["models"].items():
        lines.append(
            f"| {m} | {v['torch_ms_p50']:.2f} | {v['onnx_ms_p50']:.2f} | {v['speedup']:.2f}x |"
        )
    ann = report["ann"]
    lines += [
        "",
        f"## ANN ({ann['n']:,} vectors, {ann['queries']} queries, 1 thread)",
        "",
        "| method | ef | recall@10 | QPS |",
        "|---|---|---|---|",
        f"| exact numpy (one query at a time) | - | 1.000 | {ann['exact_numpy']['qps_1thread_single']:.0f} |",
    ]
    for lib in ("hnswlib", "faiss_hnsw"):
        if isinstance(ann.get(lib), dict):
            for c in ann[lib]["curve"]:
                lines.append(
                    f"| {lib} | {c['ef']} | {c['recall@10']:.3f} | {c['qps_1thread']:.0f} |"
                )
    lines += ["", f"Peak RSS: {report['peak_rss_mb']:.0f} MB", "", "## Targets", ""]
    lines += [f"* {k}: {v}" for k, v in report["targets"].items()]
    return "\n".join(lines) + "\n"


def _plots(report: dict[str, Any], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    keys = list(report["calls"])
    names = [n for n in report["calls"][keys[0]] if not n.startswith("_")]
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        p50 = [report["calls"][key][n]["p50"] for n in names]
        p99 = [report["calls"][key][n]["p99"] for n in names]
        xs = np.arange(len(names)) + j * width
        ax.bar(xs, p50, width, label=f"{key} p50")
        ax.scatter(xs, p99, marker="_", s=200, color="black")
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=35, ha="right")
    ax.set_ylabel("ms (bar p50, tick p99)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    ann = report["ann"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for lib in ("hnswlib", "faiss_hnsw"):
        if isinstance(ann.get(lib), dict):
            c = ann[lib]["curve"]
            ax.plot(
                [x["recall@10"] for x in c], [x["qps_1thread"] for x in c], marker="o", label=lib
            )
    ax.axhline(ann["exact_numpy"]["qps_1thread_single"], ls="--", color="grey", label="exact numpy")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries/s (1 thread)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "recall_qps.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
