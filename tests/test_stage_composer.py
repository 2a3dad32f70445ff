"""The composer stage: FashionIQ/attribute parsing, InfoNCE, recall@k and a tiny run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from export.context import Context
from export.stages import composer
from export.stages.fashioniq import (
    CATEGORIES,
    attribute_text,
    feedback_text,
    load_attribute_texts,
    load_captions,
    load_gallery,
)
from export.stages.scoring import recall_at_k
from fashionrec_sdk._errors import ArtifactIntegrityError, InvalidInputError


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
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


def _dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


# --- parsing -------------------------------------------------------------------------


def test_attribute_text() -> None:
    groups = [
        ["dress"],
        [],
        ["embroidered", "french"],
        ["fit"],
        ["button", "collar", "long sleeve"],
        ["please"],
    ]
    assert attribute_text(groups) == "dress, embroidered french, fit, button collar long sleeve"
    assert attribute_text([[], ["wash"], [" "]]) == ""


def test_feedback_text() -> None:
    assert (
        feedback_text(["is solid black ", "has no sleeves"]) == "is solid black and has no sleeves"
    )
    assert feedback_text(["", "is shorter"]) == "is shorter"


def test_load_attribute_texts_prefers_category_files(tmp_path: Path) -> None:
    _dump(tmp_path / "asin2attr.dress.train.new.json", {"A": [["dress"], [], [], ["maxi"], [], []]})
    _dump(
        tmp_path / "asin2attr.all.train.new.json",
        {
            "A": [["gown"], [], [], [], [], []],
            "B": [["tee"], ["print"], [], [], [], []],
            "C": [[], [], ["wash"], [], [], []],
        },
    )
    texts = load_attribute_texts(tmp_path)
    assert texts == {"A": "dress, maxi", "B": "tee, print"}  # C has no text left
    with pytest.raises(ArtifactIntegrityError):
        load_attribute_texts(tmp_path / "missing")


def test_load_captions_keeps_described_pairs(tmp_path: Path) -> None:
    texts = {"A": "dress", "B": "dress, red", "C": "dress, blue"}
    records = [
        {"target": "B", "candidate": "A", "captions": ["is red", "is longer"]},
        {"target": "Z", "candidate": "A", "captions": ["x", "y"]},  # target without text
        {"target": "A", "candidate": "A", "captions": ["same", "same"]},  # candidate == target
        {"target": "C", "candidate": "B", "captions": []},  # no feedback
        {"candidate": "B", "captions": ["a", "b"]},  # no target
    ]
    _dump(tmp_path / "cap.json", records)
    caps = load_captions(tmp_path / "cap.json", "dress", texts)
    assert caps.total == 5
    assert [(t.candidate, t.target, t.feedback) for t in caps.triples] == [
        ("A", "B", "is red and is longer")
    ]
    _dump(tmp_path / "split.json", ["C", "Z", "A", "C"])
    assert load_gallery(tmp_path / "split.json", texts) == ["C", "A"]
    _dump(tmp_path / "bad.json", {"not": "a list"})
    with pytest.raises(ArtifactIntegrityError):
        load_captions(tmp_path / "bad.json", "dress", texts)


# --- loss and metrics ----------------------------------------------------------------


def test_info_nce_masks_duplicate_targets() -> None:
    t = torch.nn.functional.normalize(
        torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), dim=1
    )
    perfect = composer.info_nce(t, t, torch.arange(4), 0.01)
    assert float(perfect) < 1e-3
    # Rows 0 and 1 share a target text: row 1's target is no negative for row 0.
    q = t.clone()
    tgt = t.clone()
    tgt[1] = tgt[0]
    ids = torch.tensor([0, 0, 1, 2])
    masked = composer.info_nce(q, tgt, ids, 0.05)
    unmasked = composer.info_nce(q, tgt, torch.arange(4), 0.05)
    assert float(masked) < float(unmasked)


def test_recall_at_k_known_answers() -> None:
    scores = np.array([[0.9, 0.5, 0.1, 0.7], [0.2, 0.8, 0.8, 0.8]])
    target = np.array([1, 2])
    # Query 0: two items above the target -> rank 3.
    # Query 1: three-way tie incl. the target -> recall@1 = 1/3, @2 = 2/3.
    r = recall_at_k(scores, target, (1, 2, 3))
    assert r[1] == pytest.approx((0 + 1 / 3) / 2)
    assert r[2] == pytest.approx((0 + 2 / 3) / 2)
    assert r[3] == pytest.approx(1.0)
    # Excluding query 0's top item (its candidate) lifts the target to rank 2.
    r = recall_at_k(scores, target, (2,), exclude=np.array([0, -1]))
    assert r[2] == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(InvalidInputError):
        recall_at_k(scores, target, (1,), exclude=np.array([1, -1]))


# --- end to end ----------------------------------------------------------------------


def write_fashioniq(root: Path) -> None:
    """Tiny FashionIQ + attribute files: disjoint train/val ASINs per category."""
    words = ["red", "blue", "striped", "floral", "long", "short", "silk", "cotton"]
    attrs: dict[str, list[list[str]]] = {}
    for cat in CATEGORIES:
        for split, n in (("train", 16), ("val", 10)):
            asins = [f"{cat}-{split}-{i}" for i in range(n)]
            for i, a in enumerate(asins):
                attrs[a] = [[cat], [words[i % 8]], [words[(i + 3) % 8]], [], [], []]
            records = [
                {
                    "candidate": asins[i],
                    "target": asins[(i + 1) % n],
                    "captions": [f"is {words[(i + 1) % 8]}", f"more {words[(i + 4) % 8]}"],
                }
                for i in range(n)
            ]
            records.append({"candidate": asins[0], "target": "undescribed", "captions": ["a", "b"]})
            _dump(root / "fashioniq" / "captions" / f"cap.{cat}.{split}.json", records)
        if cat == "shirt":  # an item listed under two categories: a toptee val item
            records = json.loads(
                (root / "fashioniq" / "captions" / "cap.shirt.train.json").read_text()
            )
            records.append(
                {"candidate": "shirt-train-0", "target": "toptee-val-3", "captions": ["a", "b"]}
            )
            attrs["toptee-val-3"] = [["tee"], ["plain"], [], [], [], []]
            _dump(root / "fashioniq" / "captions" / "cap.shirt.train.json", records)
        _dump(
            root / "fashioniq" / "image_splits" / f"split.{cat}.val.json",
            [f"{cat}-val-{i}" for i in range(10)] + ["undescribed"],
        )
        _dump(root / "multiturn" / "attr" / f"asin2attr.{cat}.train.new.json", attrs)


def test_run_end_to_end_val_disjoint_and_resume(tmp_path: Path) -> None:
    write_fashioniq(tmp_path / "data")
    ctx = Context(
        data=tmp_path / "data",
        work=tmp_path / "work",
        smoke=True,
        seed=0,
        dim=384,
        embed_fn=fake_embed,
    )
    res = composer.run(ctx)
    m = res.metrics
    assert res.name == "feedback_composer"
    assert m["train_dropped_heldout_items"] == 1.0
    assert m["val_train_asin_overlap"] == 0.0
    assert m["train_dress_captions"] == 17 and m["train_dress_described"] == 16
    assert m["gallery_dress"] == 10
    for key in ("val_r10", "val_r50", "baseline_sum_r10", "baseline_concat_r50", "val_shirt_r10"):
        assert 0.0 <= m[key] <= 1.0
    assert m["val_r10"] == 1.0  # a 10-item gallery minus the candidate: always in the top 10
    item, feedback = res.make_inputs(5)
    assert item.shape == feedback.shape == (5, 384)
    torch.testing.assert_close(item.norm(dim=1), torch.ones(5))
    q = res.module(item, feedback)
    assert q.shape == (5, 384)
    again = composer.run(ctx)
    assert again.metrics == m
    torch.testing.assert_close(again.module(item, feedback), q)
