"""Catalog persistence: round trip, atomic saves (injected failures), integrity checks
on truncated, bit-flipped and crafted files, and bundle/format compatibility."""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog, _persist
from fashionrec_sdk._catalog._hnswfile import HEADER_BYTES
from fashionrec_sdk._catalog._index import AnnIndex

from ._catalog_util import manifest, png_bytes, product_dicts, rehash, rewrite_manifest, state


def _rows() -> list[dict[str, Any]]:
    rows = product_dicts(60)
    for i in (2, 9, 17):
        rows[i]["image"] = png_bytes((i * 10, 50, 90))
    return rows


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, bundle: fr.ModelBundle) -> Path:
    path = tmp_path_factory.mktemp("persist") / "shop.frcat"
    catalog = Catalog.build(_rows(), path, bundle=bundle, show_progress=False)
    catalog.delete(["p5", "p6"])
    catalog.save()
    return path


@pytest.fixture()
def copy(saved: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "cat"
    shutil.copytree(saved, dst)
    return dst


def _open(path: Path, bundle: fr.ModelBundle) -> Catalog:
    return Catalog.open(path, bundle=bundle)


def test_round_trip_keeps_everything(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    path = tmp_path / "shop.frcat"
    built = Catalog.build(_rows(), path, bundle=bundle, show_progress=False)
    built.delete(["p1", "p2"])
    built.upsert([{**product_dicts(61)[60]}, {**_rows()[3], "title": "pink silk dress"}])
    built.save()
    names = sorted(p.name for p in path.iterdir())
    assert names == sorted(
        [".lock", "manifest.json", *(r["file"] for r in manifest(path)["files"].values())]
    )
    assert all("-000002." in n for n in names if n not in (".lock", "manifest.json"))
    opened = _open(path, bundle)
    assert state(opened) == state(built)
    assert opened.categories() == built.categories()
    assert opened.has_image("p9") and not opened.has_image("p3")
    query = built.vectors(["p10"])[0]
    flt = fr.Filters(in_stock=True, max_price=150)
    assert [h.id for h in opened.search_vector(query, 8, filters=flt)] == [
        h.id for h in built.search_vector(query, 8, filters=flt)
    ]
    data = manifest(path)
    assert data["format"] == "fashionrec-catalog" and data["format_version"] == 1
    assert data["bundle"]["sha256"] == bundle.sha256 and data["dim"] == bundle.embedding_dim
    assert data["counts"]["items"] == len(built) and data["index"]["space"] == "ip"
    assert opened.bundle is bundle and opened.bundle_sha256 == bundle.sha256
    # a reopened catalog keeps working: slot reuse, new categories, another save
    opened.delete(["p3"])
    opened.upsert([{"id": "z", "title": "gold necklace", "category": "Necklaces"}])
    opened.save()
    assert state(_open(path, bundle)) == state(opened)


def test_empty_catalog_round_trip(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    Catalog.build([], tmp_path / "empty", bundle=bundle)
    opened = _open(tmp_path / "empty", bundle)
    assert len(opened) == 0 and opened.search_vector(np.ones(bundle.embedding_dim), 3) == []


def test_build_refuses_to_overwrite_unless_asked(
    saved: Path, copy: Path, bundle: fr.ModelBundle
) -> None:
    with pytest.raises(fr.InvalidInputError, match="overwrite"):
        Catalog.build(product_dicts(3), copy, bundle=bundle)
    Catalog.build(product_dicts(3), copy, bundle=bundle, overwrite=True)
    assert sorted(_open(copy, bundle).ids()) == ["p0", "p1", "p2"]
    assert manifest(copy)["generation"] == manifest(saved)["generation"] + 1
    in_memory = Catalog.build(product_dicts(2), bundle=bundle)
    with pytest.raises(fr.InvalidInputError, match="path"):
        in_memory.save()
    in_memory.save(copy.parent / "elsewhere")
    assert in_memory.path == copy.parent / "elsewhere" and len(_open(in_memory.path, bundle)) == 2


def test_other_bundle_is_refused_naming_both(
    copy: Path, bundle_copy: Path, bundle: fr.ModelBundle
) -> None:
    data = json.loads((bundle_copy / "manifest.json").read_text())
    data["name"] = "another-bundle"
    (bundle_copy / "manifest.json").write_text(json.dumps(data))
    other = fr.ModelBundle.load(bundle_copy, providers="cpu", threads=1)
    assert other.sha256 != bundle.sha256
    with pytest.raises(fr.IncompatibleArtifactError) as err:
        Catalog.open(copy, bundle=other)
    assert bundle.sha256 in str(err.value) and other.sha256 in str(err.value)
    assert err.value.expected == bundle.sha256 and err.value.found == other.sha256


def _files(path: Path) -> dict[str, Path]:
    return {name: path / rec["file"] for name, rec in manifest(path)["files"].items()}


def test_truncated_files_raise_integrity_error(copy: Path, bundle: fr.ModelBundle) -> None:
    files = {**_files(copy), "manifest": copy / "manifest.json"}
    assert {"products", "text", "image", "index:all", "index:dress"} <= set(files)
    originals = {name: p.read_bytes() for name, p in files.items()}
    for name, path in files.items():
        for keep in (0, len(originals[name]) // 2, len(originals[name]) - 3):
            path.write_bytes(originals[name][:keep])
            with pytest.raises(fr.ArtifactIntegrityError):
                _open(copy, bundle)
        path.write_bytes(originals[name])
    path.unlink()
    with pytest.raises(fr.ArtifactIntegrityError, match="no manifest"):
        _open(copy, bundle)


def test_bit_flips_raise_integrity_error(copy: Path, bundle: fr.ModelBundle) -> None:
    rng = random.Random(5)
    files = {**_files(copy), "manifest": copy / "manifest.json"}
    for name, path in files.items():
        original = path.read_bytes()
        flips = 40 if name == "manifest" else 8
        for _ in range(flips):
            data = bytearray(original)
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(data))
            with pytest.raises(fr.ArtifactIntegrityError):
                _open(copy, bundle)
        path.write_bytes(original)
    assert len(_open(copy, bundle)) == 58


def _index_header(path: Path) -> list[Any]:
    return list(struct.unpack("<6QiI3QdQ", path.read_bytes()[:HEADER_BYTES]))


def _patch(path: Path, offset: int, value: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))


def _crafted_index_cases(path: Path) -> dict[str, tuple[int, bytes]]:
    """Byte patches that keep the file size but would make hnswlib read out of bounds."""
    header = _index_header(path)
    count, size_per = header[2], header[3]
    max_m0 = header[9]
    level0 = HEADER_BYTES
    return {
        "neighbour past the end": (level0 + 4, struct.pack("<I", count + 5)),
        "huge neighbour id": (level0 + size_per + 4, struct.pack("<I", 0xFFFFFFF0)),
        "link list too long": (level0, struct.pack("<H", max_m0 + 1)),
        "entry point out of range": (52, struct.pack("<I", count + 1)),
        "maxlevel too high": (48, struct.pack("<i", 40)),
        "M changed": (72, struct.pack("<Q", header[10] + 1)),
        "size per element changed": (24, struct.pack("<Q", size_per + 4)),
        "element count changed": (16, struct.pack("<Q", count + 1)),
        "label repeated": (level0 + header[4] + size_per, struct.pack("<Q", 0)),
    }


def test_crafted_index_files_with_matching_hashes_are_refused(
    copy: Path, bundle: fr.ModelBundle
) -> None:
    for index_name in ("index:all", "index:dress"):
        path = _files(copy)[index_name]
        original = path.read_bytes()
        for _case, (offset, value) in _crafted_index_cases(path).items():
            _patch(path, offset, value)
            rehash(copy, index_name)  # the manifest now vouches for the crafted file
            with pytest.raises(fr.ArtifactIntegrityError, match="malformed|label|hold"):
                _open(copy, bundle)
            path.write_bytes(original)
            rehash(copy, index_name)
        assert len(_open(copy, bundle)) == 58, index_name


def test_crafted_upper_level_links_are_refused(copy: Path, bundle: fr.ModelBundle) -> None:
    path = _files(copy)["index:all"]
    header = _index_header(path)
    count, size_per, max_m = header[2], header[3], header[8]
    data = path.read_bytes()
    pos = HEADER_BYTES + count * size_per
    for _ in range(count):  # find the first element with upper levels
        (nbytes,) = struct.unpack_from("<I", data, pos)
        if nbytes:
            break
        pos += 4
    assert nbytes % (4 + 4 * max_m) == 0
    for value in (struct.pack("<H", max_m + 1), struct.pack("<HHI", 1, 0, count + 7)):
        _patch(path, pos + 4, value)
        rehash(copy, "index:all")
        with pytest.raises(fr.ArtifactIntegrityError, match="malformed"):
            _open(copy, bundle)
        path.write_bytes(data)
    _patch(path, pos, struct.pack("<I", nbytes + 1))
    rehash(copy, "index:all")
    with pytest.raises(fr.ArtifactIntegrityError, match="malformed"):
        _open(copy, bundle)


def test_crafted_vectors_and_products_are_refused(copy: Path, bundle: fr.ModelBundle) -> None:
    files = _files(copy)
    text = files["text"]
    original = text.read_bytes()
    for bad in (np.zeros((3, 16), np.float16), np.zeros((58, 16), np.float32)):
        np.save(text, bad)
        rehash(copy, "text")
        with pytest.raises(fr.ArtifactIntegrityError, match="float16"):
            _open(copy, bundle)
    text.write_bytes(b"\x93NUMPY garbage")
    rehash(copy, "text")
    with pytest.raises(fr.ArtifactIntegrityError):
        _open(copy, bundle)
    text.write_bytes(original)
    rehash(copy, "text")

    products = files["products"]
    lines = products.read_bytes().splitlines(keepends=True)
    first = json.loads(lines[0])
    variants = {
        "bad json": b"{oops\n",
        "repeated slot": lines[1],
        "bad product": json.dumps({**first, "product": {**first["product"], "price": -1}}).encode()
        + b"\n",
        "extra key": json.dumps({**first, "x": 1}).encode() + b"\n",
        "slot out of range": json.dumps({**first, "slot": 10_000}).encode() + b"\n",
    }
    for _case, line in variants.items():
        products.write_bytes(line + b"".join(lines[1:]))
        rehash(copy, "products")
        with pytest.raises(fr.ArtifactIntegrityError):
            _open(copy, bundle)
    products.write_bytes(b"".join(lines[1:]))  # one item fewer than the manifest says
    rehash(copy, "products")
    with pytest.raises(fr.ArtifactIntegrityError, match="items"):
        _open(copy, bundle)


def test_crafted_manifests_are_refused(copy: Path, bundle: fr.ModelBundle) -> None:
    original = manifest(copy)
    cases: list[tuple[dict[str, Any], type[Exception]]] = []
    traversal = json.loads(json.dumps(original))
    traversal["files"]["text"]["file"] = "../../etc/passwd"
    cases.append((traversal, fr.ArtifactIntegrityError))
    newer = {**original, "format_version": 2}
    cases.append((newer, fr.IncompatibleArtifactError))
    dims = {**original, "dim": 8}
    cases.append((dims, fr.ArtifactIntegrityError))
    counts = json.loads(json.dumps(original))
    counts["counts"]["by_category"]["dress"] += 1
    cases.append((counts, fr.ArtifactIntegrityError))
    missing_index = json.loads(json.dumps(original))
    del missing_index["files"]["index:dress"], missing_index["index"]["elements"]["dress"]
    cases.append((missing_index, fr.ArtifactIntegrityError))
    for data, error in cases:
        rewrite_manifest(copy, data)
        with pytest.raises(error):
            _open(copy, bundle)
    (copy / "manifest.json").write_text(json.dumps({"format": "fashionrec-bundle"}))
    with pytest.raises(fr.IncompatibleArtifactError, match="not a fashionrec catalog"):
        _open(copy, bundle)
    (copy / "manifest.json").write_text("[]")
    with pytest.raises(fr.ArtifactIntegrityError):
        _open(copy, bundle)


def test_failure_before_the_switch_keeps_the_old_state(
    copy: Path, bundle: fr.ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _open(copy, bundle)
    before = state(catalog)
    catalog.delete(["p10", "p11"])
    catalog.upsert(product_dicts(3, prefix="x"))

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_persist.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        catalog.save()
    assert state(_open(copy, bundle)) == before  # new generation written, never switched to
    monkeypatch.undo()

    original_save = AnnIndex.save

    def half_written(self: AnnIndex, path: Path) -> None:
        original_save(self, path)
        with open(path, "r+b") as fh:
            fh.truncate(100)
        raise OSError("killed mid-write")

    monkeypatch.setattr(AnnIndex, "save", half_written)
    with pytest.raises(OSError, match="mid-write"):
        catalog.save()
    assert state(_open(copy, bundle)) == before
    monkeypatch.undo()
    catalog.save()  # the next save clears the leftovers and switches
    after = _open(copy, bundle)
    assert state(after) == state(catalog) != before
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        [".lock", "manifest.json", *(r["file"] for r in manifest(copy)["files"].values())]
    )


def test_failure_after_the_switch_keeps_the_new_state(
    copy: Path, bundle: fr.ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _open(copy, bundle)
    catalog.delete(["p20"])
    old_files = {r["file"] for r in manifest(copy)["files"].values()}
    real_unlink = Path.unlink

    def flaky_unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name in old_files:
            raise OSError("interrupted cleanup")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", flaky_unlink)
    with pytest.raises(OSError, match="cleanup"):
        catalog.save()
    monkeypatch.undo()
    assert state(_open(copy, bundle)) == state(catalog)
    assert old_files <= {p.name for p in copy.iterdir()}  # leftovers, ignored by open
    catalog.save()
    assert not old_files & {p.name for p in copy.iterdir()}


def test_open_works_where_the_lock_file_cannot_be_created(
    copy: Path, bundle: fr.ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def no_lock(path: object, flags: int, *args: int) -> int:
        if str(path).endswith(".lock"):
            raise PermissionError("read-only directory")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_persist.os, "open", no_lock)
    catalog = _open(copy, bundle)  # readers go ahead without the shared lock
    assert len(catalog) == 58
    with pytest.raises(PermissionError):
        catalog.save()  # writers never do without the exclusive lock
