"""Query throughput while another thread writes: reader-writer lock vs one mutex.

    python -m benchmarks.catalog_concurrency [--n 10000] [--dim 384] [--readers 4]

The catalog guards its indexes with a phase-fair reader-writer lock
(``fashionrec_sdk/_catalog/_lock.py``). This measures, on N synthetic items
(``_synthetic.clustered_vectors``) added through the vector-level API:

* ``1 reader``: single-thread queries per second (the baseline);
* ``R readers``: total queries per second of R threads, no writer;
* ``R readers + vector writer``: the same while one thread keeps replacing 64 items
  with new vectors and deleting / re-adding 16 per step (items written per second
  reported); each replaced vector costs hnswlib a graph update;
* ``R readers + price writer``: the writer changes 64 prices per step, vectors
  unchanged (the common catalog update: the indexes are not touched);

each with the reader-writer lock and, for comparison, with the lock swapped for one
plain mutex (what a catalog without shared reads would do). Reader latency p50/p99
is reported per phase. Every reader checks that each hit's score equals its vector's
cosine with the query (a torn read would break it).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._catalog._lock import RWLock
from fashionrec_sdk._catalog._persist import BundleRef
from fashionrec_sdk._catalog._synthetic import clustered_vectors, synthetic_products
from fashionrec_sdk._records import Filters


class MutexLock:
    """The comparison: readers and writers all take one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._lock:
            yield

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._lock:
            yield


def _phase(
    catalog: Catalog,
    queries: np.ndarray,
    fresh: np.ndarray,
    *,
    readers: int,
    writer: str | None,
    seconds: float,
) -> dict[str, Any]:
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(readers)]
    written = [0]
    errors: list[BaseException] = []
    ids = catalog.ids()
    products = {p.id: p for p in catalog}

    def read(slot: int) -> None:
        rng = random.Random(slot)
        mine = latencies[slot]
        flt = Filters(in_stock=True)
        try:
            while not stop.is_set():
                q = queries[rng.randrange(len(queries))]
                t = time.perf_counter()
                hits = catalog.search_vector(q, 10, filters=flt if rng.random() < 0.3 else None)
                mine.append(time.perf_counter() - t)
                for h in hits[:3]:
                    if abs(h.score - float(h.vector @ q)) > 1e-3:
                        raise AssertionError("torn read: score and vector disagree")
        except BaseException as err:
            errors.append(err)
            stop.set()

    def write() -> None:
        rng = random.Random(99)
        step = 0
        try:
            while not stop.is_set():
                batch = rng.sample(ids, 64)
                if writer == "prices":  # same vectors: metadata-only updates
                    changed = [
                        products[i].model_copy(update={"price": float(step % 97)}) for i in batch
                    ]
                    catalog._upsert_vectors(changed, catalog.text_vectors(batch))
                    written[0] += 64
                else:  # new vectors for 64 items, 16 deleted and re-added
                    rows = fresh[rng.sample(range(len(fresh)), 64)]
                    catalog._upsert_vectors([products[i] for i in batch], rows)
                    gone = rng.sample(ids, 16)
                    catalog.delete(gone)
                    catalog._upsert_vectors([products[i] for i in gone], fresh[:16])
                    written[0] += 64 + 16
                step += 1
        except BaseException as err:
            errors.append(err)
            stop.set()

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    if writer:
        threads.append(threading.Thread(target=write))
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    all_lat = np.array([x for lat in latencies for x in lat]) * 1e3
    return {
        "queries_per_s": round(len(all_lat) / elapsed, 1),
        "p50_ms": round(float(np.percentile(all_lat, 50)), 3),
        "p99_ms": round(float(np.percentile(all_lat, 99)), 3),
        "items_written_per_s": round(written[0] / elapsed, 1) if writer else None,
        "reader_latency_samples": len(all_lat),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", default="bench_out/catalog_concurrency.json")
    args = parser.parse_args(argv)

    vectors = clustered_vectors(args.n + 1500, args.dim, seed=0)
    base, queries, fresh = (
        vectors[: args.n],
        vectors[args.n : args.n + 500],
        vectors[args.n + 500 :],
    )
    ref = BundleRef(sha256="0" * 64, name="synthetic", version="0", embedding_dim=args.dim)
    t = time.perf_counter()
    catalog = Catalog._from_vectors(synthetic_products(args.n), base, bundle_ref=ref)
    result: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "readers": args.readers,
        "seconds_per_phase": args.seconds,
        "build_s": round(time.perf_counter() - t, 1),
    }
    for name, lock in (("rwlock", RWLock()), ("mutex", MutexLock())):
        catalog._lock = lock  # type: ignore[assignment]
        phases = {}
        for label, readers, writer in (
            ("1 reader", 1, None),
            (f"{args.readers} readers", args.readers, None),
            (f"{args.readers} readers + vector writer", args.readers, "vectors"),
            (f"{args.readers} readers + price writer", args.readers, "prices"),
        ):
            phases[label] = _phase(
                catalog, queries, fresh, readers=readers, writer=writer, seconds=args.seconds
            )
        result[name] = phases
        print(name, json.dumps(phases), file=sys.stderr)
    catalog._lock = RWLock()
    text = json.dumps(result, indent=2)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
