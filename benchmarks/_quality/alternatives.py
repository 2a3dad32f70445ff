"""Task 4: alternatives from natural-language feedback on FashionIQ val captions.

Split rule (the composer stage's, :mod:`export.stages.composer`): the feedback composer
trained on the FashionIQ *train* captions; here only the *val* captions are queried,
over the *val* image-split gallery of their category (ASINs disjoint from the train
captions'). Items are described by their multi-turn attribute texts, captions joined
with " and ", and only captions whose candidate and target are both in the gallery
with a text are kept (exactly the stage's filtering, via its public loaders). A seeded
subset of the captions is queried per category (300 full, 40 quick); ``--quick`` also
shrinks each gallery to the queried items plus random others (``QUICK_GALLERY`` in
all), so its recalls are higher than the full run's.

One catalog per FashionIQ category (``Catalog.build``; shirt and toptee are both
``top`` to the SDK, so they are kept apart as in the protocol). A product's colour is
the first colour word of its text, as a shop's feed would carry it; the SDK turns
colour words in the feedback into hard filters.

The SDK: ``Recommender.alternatives([candidate], replace=candidate, feedback=caption,
k=50)``; recall@10/@50 of the target (by id, and "same text": any returned item with
the target's text, since many gallery items share one attribute text). Baselines in the
same run, the candidate excluded: ``Recommender.search(candidate text + ", " +
caption)``, ``Catalog.search_vector(normalize(candidate vector + caption vector))`` and
chance (``k / (gallery - 1)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

import fashionrec_sdk as fr
from export.stages.fashioniq import (
    CATEGORIES,
    Triple,
    load_attribute_texts,
    load_captions,
    load_gallery,
)
from fashionrec_sdk._parser import COLORS

from .common import Run, sample, summarize
from .metrics import hit_at_k, random_hit_rate, rank_of

__all__ = ["ValSplit", "evaluate_alternatives", "item_color", "load_val"]

SDK_CATEGORY = {"dress": "dress", "shirt": "shirt", "toptee": "top"}
QUERIES = {True: 40, False: 300}
QUICK_GALLERY = 300
KS = (10, 50)
_ALIASES = {"gray": "grey"}


@dataclass
class ValSplit:
    """One category's val captions (the kept ones) and gallery, with the item texts."""

    category: str
    triples: list[Triple]
    gallery: list[str]
    n_described: int  # captions whose two items have a text (before the gallery filter)


def item_color(text: str) -> str | None:
    """The first colour word of ``text`` known to the request parser, or ``None``."""
    words: list[str] = re.findall(r"[a-z]+", text.lower())
    for word in words:
        color = _ALIASES.get(word, word)
        if color in COLORS:
            return color
    return None


def load_val(run: Run) -> tuple[dict[str, str], list[ValSplit]]:
    """Item texts and the val split of every category, filtered as the stage does.

    A thin wrapper of the stage's private ``_load`` (which also loads the train
    captions), built on the same public loaders of :mod:`export.stages.fashioniq`.
    """
    texts = load_attribute_texts(run.data / "multiturn" / "attr")
    splits = []
    for cat in CATEGORIES:
        va = load_captions(run.data / "fashioniq" / "captions" / f"cap.{cat}.val.json", cat, texts)
        gal = load_gallery(run.data / "fashioniq" / "image_splits" / f"split.{cat}.val.json", texts)
        in_gallery = set(gal)
        kept = [t for t in va.triples if t.candidate in in_gallery and t.target in in_gallery]
        splits.append(ValSplit(cat, kept, gal, len(va.triples)))
    return texts, splits


def _queries_and_gallery(
    run: Run, split: ValSplit, salt: int
) -> tuple[list[Triple], list[str], int]:
    picked = sample(len(split.triples), QUERIES[run.quick], run.rng(406 + salt))
    triples = [split.triples[i] for i in picked]
    if not run.quick:
        return triples, split.gallery, len(split.gallery)
    keep = {a for t in triples for a in (t.candidate, t.target)}
    others = [a for a in split.gallery if a not in keep]
    extra = sample(len(others), max(0, QUICK_GALLERY - len(keep)), run.rng(409 + salt))
    keep.update(others[i] for i in extra)
    return triples, [a for a in split.gallery if a in keep], len(split.gallery)


def _parsed_filters(feedback: str) -> fr.Filters:
    """The hard filters the recommender derives from ``feedback`` (prices aside)."""
    c = fr.parse_request(feedback)
    return fr.Filters(
        categories=c.categories or None,
        colors=c.colors or None,
        exclude_colors=c.exclude_colors or None,
        sizes=c.sizes or None,
        gender=c.gender,
    )


class _Recall:
    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add(self, method: str, ranked: list[fr.Product], target: fr.Product, kept: bool) -> None:
        """Record one query; ``kept``: the feedback's parsed filters accept the target."""
        id_rank = rank_of(target.id, [p.id for p in ranked])
        text_rank = rank_of(target.title, [p.title for p in ranked])
        for k in KS:
            self._put(method, f"r@{k}", hit_at_k(id_rank, k))
            self._put(method, f"r@{k}_same_text", hit_at_k(text_rank, k))
            if kept:
                self._put(method, f"r@{k}_target_kept", hit_at_k(id_rank, k))

    def add_chance(self, n: int, kept: bool) -> None:
        for k in KS:
            metrics = ["", "_same_text", *(["_target_kept"] if kept else [])]
            for suffix in metrics:
                self._put("baseline_random", f"r@{k}{suffix}", random_hit_rate(k, n))

    def _put(self, method: str, metric: str, value: float) -> None:
        self.values.setdefault(f"{method}|{metric}", []).append(value)


def _evaluate_category(
    run: Run, split: ValSplit, texts: dict[str, str], salt: int
) -> dict[str, Any]:
    triples, gallery, full_size = _queries_and_gallery(run, split, salt)
    products = {
        a: fr.Product(
            id=a,
            title=texts[a],
            category=SDK_CATEGORY[split.category],
            color=item_color(texts[a]),
        )
        for a in gallery
    }
    catalog = fr.Catalog.build(list(products.values()), bundle=run.bundle, show_progress=False)
    rec = fr.Recommender(catalog)
    encoder = run.stylist.text_encoder
    recall = _Recall()
    rejected = short = 0
    k = max(KS)
    for t in triples:
        cand, target = products[t.candidate], products[t.target]
        alts = rec.alternatives([cand.id], replace=cand.id, feedback=t.feedback, k=k)
        kept = _parsed_filters(t.feedback).accepts(target)
        recall.add("sdk_alternatives", [r.product for r in alts], target, kept)
        short += len(alts) < k
        rejected += not kept
        not_cand = fr.Filters(exclude_ids=frozenset({cand.id}))
        found = rec.search(f"{texts[t.candidate]}, {t.feedback}", k=k, filters=not_cand)
        recall.add("baseline_concat_search", [r.product for r in found], target, kept)
        q = catalog.vectors([cand.id])[0] + encoder.encode(t.feedback)
        hits = catalog.search_vector(q / max(float(np.linalg.norm(q)), 1e-12), k, not_cand)
        recall.add("baseline_sum_vectors", [h.product for h in hits], target, kept)
        recall.add_chance(len(catalog) - 1, kept)
    return {
        "values": recall.values,
        "n_queries": len(triples),
        "n_captions_described": split.n_described,
        "n_captions_kept": len(split.triples),
        "gallery": len(catalog),
        "gallery_full": full_size,
        "sdk_fewer_than_k": short,
        "target_rejected_by_parsed_feedback": rejected,
    }


def evaluate_alternatives(run: Run) -> dict[str, Any]:
    """Recall@10/@50 per category and averaged over the three categories."""
    texts, splits = load_val(run)
    per_cat = {s.category: _evaluate_category(run, s, texts, i) for i, s in enumerate(splits)}
    methods: dict[str, dict[str, Any]] = {}
    keys = dict.fromkeys(k for r in per_cat.values() for k in r["values"])
    for key in keys:
        method, metric = key.split("|")
        means = {c: summarize(r["values"][key]) for c, r in per_cat.items() if key in r["values"]}
        methods.setdefault(method, {})[metric] = {
            "mean_over_categories": round(float(np.mean([m["mean"] for m in means.values()])), 4),
            "per_category": {c: m["mean"] for c, m in means.items()},
        }
    info = {c: {k: v for k, v in r.items() if k != "values"} for c, r in per_cat.items()}
    return {"methods": methods, "categories": info, "ks": list(KS)}
