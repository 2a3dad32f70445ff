"""Many threads query while another upserts, deletes and saves: no crash, no torn reads
(a hit's product and vector always belong to the same version), nothing lost or
duplicated."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._catalog._lock import RWLock

from ._catalog_util import SYNTH_REF

DIM = 16
REF = SYNTH_REF.model_copy(update={"embedding_dim": DIM})
N = 1500


def _vector(item: int, version: int) -> np.ndarray:
    v = np.random.default_rng(item * 1000 + version).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _product(item: int, version: int) -> fr.Product:
    return fr.Product(
        id=f"i{item}",
        title=f"item {item} v{version}",
        category=fr.COARSE_CATEGORIES[(item + version) % 8],
        price=float(version),
        in_stock=(item + version) % 3 != 0,
    )


def _put(catalog: Catalog, versions: dict[int, int], items: list[int]) -> None:
    catalog._upsert_vectors(
        [_product(i, versions[i]) for i in items],
        np.stack([_vector(i, versions[i]) for i in items]),
    )


def _check_hit(hit: object, query: np.ndarray) -> None:
    from fashionrec_sdk._catalog import Hit

    assert isinstance(hit, Hit)
    _, item, version = hit.product.title.split()
    expected = _vector(int(item), int(version[1:]))
    assert np.abs(hit.vector - expected).max() < 2e-3, "vector of another version"
    assert hit.product.coarse_category == fr.COARSE_CATEGORIES[(int(item) + int(version[1:])) % 8]
    assert abs(hit.score - float(hit.vector @ query)) < 1e-4


@pytest.mark.slow
def test_readers_and_a_writer(tmp_path: Path) -> None:
    versions = dict.fromkeys(range(N), 0)
    catalog = Catalog._from_vectors(
        [_product(i, 0) for i in range(N)],
        np.stack([_vector(i, 0) for i in range(N)]),
        bundle_ref=REF,
    )
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                query = _vector(rng.randrange(10**6), 1)
                k = rng.choice([1, 10, 50])
                category = rng.choice([None, None, "dress"])
                flt = rng.choice([None, fr.Filters(in_stock=True), fr.Filters(max_price=3.0)])
                hits = catalog.search_vector(query, k, filters=flt, category=category)
                ids = [h.product.id for h in hits]
                assert len(ids) == len(set(ids)), "duplicate item in one result"
                if flt is None:
                    assert len(hits) == k  # the catalog never drops below k live items
                for hit in hits:
                    _check_hit(hit, query)
                    assert flt is None or flt.accepts(hit.product)
                    assert category is None or hit.product.coarse_category == category
                probe = f"i{rng.randrange(N)}"
                product = catalog.get(probe)
                if product is not None:
                    assert product.id == probe
                reads[0] += 1
        except BaseException as err:  # reported by the main thread
            errors.append(err)
            stop.set()

    def writer() -> None:
        rng = random.Random(99)
        deleted: list[int] = []
        try:
            for step in range(30):
                batch = rng.sample(sorted(set(versions) - set(deleted)), 40)
                for i in batch:
                    versions[i] += 1
                _put(catalog, versions, batch)
                gone = rng.sample(sorted(set(versions) - set(deleted)), 15)
                catalog.delete([f"i{i}" for i in gone])
                back, deleted = deleted, gone
                for i in back:
                    versions[i] += 1
                if back:
                    _put(catalog, versions, back)
                if step % 10 == 9:
                    catalog.save(tmp_path / "cat")
            if deleted:
                for i in deleted:
                    versions[i] += 1
                _put(catalog, versions, deleted)
        except BaseException as err:
            errors.append(err)
        finally:
            stop.set()

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert reads[0] > 50

    # nothing lost, nothing duplicated, every item at its last version
    assert len(catalog) == N and catalog._store.slots == N
    assert {p.id: p.title for p in catalog} == {
        f"i{i}": f"item {i} v{v}" for i, v in versions.items()
    }
    everything = catalog.search_vector(_vector(0, 0), N + 10)
    assert sorted(h.product.id for h in everything) == sorted(f"i{i}" for i in range(N))
    assert catalog._store.index_all.live == N
    assert sum(catalog.categories().values()) == N
    catalog.save(tmp_path / "cat")
    reopened = Catalog._open_vectors(tmp_path / "cat", REF)
    assert {p.id: p.title for p in reopened} == {p.id: p.title for p in catalog}


def test_rwlock_shares_reads_excludes_writes_and_is_phase_fair() -> None:
    lock = RWLock()
    inside = threading.Barrier(2, timeout=5)

    def two_readers_at_once() -> None:
        with lock.read():
            inside.wait()  # both readers are in the lock together

    readers = [threading.Thread(target=two_readers_at_once) for _ in range(2)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(5)
    assert not any(t.is_alive() for t in readers)

    log: list[str] = []
    stop = threading.Event()

    def busy_writer() -> None:  # re-acquires immediately, like a chunked upsert
        while not stop.is_set():
            with lock.write():
                log.append("w")
                stop.wait(0.002)

    def reader() -> None:
        for _ in range(20):
            with lock.read():
                log.append("r")

    writer = threading.Thread(target=busy_writer)
    writer.start()
    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    stop.set()
    writer.join(5)
    assert log.count("r") == 60  # the busy writer did not starve the readers
    assert "w" in log

    entered = threading.Event()

    def late_reader() -> None:
        with lock.read():
            entered.set()

    with lock.write():
        late = threading.Thread(target=late_reader)
        late.start()
        assert not entered.wait(0.1)  # a reader cannot enter while the writer holds it
    assert entered.wait(5)
    late.join(5)


def test_queries_run_while_a_save_is_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fashionrec_sdk._catalog import _catalog

    catalog = Catalog._from_vectors(
        [_product(i, 0) for i in range(50)],
        np.stack([_vector(i, 0) for i in range(50)]),
        bundle_ref=REF,
    )
    in_save, release = threading.Event(), threading.Event()
    real_save = _catalog.save_catalog

    def slow_save(*args: object, **kwargs: object) -> object:
        in_save.set()
        assert release.wait(10)
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_catalog, "save_catalog", slow_save)
    saver = threading.Thread(target=catalog.save, args=(tmp_path / "cat",))
    saver.start()
    assert in_save.wait(5)
    assert len(catalog.search_vector(_vector(1, 0), 5)) == 5  # not blocked by the save
    writer = threading.Thread(target=catalog.delete, args=(["i1"],))
    writer.start()
    writer.join(0.2)
    assert writer.is_alive()  # writers wait for the save
    assert len(catalog.search_vector(_vector(1, 0), 5)) == 5  # a waiting writer blocks no query
    release.set()
    saver.join(10)
    writer.join(10)
    assert "i1" not in catalog
    assert "i1" in Catalog._open_vectors(tmp_path / "cat", REF)
