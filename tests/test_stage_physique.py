"""The physique stage: ViBE parsing, splits, metrics and a tiny end-to-end run (hermetic)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from export.context import Context, StageResult
from export.models import OutfitEncoder
from export.stages import physique
from export.stages.scoring import average_precision, multilabel_scores, roc_auc
from export.stages.splits import group_holdout
from export.stages.vibe import (
    Garment,
    Measurements,
    extract_vibe,
    garment_text,
    load_garments,
    load_people,
    product_name,
    resolve_person,
)
from fashionrec_sdk._categories import COARSE_CATEGORIES
from fashionrec_sdk._errors import ArtifactIntegrityError, InvalidInputError
from fashionrec_sdk._physique import PHYSIQUE_LABELS

PEOPLE = {
    "Alex": {"height": "174.0", "bust": "81.0", "waist": "64.0", "hips": "91.0", "url": "u"},
    "Emma_1": {"height": "174.0", "bust": "81.0", "waist": "64.0", "hips": "91.0"},
    "Emma_2": {"height": "175.0", "bust": "83.0", "waist": "71.0", "hips": "99.0"},
    "Mae-Lee": {"height": "165.0", "bust": "86.0", "waist": "68.0", "hips": "97.0"},
    "Lauren": {"height": "180.0", "bust": "112.0", "waist": "88.0", "hips": "128.0"},
    "Sophia ": {"height": "178.0", "bust": "84.0", "waist": "62.0", "hips": "89.0"},
}


def _m(name: str) -> dict[str, str]:
    return {k: v for k, v in PEOPLE[name].items() if k != "url"}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models: one torch thread is faster than contending for shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors from a hash of each text (no model)."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for i, t in enumerate(texts):
        seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).standard_normal(384)
        out[i] = v / np.linalg.norm(v)
    return out


def write_vibe(root: Path) -> Path:
    """A tiny ViBE tree (same layout as the real archive) under ``root/vibe/dataset``."""
    ds = root / "vibe" / "dataset"
    (ds / "humans").mkdir(parents=True)
    (ds / "humans" / "model.json").write_text(json.dumps(PEOPLE))
    wearers = [
        {"Alex": _m("Alex")},
        {"Emma": _m("Emma_2"), "Lauren": _m("Lauren")},
        {"MaeLee": _m("Mae-Lee")},
        {"Sophia": _m("Sophia "), "Rebecca": _m("Lauren")},
        {"Lauren": _m("Lauren"), "Emma": _m("Emma_1")},
        {"Alex": _m("Alex"), "MaeLee": _m("Mae-Lee")},
    ]
    for kind, word in (("onepiece", "dress"), ("tops", "top")):
        (ds / kind / "meta_descriptions").mkdir(parents=True)
        (ds / kind / "model_measurement").mkdir(parents=True)
        (ds / kind / "model_measurement" / "README.md").write_text("# not a garment")
        for i, who in enumerate(wearers * 2):
            stem = f"style-{i % 7}-{word}-{i}#Col{i % 3}"
            desc = (
                f"V neck\nStyle {i} {word} with {'ruffles' if i % 2 else 'pleats'}\nCold hand wash"
            )
            (ds / kind / "meta_descriptions" / f"{stem}_meta.txt").write_text(desc)
            (ds / kind / "model_measurement" / f"{stem}_meta.txt").write_text(json.dumps(who))
        # Skipped: no wearers; no description file.
        (ds / kind / "meta_descriptions" / "nobody#Black_meta.txt").write_text("Round neck")
        (ds / kind / "model_measurement" / "nobody#Black_meta.txt").write_text("{}")
        (ds / kind / "model_measurement" / "nodesc#Red_meta.txt").write_text(
            json.dumps({"Alex": _m("Alex")})
        )
    return ds


# --- parsing -------------------------------------------------------------------------


def test_product_name() -> None:
    assert (
        product_name("34-sleeve-cross-over-dress-1#Black") == "3/4 sleeve cross over dress, black"
    )
    assert (
        product_name("34-sleeve-spliced-dress#SilverMarl")
        == "3/4 sleeve spliced dress, silver marl"
    )
    assert product_name("amelie-35#Black") == "amelie, black"
    assert product_name("2-in-1-jumper") == "2 in 1 jumper"


def test_garment_text_drops_care_and_origin_lines() -> None:
    text = garment_text("wrap-dress#Navy", "V neck\n\nCold hand wash\nMade in China\nSemi fitted\n")
    assert text == "wrap dress, navy. V neck. Semi fitted"


def test_resolve_person_matches_loose_names_and_namesakes() -> None:
    people = {
        k.strip(): Measurements(*(float(v[f]) for f in ("height", "bust", "waist", "hips")))
        for k, v in PEOPLE.items()
    }
    emma2 = people["Emma_2"]
    assert resolve_person("Emma", emma2, people) == "Emma_2"
    assert resolve_person("Emma", people["Emma_1"], people) == "Emma_1"
    assert resolve_person("MaeLee", people["Mae-Lee"], people) == "Mae-Lee"
    assert resolve_person("Sophia", people["Sophia"], people) == "Sophia"
    assert resolve_person("Rebecca ", emma2, people) == "extra:rebecca"


def test_load_garments(tmp_path: Path) -> None:
    ds = write_vibe(tmp_path)
    people = load_people(ds / "humans" / "model.json")
    garments = load_garments(ds, people)
    assert len(garments) == 24  # 12 per kind; "nobody" and "nodesc" skipped
    g = next(x for x in garments if x.garment_id == "onepiece/style-1-dress-1#Col1")
    assert g.wearers == ("Emma_2", "Lauren")
    expected = set(people["Emma_2"].labels()) | set(people["Lauren"].labels())
    assert g.labels == expected
    assert g.text.startswith("style 1 dress, col1. V neck. Style 1 dress with ruffles")
    assert "wash" not in g.text
    assert g.product == "onepiece/style 1 dress"
    assert any(w == "extra:rebecca" for x in garments for w in x.wearers)


def test_extract_vibe_and_bad_archive(tmp_path: Path) -> None:
    write_vibe(tmp_path / "src")
    archive = tmp_path / "vibe.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "vibe", arcname="vibe")
    ds = extract_vibe(archive, tmp_path / "out")
    assert (ds / "humans" / "model.json").is_file()
    assert extract_vibe(archive, tmp_path / "out") == ds  # second call reuses the folder
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz") as tar:
        info = tarfile.TarInfo("x.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ArtifactIntegrityError):
        extract_vibe(empty, tmp_path / "out2")


def test_corrupt_measurements_raise(tmp_path: Path) -> None:
    ds = write_vibe(tmp_path)
    bad = ds / "tops" / "model_measurement" / "style-0-top-0#Col0_meta.txt"
    bad.write_text(json.dumps({"Alex": {"height": "tall"}}))
    with pytest.raises(ArtifactIntegrityError):
        load_garments(ds, load_people(ds / "humans" / "model.json"))


def test_label_phrases_cover_the_labels_in_order() -> None:
    assert tuple(physique.LABEL_PHRASES) == PHYSIQUE_LABELS


def test_targets_multi_hot() -> None:
    g = Garment("a/x", "onepiece", "a/x", "x", ("p",), frozenset({"pear", "tall"}))
    y = physique.targets([g])
    assert y.shape == (1, len(PHYSIQUE_LABELS))
    assert {PHYSIQUE_LABELS[j] for j in np.nonzero(y[0])[0]} == {"pear", "tall"}


# --- splits --------------------------------------------------------------------------


def test_group_holdout_keeps_groups_together() -> None:
    groups = [f"p{i // 3}" for i in range(60)]
    keep, held = group_holdout(groups, 0.2, np.random.default_rng(0))
    assert set(keep).isdisjoint(held)
    assert sorted([*keep, *held]) == list(range(60))
    assert {groups[i] for i in keep}.isdisjoint({groups[i] for i in held})
    assert len({groups[i] for i in held}) == 4


def test_people_folds_never_leak_held_out_people(tmp_path: Path) -> None:
    ds = write_vibe(tmp_path)
    garments = load_garments(ds, load_people(ds / "humans" / "model.json"))
    folds = physique.people_folds(garments, 3, np.random.default_rng(0))
    everyone = {w for g in garments for w in g.wearers}
    held_all: list[str] = []
    for train, test, held in folds:
        held_all.extend(held)
        assert set(train).isdisjoint(test)
        for i in train:
            assert held.isdisjoint(garments[i].wearers)
        for i in test:
            assert held.issuperset(garments[i].wearers)
    assert sorted(held_all) == sorted(everyone)  # everyone held out exactly once


# --- metrics -------------------------------------------------------------------------


def test_average_precision_known_values() -> None:
    y = np.array([1, 0, 1, 0])
    assert average_precision(y, np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)
    assert average_precision(y, np.array([1.0, 0.0, 1.0, 0.0])) == pytest.approx(1.0)
    assert np.isnan(average_precision(np.zeros(3), np.arange(3.0)))


def test_roc_auc_known_values() -> None:
    y = np.array([1, 0, 1, 0])
    assert roc_auc(y, np.array([0.9, 0.1, 0.8, 0.2])) == 1.0
    assert roc_auc(y, np.array([0.1, 0.9, 0.2, 0.8])) == 0.0
    assert roc_auc(y, np.full(4, 0.3)) == 0.5
    assert roc_auc(y, np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(0.75)
    with pytest.raises(InvalidInputError):
        roc_auc(np.array([2, 0]), np.array([0.1, 0.2]))


def test_multilabel_scores_skip_single_class_labels() -> None:
    y = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 0]])
    s = np.array([[0.9, 0.2, 0.1], [0.1, 0.3, 0.2], [0.8, 0.4, 0.3]])
    res = multilabel_scores(y, s, ["a", "b", "c"])
    assert set(res.ap) == {"a"} and res.mean_ap == 1.0 and res.auc == {"a": 1.0}


def test_knn_scores() -> None:
    train = np.eye(3, dtype=np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    q = np.array([[0.9, 0.1, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(physique.knn_scores(train, y, q, 1), [[1.0, 0.0]])
    np.testing.assert_allclose(physique.knn_scores(train, y, q, 2), [[0.5, 0.5]])


# --- end to end ----------------------------------------------------------------------


def test_run_end_to_end_and_resume(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_vibe(tmp_path / "src")
    data.mkdir()
    with tarfile.open(data / "vibe.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "vibe", arcname="vibe")
    torch.manual_seed(0)
    encoder = OutfitEncoder(384, len(COARSE_CATEGORIES)).eval()
    ctx = Context(
        data=data, work=tmp_path / "work", smoke=True, seed=0, dim=384, embed_fn=fake_embed
    )
    ctx.results["outfit"] = StageResult("outfit_encoder", encoder, None, None, {})  # type: ignore[arg-type]
    res = physique.run(ctx)
    assert res.name == "physique_gcn"
    for key in ("garments_map", "garments_baseline_prior_map", "garments_baseline_knn_map"):
        assert 0.0 <= res.metrics[key] <= 1.0
    for label in PHYSIQUE_LABELS:
        assert f"prior_{label}" in res.metrics
    (x,) = res.make_inputs(3)
    assert x.shape == (3, encoder.out_dim)
    assert res.module(x).shape == (3, len(PHYSIQUE_LABELS))
    again = physique.run(ctx)  # reuses the checkpoint
    assert again.metrics == res.metrics
    torch.testing.assert_close(again.module(x), res.module(x))
