"""The pure helpers of benchmarks/quality.py: ranking metrics, chance rates, report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import fashionrec_sdk as fr
from benchmarks import quality
from benchmarks._quality.alternatives import item_color
from benchmarks._quality.common import sample
from benchmarks._quality.metrics import (
    hit_at_k,
    label_lift,
    mean_se,
    ndcg_at_k,
    per_group_auc,
    random_hit_rate,
    random_ndcg,
    rank_of,
)
from benchmarks._quality.report import markdown
from benchmarks._quality.rules import outfit_slots


def test_rank_hit_and_ndcg() -> None:
    ranked = ["a", "b", "c"]
    assert rank_of("a", ranked) == 1
    assert rank_of("c", ranked) == 3
    assert rank_of("z", ranked) is None
    assert hit_at_k(3, 3) == 1.0
    assert hit_at_k(4, 3) == 0.0
    assert hit_at_k(None, 10) == 0.0
    assert ndcg_at_k(1, 10) == 1.0
    assert ndcg_at_k(3, 10) == pytest.approx(0.5)
    assert ndcg_at_k(11, 10) == 0.0
    assert ndcg_at_k(None, 10) == 0.0


@pytest.mark.parametrize("bad", [0, -1, True, 2.0])
def test_k_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(fr.InvalidInputError):
        hit_at_k(1, bad)  # type: ignore[arg-type]
    with pytest.raises(fr.InvalidInputError):
        random_hit_rate(bad, 10)  # type: ignore[arg-type]


def test_chance_rates_are_exact_expectations() -> None:
    n, k = 37, 10
    ranks = range(1, n + 1)  # the relevant item is equally likely at every rank
    assert random_hit_rate(k, n) == pytest.approx(np.mean([hit_at_k(r, k) for r in ranks]))
    assert random_ndcg(k, n) == pytest.approx(np.mean([ndcg_at_k(r, k) for r in ranks]))
    assert random_hit_rate(10, 4) == 1.0
    assert random_ndcg(10, 1) == 1.0
    with pytest.raises(fr.InvalidInputError):
        random_ndcg(10, 0)


def test_mean_se() -> None:
    m, se = mean_se([1.0, 0.0, 1.0, 0.0])
    assert m == 0.5
    assert se == pytest.approx(np.std([1, 0, 1, 0], ddof=1) / 2)
    assert mean_se([0.25]) == (0.25, 0.0)
    assert all(math.isnan(v) for v in mean_se([]))


def test_per_group_auc_skips_one_class_groups_and_splits_ties() -> None:
    scores = np.array([0.9, 0.1, 0.5, 0.5, 0.3, 0.2])
    labels = np.array([1, 0, 1, 0, 1, 1])
    groups = ["p", "p", "q", "q", "r", "r"]
    aucs = per_group_auc(scores, labels, groups)
    assert aucs == {"p": 1.0, "q": 0.5}  # r has no negative
    with pytest.raises(fr.InvalidInputError):
        per_group_auc(scores, labels, groups[:-1])
    with pytest.raises(fr.InvalidInputError):
        per_group_auc(scores, labels * 2, groups)


def test_label_lift_is_half_at_the_prior_and_monotone() -> None:
    priors = np.array([0.2, 0.7])
    lift = label_lift(np.array([[0.2, 0.7], [0.4, 0.9], [0.1, 0.5]]), priors)
    assert lift[0] == pytest.approx([0.5, 0.5])
    assert (lift[1] > 0.5).all() and (lift[2] < 0.5).all()
    assert np.isfinite(label_lift(np.array([[0.0, 1.0]]), np.array([0.0, 1.0]))).all()


def test_sample_is_seeded_sorted_and_bounded() -> None:
    a = sample(100, 10, np.random.default_rng(3))
    b = sample(100, 10, np.random.default_rng(3))
    assert a.tolist() == b.tolist() and a.tolist() == sorted(a.tolist()) and len(set(a)) == 10
    assert sample(5, None, np.random.default_rng(0)).tolist() == [0, 1, 2, 3, 4]
    assert sample(5, 50, np.random.default_rng(0)).tolist() == [0, 1, 2, 3, 4]


def test_item_color_reads_the_first_known_colour_word() -> None:
    assert item_color("dress, navy floral, fit") == "navy"
    assert item_color("shirt, Gray cotton") == "grey"
    assert item_color("dress, embroidered french") is None


def test_outfit_slots_mirror_the_recommender() -> None:
    assert "dress" not in outfit_slots({"top"}, fr.Filters())
    assert {"top", "bottom"}.isdisjoint(outfit_slots({"dress"}, fr.Filters()))
    assert outfit_slots({"top"}, fr.Filters(categories=("shoes", "top"))) == {"shoes"}


def test_markdown_renders_every_task_table() -> None:
    stat = {"mean": 0.25, "se": 0.01, "n": 4}
    ranking = {"methods": {"sdk": {"hit@10": stat, "ndcg@10": stat}}}
    report = {
        "meta": {
            "bundle": "b 1",
            "bundle_sha256": "0" * 64,
            "seed": 0,
            "quick": True,
            "seconds": 1.0,
            "smoke_bundle": True,
            "timings": {"x": 1.0},
        },
        "tasks": {
            "compatibility": {
                "md": {
                    "methods": {"sdk": {"auc": 0.6, "fitb": 0.3}},
                    "n_pairs": 2,
                    "n_test_outfits_total": 2,
                    "n_fitb_questions": 2,
                    "fitb_candidates": 4,
                }
            },
            "complete_the_look": {**ranking, "n_queries": 4, "catalog_size": 9},
            "personalization": {**ranking, "n_users": 4, "catalog_size": 9},
            "wearers": {**ranking, "n_users": 2, "catalog_size": 5},
            "physique": {
                "methods": {"sdk": {"auc_per_person": stat}},
                "n_people": 3,
                "n_test_garments": 5,
                "n_positive_pairs": 2,
                "n_pairs": 9,
                "n_knn_train_garments": 7,
                "physique_fit_max_abs_diff": 0.0,
            },
            "alternatives": {
                "methods": {"sdk": {"r@10": {"mean_over_categories": 0.1}}},
                "categories": {
                    "dress": {
                        "n_queries": 1,
                        "gallery": 3,
                        "gallery_full": 3,
                        "sdk_fewer_than_k": 0,
                        "target_rejected_by_parsed_feedback": 0,
                    }
                },
            },
            "rules": {
                "per_call": {
                    "search": {
                        "calls": 1,
                        "returned": 2,
                        "pass_pct": 100.0,
                        "calls_with_duplicates": 0,
                        "calls_fewer_than_k_when_k_eligible": 0,
                        "calls_with_k_eligible": 1,
                    }
                },
                "pass_pct": 100.0,
                "returned": 2,
                "filters": ["none"],
                "catalog_size": 3,
                "k": 10,
            },
        },
        "checks": {"split": "ok"},
    }
    text = markdown(report)
    for heading in ("## 1a.", "## 1b.", "## 2.", "## 2b.", "## 3.", "## 4.", "## 5.", "Smoke"):
        assert heading in text
    assert "0.250 ± 0.010" in text


def test_main_exits_2_without_the_data_folder(tmp_path: Path) -> None:
    code = quality.main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path)])
    assert code == 2
