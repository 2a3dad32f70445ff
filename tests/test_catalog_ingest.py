"""Catalog ingest: iterables, JSONL, JSON and CSV feeds; bad records are reported, the
rest is stored and searchable; duplicates, unchanged records, inline image bytes,
progress output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog, IngestReport
from fashionrec_sdk._catalog._feeds import parse_attributes
from fashionrec_sdk._catalog._index import AnnIndex
from fashionrec_sdk._encoders import TextEncoder

from ._catalog_util import png_bytes, product_dicts


def _searchable(catalog: Catalog, pid: str) -> bool:
    hits = catalog.search_vector(catalog.vectors([pid])[0], k=len(catalog))
    return pid in {h.product.id for h in hits}


def test_mixed_feed_reports_bad_records_and_ingests_the_rest(bundle: fr.ModelBundle) -> None:
    good = product_dicts(40)
    feed: list[object] = list(good)
    feed.insert(3, {"id": "no-title", "title": "", "category": "Tops"})
    feed.insert(7, {"id": "neg", "title": "shirt", "category": "Tops", "price": -5})
    feed.insert(9, {"title": "no id", "category": "Tops"})
    feed.insert(11, {"id": "extra", "title": "shirt", "category": "Tops", "colour": "red"})
    feed.insert(13, "not a record")
    feed.append(fr.Product(id="model", title="navy blazer", category="Blazers"))
    catalog = Catalog.build(feed, bundle=bundle, show_progress=False, batch_size=16)
    report = catalog.last_report
    assert report is not None
    assert report.seen == len(feed)
    assert report.added == 41 and len(catalog) == 41
    failed = {(i.index, i.product_id): i.reason for i in report.failed}
    assert set(failed) == {(3, "no-title"), (7, "neg"), (9, None), (11, "extra"), (13, None)}
    assert "title" in failed[(3, "no-title")]
    assert "price" in failed[(7, "neg")]
    assert "id" in failed[(9, None)]
    assert "colour" in failed[(11, "extra")]
    assert "Product or dict" in failed[(13, None)]
    assert all(_searchable(catalog, p["id"]) for p in good[::7])
    assert "no-title" not in catalog and "neg" not in catalog
    assert "5 rejected" in report.summary() and str(report) == report.summary()


def test_jsonl_feed_reports_line_numbers(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    rows = product_dicts(6)
    lines = [json.dumps(r) for r in rows[:3]]
    lines += ["{broken json", "", json.dumps([1, 2]), json.dumps({**rows[3], "price": "cheap"})]
    lines += [json.dumps(r) for r in rows[4:]]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    catalog = Catalog.build(feed, bundle=bundle, show_progress=False)
    report = catalog.last_report
    assert report is not None
    assert sorted(catalog.ids()) == sorted(r["id"] for r in rows if r["id"] != "p3")
    by_line = {i.line: i for i in report.failed}
    assert set(by_line) == {4, 6, 7}
    assert "invalid JSON" in by_line[4].reason
    assert "JSON object" in by_line[6].reason
    assert by_line[7].product_id == "p3" and "price" in by_line[7].reason


def test_json_array_feed(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"products": [*product_dicts(3), 5]}))
    catalog = Catalog.build(feed, bundle=bundle, show_progress=False)
    assert len(catalog) == 3
    assert catalog.last_report is not None and catalog.last_report.failed[0].index == 3


CSV = """\
id,title,category,price,sizes,attributes,in_stock,gender,attributes.season,image
c1,red wrap dress,Dresses,59.9,S|M|L,"{""fabric"": ""silk""}",true,women,summer,
c2,blue jeans,Jeans,,28|30,fit=slim;rise=high,no,,,
c3,bad price,Tops,abc,,,,,,
c4,white tee,Tops,12,M,fabric=cotton;oops,yes,men,,
c5,black boots,Boots,120,,,1,unisex,winter,pics/boot.png
"""


def test_csv_feed_conventions(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "boot.png").write_bytes(png_bytes())
    feed = tmp_path / "feed.csv"
    feed.write_text(CSV)
    catalog = Catalog.build(feed, bundle=bundle, show_progress=False)
    report = catalog.last_report
    assert report is not None
    c1, c2, c5 = catalog.get("c1"), catalog.get("c2"), catalog.get("c5")
    assert c1 is not None and c2 is not None and c5 is not None
    assert c1.sizes == ("S", "M", "L") and c1.attributes == {"fabric": "silk", "season": "summer"}
    assert c1.price == 59.9 and c1.in_stock and c1.gender == "women"
    assert c2.price is None and c2.attributes == {"fit": "slim", "rise": "high"}
    assert c2.in_stock is False and c2.sizes == ("28", "30")
    assert c5.image == str(tmp_path / "pics" / "boot.png")  # relative to the feed file
    assert catalog.has_image("c5") and not catalog.has_image("c1")
    failed = {i.line: i for i in report.failed}
    assert set(failed) == {4, 5}
    assert failed[4].product_id == "c3" and "price" in failed[4].reason
    assert failed[5].product_id == "c4" and "attribute" in failed[5].reason


def test_csv_with_unknown_column_is_refused_up_front(
    tmp_path: Path, bundle: fr.ModelBundle
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,category,colour\nx,shirt,Tops,red\n")
    with pytest.raises(fr.InvalidInputError, match="colour"):
        Catalog.build(feed, bundle=bundle, show_progress=False)
    feed.write_text("id,title\nx,shirt\n")
    with pytest.raises(fr.InvalidInputError, match="category"):
        Catalog.build(feed, bundle=bundle, show_progress=False)


def test_feed_input_errors(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    with pytest.raises(fr.InvalidInputError, match="not found"):
        Catalog.build(tmp_path / "missing.jsonl", bundle=bundle)
    (tmp_path / "feed.txt").write_text("x")
    with pytest.raises(fr.InvalidInputError, match="unknown file type"):
        Catalog.build(tmp_path / "feed.txt", bundle=bundle)
    with pytest.raises(fr.InvalidInputError):
        Catalog.build(42, bundle=bundle)  # type: ignore[arg-type]
    with pytest.raises(fr.InvalidInputError, match="batch_size"):
        Catalog.build([], bundle=bundle, batch_size=0)


def test_parse_attributes() -> None:
    assert parse_attributes('{"a": 1}') == {"a": "1"}
    assert parse_attributes("a=b; c = d ;") == {"a": "b", "c": "d"}
    assert parse_attributes("  ") == {}
    with pytest.raises(ValueError):
        parse_attributes("a=b;c")


def test_upsert_replaces_counts_and_skips_unchanged(bundle: fr.ModelBundle) -> None:
    rows = product_dicts(10)
    catalog = Catalog.build(rows, bundle=bundle, show_progress=False)
    before = catalog.text_vectors(["p1"])
    changed = {**rows[1], "title": "green leather jacket", "category": "Jackets"}
    report = catalog.upsert([changed, rows[2], {**rows[2]}, product_dicts(1, prefix="new")[0]])
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    assert [i.kind for i in report.issues] == ["duplicate"]
    assert report.issues[0].index == 1 and "item 2" in report.issues[0].reason
    assert len(catalog) == 11
    p1 = catalog.get("p1")
    assert p1 is not None and p1.title == "green leather jacket"
    assert not np.allclose(before, catalog.text_vectors(["p1"]))
    assert catalog.categories()["outerwear"] == 1 + sum(1 for r in rows if r["category"] == "Coats")
    hits = catalog.search_vector(catalog.vectors(["p1"])[0], k=3, category="outerwear")
    assert "p1" in {h.product.id for h in hits}


def test_price_change_reuses_vectors_and_skips_the_index(
    bundle: fr.ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = product_dicts(10)
    rows[1]["image"] = png_bytes()
    catalog = Catalog.build(rows, bundle=bundle, show_progress=False)
    before = catalog.vectors(["p1"])
    index_adds: list[int] = []
    encodes: list[int] = []
    real_add, real_encode = AnnIndex.add, TextEncoder.encode

    def add(self: AnnIndex, labels: np.ndarray, vectors: np.ndarray, *, threads: int = -1) -> None:
        index_adds.append(len(labels))
        real_add(self, labels, vectors, threads=threads)

    def encode(self: TextEncoder, texts: list[str], **kw: object) -> np.ndarray:
        encodes.append(len(texts))
        return real_encode(self, texts)

    monkeypatch.setattr(AnnIndex, "add", add)
    monkeypatch.setattr(TextEncoder, "encode", encode)
    report = catalog.upsert([{**rows[1], "price": 999.0, "in_stock": False}])
    assert report.updated == 1 and index_adds == [] and encodes == []
    np.testing.assert_array_equal(catalog.vectors(["p1"]), before)
    hits = catalog.search_vector(before[0], 3, filters=fr.Filters(min_price=990))
    assert [h.id for h in hits] == ["p1"] and hits[0].image_vector is not None
    catalog.upsert([{**rows[1], "title": "green silk scarf"}])
    assert encodes == [1] and index_adds  # new text: encoded and re-indexed


def test_bad_new_version_keeps_the_stored_one(bundle: fr.ModelBundle) -> None:
    rows = product_dicts(5)
    catalog = Catalog.build(rows, bundle=bundle, show_progress=False)
    report = catalog.upsert([{**rows[0], "price": -1}])
    assert report.failed and catalog.get("p0") == fr.Product(**rows[0])


def test_inline_image_bytes_are_encoded_not_stored(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    data = png_bytes()
    product = fr.Product(id="b1", title="red bag", category="Bags", image=data)
    catalog = Catalog.build([product], tmp_path / "cat", bundle=bundle, show_progress=False)
    stored = catalog.get("b1")
    assert stored is not None and stored.image is None and catalog.has_image("b1")
    image, mask = catalog.image_vectors(["b1"])
    assert mask.tolist() == [True] and abs(float(np.linalg.norm(image[0])) - 1) < 1e-2
    text = (tmp_path / "cat").glob("products-*.jsonl")
    line = json.loads(next(iter(text)).read_text())
    assert line["image_sha256"] and line["product"]["image"] is None
    again = catalog.upsert([product])
    assert again.unchanged == 1 and again.added == again.updated == 0
    reopened = Catalog.open(tmp_path / "cat", bundle=bundle)
    assert reopened.has_image("b1")
    np.testing.assert_allclose(reopened.vectors(["b1"]), catalog.vectors(["b1"]), atol=1e-6)


def test_image_failure_falls_back_to_text(tmp_path: Path, bundle: fr.ModelBundle) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    rows = [
        {"id": "ok", "title": "red dress", "category": "Dresses", "image": png_bytes()},
        {
            "id": "gone",
            "title": "red dress",
            "category": "Dresses",
            "image": str(tmp_path / "nope.png"),
        },
        {
            "id": "junk",
            "title": "red dress",
            "category": "Dresses",
            "image": str(tmp_path / "broken.png"),
        },
        {"id": "plain", "title": "red dress", "category": "Dresses"},
    ]
    catalog = Catalog.build(rows, bundle=bundle, show_progress=False)
    report = catalog.last_report
    assert report is not None and report.with_image == 1 and len(catalog) == 4
    flagged = {i.product_id: i.reason for i in report.text_only}
    assert set(flagged) == {"gone", "junk"}
    assert "no such image file" in flagged["gone"]
    assert "corrupt" in flagged["junk"] or "not a recognised image" in flagged["junk"]
    np.testing.assert_allclose(catalog.vectors(["gone"]), catalog.text_vectors(["gone"]), atol=2e-3)
    assert not np.allclose(catalog.vectors(["ok"]), catalog.text_vectors(["ok"]), atol=1e-2)


def test_fused_vector_is_normalized_text_plus_weighted_image(bundle: fr.ModelBundle) -> None:
    row = {"id": "x", "title": "red dress", "category": "Dresses", "image": png_bytes()}
    catalog = Catalog.build([row], bundle=bundle, show_progress=False, image_weight=0.5)
    text = catalog.text_vectors(["x"])[0]
    image, _ = catalog.image_vectors(["x"])
    expected = text + 0.5 * image[0]
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(catalog.vectors(["x"])[0], expected, atol=1e-5)
    hit = catalog.search_vector(expected, k=1)[0]
    assert hit.image_vector is not None and hit.score == pytest.approx(1.0, abs=1e-4)


def test_progress_follows_flag_and_logger(
    bundle: fr.ModelBundle, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    rows = product_dicts(30)
    Catalog.build(rows, bundle=bundle, show_progress=True, batch_size=8)
    err = capsys.readouterr().err
    assert "fashionrec: build" in err and "30/30 (100%)" in err
    Catalog.build(rows, bundle=bundle, batch_size=8)  # logger at WARNING: silent
    assert "fashionrec: build" not in capsys.readouterr().err
    with caplog.at_level(logging.INFO, logger="fashionrec_sdk"):
        Catalog.build(rows, bundle=bundle, batch_size=8)
    assert "30/30" in capsys.readouterr().err
    assert any("30 added" in r.getMessage() for r in caplog.records)


def test_report_is_a_typed_record() -> None:
    report = IngestReport(seen=1, added=1)
    assert report.ok and report.stored == 1
    assert IngestReport.model_validate_json(report.model_dump_json()) == report
