"""The outfit stage: Polyvore parsers, evaluation functions and the stage contract.

Hermetic: a tiny handmade Polyvore Outfits / Maryland tree in ``tmp_path`` and a fake,
seeded text embedder stand in for ``../shared/data`` and the text tower.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from export.context import Context
from export.onnx_export import check_parity, export_module
from export.stages import outfit
from export.stages.outfit_eval import (
    CooccurrencePrior,
    FitbQuestion,
    compatibility_auc,
    cosine_scorer,
    fitb_accuracy,
    make_fitb_questions,
    random_scorer,
    roc_auc,
)
from export.stages.polyvore import (
    OutfitData,
    corrupt,
    load_maryland,
    load_polyvore_outfits,
    parse_categories_csv,
    parse_maryland,
    parse_outfit_tuples,
)
from fashionrec_sdk._categories import COARSE_CATEGORIES
from fashionrec_sdk._errors import InvalidInputError

DIM = 16
SEMANTIC = [
    ("60", "belt", "accessories"),
    ("3", "dress", "all-body"),
    ("37", "bag", "bags"),
    ("27", "jeans", "bottoms"),
    ("55", "hat", "hats"),
    ("62", "necklace", "jewellery"),
    ("24", "coat", "outerwear"),
    ("51", "scarf", "scarves"),
    ("41", "heels", "shoes"),
    ("57", "sunglasses", "sunglasses"),
    ("11", "top", "tops"),
]
SPLIT_RANGES = {"train": (0, 20), "valid": (20, 30), "test": (30, 40)}


def _line(items: Sequence[tuple[int, int]], slots: int = 16) -> str:
    idx = [i for _, i in items] + [-1] * (slots - len(items))
    cats = [c for c, _ in items] + [-1] * (slots - len(items))
    return ",".join(str(v) for v in [0, len(items), *idx, *cats])


def _write_data(root: Path) -> Path:
    rng = np.random.default_rng(0)
    po = root / "polyvore_outfits"
    (po / "disjoint").mkdir(parents=True)
    (po / "vasileva").mkdir()
    items = [[f"{c}{i:03d}" for i in range(40)] for c in range(11)]
    (po / "disjoint" / "items.json").write_text(json.dumps(items))
    csv_rows = [f"{fid},{name},{sem}" for fid, name, sem in SEMANTIC]
    csv_rows += ["11,shirt,tops", "2,undefined,"]  # a second name for id 11, an unused id
    (po / "vasileva" / "categories.csv").write_text("\r\n".join(csv_rows) + "\r\n")
    # Every item but index 5 of each category has a fine category (5 -> semantic name).
    fine = {items[c][i]: SEMANTIC[c][0] for c in range(11) for i in range(40) if i != 5}
    (po / "vasileva" / "train_category.json").write_text(json.dumps(fine))
    for split, (lo, hi) in SPLIT_RANGES.items():
        pos, neg = [], []
        for _ in range(24):
            cats = [10, 3, 8, 2][: int(rng.integers(2, 5))]
            pos.append(_line([(c, int(rng.integers(lo, hi))) for c in cats]))
            neg.append(_line([(c, int(rng.integers(lo, hi))) for c in cats]))
        (po / "disjoint" / f"{split}_pos").write_text("\n".join(pos) + "\n")
        (po / "disjoint" / f"{split}_neg").write_text("\n".join(neg) + "\n")
    md = root / "polyvore_maryland"
    md.mkdir()
    words = {
        "upper": "silk blouse",
        "bottom": "denim jeans",
        "shoe": "leather boots",
        "bag": "mini tote",
        "accessory": "gold earrings",
    }
    for fname, n, start in (
        ("valid_no_dup_with_category_3more_name.json", 30, 0),
        ("test_dev_half.json", 20, 100),
    ):
        outfits = {
            str(start + k): {
                slot: {"index": j + 1, "name": f"{['red', 'blue', 'black'][k % 3]} {w} {start + k}"}
                for j, (slot, w) in enumerate(words.items())
                if j < 3 + k % 3
            }
            for k in range(n)
        }
        (md / fname).write_text(json.dumps(outfits))
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_data(tmp_path_factory.mktemp("data"))


def _fake_embed(texts: list[str]) -> np.ndarray:
    out = np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=DIM) for t in texts])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- parsers


def test_parse_outfit_tuples() -> None:
    rows = parse_outfit_tuples([_line([(10, 4), (3, 7)]), "", _line([(8, 1)], slots=19)])
    assert rows == [[(10, 4), (3, 7)], [(8, 1)]]
    for bad in ("0,3,1,2,-1,5,6", "0,2,1,-1,4,-1", "a,b,c,d"):
        with pytest.raises(InvalidInputError):
            parse_outfit_tuples([bad])


def test_parse_categories_keeps_first_name_per_id() -> None:
    cats = parse_categories_csv("11,sweater,tops\r\n11,shirt,tops\r\n62,necklace,jewellery \r\n")
    assert cats == {"11": ("sweater", "tops"), "62": ("necklace", "jewellery")}


def test_parse_maryland_slot_order_and_empty_titles() -> None:
    outfits = parse_maryland(
        {
            "9": {
                "shoe": {"index": 2, "name": "boots"},
                "upper": {"index": 1, "name": "tee"},
                "bag": {"name": ""},
            }
        }
    )
    assert outfits[0].outfit_id == "9"
    assert outfits[0].items == (("upper", "tee"), ("shoe", "boots"))
    with pytest.raises(InvalidInputError):
        parse_maryland({"1": {"hat": {"name": "cap"}}})


def test_load_polyvore_outfits(data_dir: Path) -> None:
    po = load_polyvore_outfits(data_dir / "polyvore_outfits", np.random.default_rng(0))
    assert len(po.train) == len(po.train_neg) == 24
    texts = {po.items.texts[t] for t in po.items.text_ids}
    assert {"top", "jeans", "heels", "bag"} <= texts  # fine names, first name for id 11
    assert texts & {"tops", "bottoms", "shoes", "bags"}  # semantic fallback for index 5
    coarse = {COARSE_CATEGORIES[c] for c in po.items.categories}
    assert coarse <= {"top", "bottom", "shoes", "bag"}
    for split, outfits in (("train", po.train), ("test", po.test_pos)):
        assert set(po.pool(split).tolist()) == {i for o in outfits for i in o}
    assert not set(po.pool("train").tolist()) & set(po.pool("test").tolist())
    small = load_polyvore_outfits(
        data_dir / "polyvore_outfits", np.random.default_rng(0), {"train": 5}
    )
    assert len(small.train) == len(small.train_neg) == 5


def test_load_maryland_split_rule(data_dir: Path) -> None:
    md = load_maryland(data_dir / "polyvore_maryland", np.random.default_rng(0))
    assert len(md.train) + len(md.valid_pos) == 30 and len(md.valid_pos) == 3
    assert len(md.test_pos) == len(md.test_neg) == 20
    texts = [md.items.texts[t] for t in md.items.text_ids]
    test_titles = {texts[i] for o in md.test_pos for i in o}
    train_titles = {texts[i] for o in [*md.train, *md.valid_pos] for i in o}
    assert all(int(t.split()[-1]) >= 100 for t in test_titles)  # only test-file outfits
    assert all(int(t.split()[-1]) < 100 for t in train_titles)
    # Test negatives: same slots, items drawn from the test split only.
    test_items = set(md.pool("test").tolist())
    for pos, neg in zip(md.test_pos, md.test_neg, strict=True):
        assert [md.items.groups[i] for i in pos] == [md.items.groups[i] for i in neg]
        assert set(neg) <= test_items and pos != neg


def test_corrupt_keeps_groups() -> None:
    groups = np.array([0, 0, 0, 1, 1, 1])
    out = corrupt([(0, 3), (1, 4)], groups, np.arange(6), np.random.default_rng(0))
    for before, after in zip([(0, 3), (1, 4)], out, strict=True):
        assert [groups[i] for i in before] == [groups[i] for i in after]
        assert all(a != b for a, b in zip(before, after, strict=True))
    one = corrupt([(0, 3)], groups, np.arange(6), np.random.default_rng(0), n_replace=1)[0]
    assert sum(a != b for a, b in zip((0, 3), one, strict=True)) == 1


# ---------------------------------------------------------------- evaluation


def test_roc_auc_known_values() -> None:
    assert roc_auc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0
    assert roc_auc(np.array([0.0]), np.array([1.0])) == 0.0
    assert roc_auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5
    assert roc_auc(np.array([1.0, 3.0]), np.array([2.0])) == 0.5
    with pytest.raises(InvalidInputError):
        roc_auc(np.array([]), np.array([1.0]))


def test_fitb_on_toy_scorers() -> None:
    categories = np.array([0, 1, 1, 1, 1, 1, 2])
    good = {1}  # item 1 is the only "right" answer for category 1
    questions = [FitbQuestion(context=(0,), position=1, candidates=(3, 1, 4, 5), answer=1)]

    def oracle(outfits: Sequence[tuple[int, ...]]) -> np.ndarray:
        return np.array([float(any(i in good for i in o)) for o in outfits])

    assert fitb_accuracy(oracle, questions) == 1.0
    assert fitb_accuracy(lambda o: np.zeros(len(o)), questions) == 0.25  # ties split credit
    assert fitb_accuracy(lambda o: -oracle(o), questions) == 0.0
    assert questions[0].filled(1) == (0, 1)
    qs = make_fitb_questions([(1, 2), (6, 0)], categories, np.arange(7), np.random.default_rng(1))
    for q in qs:
        true = q.candidates[q.answer]
        assert len(set(q.candidates)) == 4
        assert all(categories[c] == categories[true] for c in q.candidates)
        assert not set(q.candidates) - {true} & set(q.context)
    assert len(qs) == 1  # categories 0 and 2 have no distractors: (6, 0) is skipped
    assert abs(fitb_accuracy(random_scorer(0), qs * 400) - 0.25) < 0.06


def test_baselines() -> None:
    vecs = np.eye(4, dtype=np.float32)
    vecs[1] = vecs[0]
    cos = cosine_scorer(lambda items: vecs[items])
    assert cos([(0, 1), (0, 2)]).tolist() == [1.0, 0.0]
    keys = np.array([0, 1, 2, 3])
    prior = CooccurrencePrior(keys, positives=[(0, 1)] * 5, negatives=[(0, 2)] * 5)
    s = prior([(0, 1), (0, 2), (0, 3)])
    assert s[0] > s[2] > s[1]
    assert compatibility_auc(prior, [(0, 1)], [(0, 2)]) == 1.0


def _tiny_data() -> OutfitData:
    from export.stages.polyvore import ItemTable

    n = 16
    table = ItemTable(
        texts=tuple(f"t{i}" for i in range(n)),
        text_ids=np.arange(n),
        categories=np.array([0, 1] * (n // 2)),
        groups=np.array([0, 1] * (n // 2)),
        fine=np.array([0, 1] * (n // 2)),
    )
    train = [(0, 1), (2, 3)]
    test = [(6, 7), (8, 9), (10, 11), (12, 13), (14, 15)]
    test_neg = [(6, 9), (8, 11), (10, 13), (12, 15), (14, 7)]
    return OutfitData("x", table, train, [(0, 3)], [(4, 5)], [(4, 1)], test, test_neg)


def test_evaluation_never_scores_training_rows() -> None:
    data = _tiny_data()
    feats = outfit.Features(data, _fake_embed(list(data.items.texts)))
    seen: list[tuple[int, ...]] = []

    def spy(outfits: Sequence[tuple[int, ...]]) -> np.ndarray:
        seen.extend(outfits)
        return np.arange(len(outfits), dtype=np.float64)

    metrics = outfit.evaluate("x", spy, feats, seed=0)
    train_items = {
        i for o in [*data.train, *data.train_neg, *data.valid_pos, *data.valid_neg] for i in o
    }
    assert seen and all(not set(o) & train_items for o in seen)
    for key in (
        "x_auc",
        "x_fitb",
        "x_baseline_random_auc",
        "x_baseline_cosine_fitb",
        "x_baseline_cooc_auc",
    ):
        assert isinstance(metrics[key], float)
    assert metrics["x_test_items_also_in_train"] == 0.0


# ---------------------------------------------------------------- stage contract


def test_make_inputs_and_tiny_model_export(tmp_path: Path) -> None:
    from export.models import OutfitEncoder

    module = OutfitEncoder(DIM, len(COARSE_CATEGORIES), channels=8).eval()
    result = outfit._result(module, {"po_auc": 0.5}, DIM)
    assert result.name == "outfit_encoder"
    vecs, mask, cats = result.make_inputs(7)
    assert (
        vecs.shape[:2] == mask.shape == cats.shape and vecs.shape[0] == 7 and vecs.shape[2] == DIM
    )
    assert cats.dtype == torch.int64 and bool((mask.sum(1) >= 1).all())
    assert torch.equal(result.make_inputs(7)[0], vecs)  # seeded
    vec, logit = module(vecs, mask, cats)
    assert vec.shape == (7, module.out_dim) and logit.shape == (7,)
    assert [t.name for t in result.spec.outputs] == ["outfit_vector", "compatibility"]
    assert result.spec.outputs[0].shape == ("batch", module.out_dim)
    path = export_module(module, result.make_inputs(2), result.spec, tmp_path / "outfit.onnx")
    assert max(check_parity(module, path, result.spec, result.make_inputs).values()) < 1e-4


def test_run_smoke_then_resume(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.set_num_threads(1)
    ctx = Context(data=data_dir, work=tmp_path, smoke=True, seed=0, dim=DIM, embed_fn=_fake_embed)
    result = outfit.run(ctx)
    assert not result.module.training
    assert {"po_auc", "po_fitb", "md_auc", "md_baseline_cooc_fitb"} <= set(result.metrics)
    assert all(isinstance(v, float) for v in result.metrics.values())
    assert [p.name for p in result.provenance] == [
        "Polyvore Outfits (disjoint)",
        "Maryland Polyvore",
    ]

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("should have resumed from the checkpoint")

    monkeypatch.setattr(outfit, "train", no_training)
    again = outfit.run(ctx)
    assert again.metrics == result.metrics
    inputs = result.make_inputs(3)
    assert torch.allclose(again.module(*inputs)[1], result.module(*inputs)[1])


def test_features_sort_items_by_coarse_category() -> None:
    data = _tiny_data()
    cats = np.array([3, 0, 2, 0, 1] + [0] * 11)
    table = dataclasses.replace(data.items, categories=cats)
    feats = outfit.Features(dataclasses.replace(data, items=table), _fake_embed(list(table.texts)))
    vecs, mask, got = feats.tensors([(0, 1, 2, 3, 4), (2, 0)])
    assert got.tolist() == [[0, 0, 1, 2, 3], [2, 3, 0, 0, 0]]
    assert mask.tolist()[1] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert torch.allclose(vecs[1, 0], torch.from_numpy(feats.vectors(np.array([2])))[0])
    shuffled = feats.tensors([(0, 1, 2, 3, 4)], np.random.default_rng(3))[2]
    assert shuffled.tolist() == [[0, 0, 1, 2, 3]]  # training shuffles, then sorts
