"""kill -9 during save(): the directory always opens, as the old or the new state.

The parent prepares the new state in memory, forks, and the child runs ``save()``;
the parent sends SIGKILL after a delay spread over the measured duration of a save
(plus some past its end), so kills land in every phase: writing products, vectors,
each index, the manifest, and deleting the old generation.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._catalog._synthetic import synthetic_products

from ._catalog_util import SYNTH_REF, state

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

DIM = 16
REF = SYNTH_REF.model_copy(update={"embedding_dim": DIM})
REPEATS = 20


def _vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _new_state(catalog: Catalog) -> None:
    """The change the killed save is writing: deletes, replacements, new items with images."""
    catalog.delete([f"sku{i}" for i in range(0, 1500, 7)])
    changed = synthetic_products(200, seed=5)  # same ids sku0..sku199, new content
    catalog._upsert_vectors(changed, _vectors(200, 6), _vectors(200, 7))
    catalog._upsert_vectors(synthetic_products(300, seed=8, prefix="new"), _vectors(300, 9))


def _save_in_child(catalog: Catalog, target: Path, delay: float | None) -> None:
    pid = os.fork()
    if pid == 0:  # child: save and leave without running any parent cleanup
        try:
            catalog.save(target)
        finally:
            os._exit(0)
    if delay is not None:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0


@pytest.mark.slow
def test_kill_during_save_leaves_old_or_new_state(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    old = Catalog._from_vectors(synthetic_products(1500), _vectors(1500, 1), bundle_ref=REF)
    old.save(pristine)
    old_state = state(Catalog._open_vectors(pristine, REF))

    scratch = Catalog._open_vectors(pristine, REF)
    _new_state(scratch)
    new_state = state(scratch)
    assert new_state != old_state
    start = time.perf_counter()
    scratch.save(tmp_path / "timing")
    save_s = time.perf_counter() - start

    rng = random.Random(int(os.environ.get("CRASH_SEED", "0")))
    delays: list[float | None] = [0.0]
    delays += [rng.uniform(0, 1.25 * save_s) for _ in range(REPEATS - 2)]
    delays.append(None)  # not killed: the save completes
    outcomes = {"old": 0, "new": 0}
    for delay in delays:
        target = tmp_path / "cat"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(pristine, target)
        _save_in_child(scratch, target, delay)
        reopened = Catalog._open_vectors(target, REF)  # must never raise
        got = state(reopened)
        assert got in (old_state, new_state), f"torn state after kill at {delay}s"
        outcomes["old" if got == old_state else "new"] += 1
        reopened.save()  # the next save clears whatever the killed one left behind
        names = {p.name for p in target.iterdir()}
        listed = {rec.file for rec in _manifest_files(target)}
        assert names == listed | {"manifest.json", ".lock"}
    print(
        f"save takes {save_s * 1e3:.0f} ms; outcomes over {len(delays)} kills: {outcomes}",
        file=sys.stderr,
    )
    assert outcomes["old"] >= 1 and outcomes["new"] >= 1


def _manifest_files(directory: Path) -> list[object]:
    from fashionrec_sdk._catalog._persist import read_manifest

    return list(read_manifest(directory).files.values())
