"""Stage 5: the feedback composer on FashionIQ relative captions.

The model (:class:`export.models.FeedbackComposer`) maps (candidate item vector,
feedback vector) to a query vector for the target item. Item vectors are text-tower
vectors of the items' multi-turn attribute texts (see :mod:`export.stages.fashioniq`),
feedback vectors those of the two captions joined with ``" and "``. Training: in-batch
InfoNCE (temperature :data:`TEMPERATURE`) of queries against their targets; targets in
the batch with the same text as the true target are masked out (they are not negatives).

Split rule: train on the FashionIQ **train** captions of dress, shirt and toptee; test
on the FashionIQ **val** captions (the data README notes that val captions overlapping
the held-back multi-turn sessions were removed). Within a category train and val ASINs
are disjoint, but FashionIQ lists some items both as shirt and as toptee, so train
captions touching any val caption item or val gallery item are dropped
(``train_dropped_heldout_items``; ``val_train_asin_overlap`` checks the result is 0). A
seeded 10% of the train triples, grouped by target ASIN, is set aside for early stopping
(recall@10 among its targets). Only captions whose two items have an attribute text are
used; the counts are reported.

Evaluation per category: the gallery is every ASIN of the category's val image split with
a text (the FashionIQ protocol); each val query ranks the gallery by cosine with its
query vector, the candidate itself excluded; items that score exactly as the target
(identical texts) share its rank. Recall@10 and @50 are averaged over the 3 categories,
next to baselines in the same run: ``sum`` (normalize(candidate + feedback vector)),
``concat`` (text vector of ``candidate text + ", " + feedback``) and ``feedback``
(the feedback vector alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from fashionrec_sdk._manifest import Provenance
from fashionrec_sdk._physique import PHYSIQUE_LABELS

from ..context import Context, StageResult, log
from ..models import FeedbackComposer
from ..specs import export_specs
from .fashioniq import (
    CATEGORIES,
    Triple,
    load_attribute_texts,
    load_captions,
    load_gallery,
)
from .scoring import recall_at_k
from .splits import group_holdout
from .stage_cache import embedder_fingerprint, load_checkpoint, save_checkpoint

__all__ = ["PROVENANCE", "TEMPERATURE", "ComposerConfig", "info_nce", "run"]

STAGE = "composer"
NAME = "feedback_composer"
VERSION = 1
TEMPERATURE = 0.05
KS = (10, 50)
EMBED_CHUNK = 4000

_T = TypeVar("_T")

PROVENANCE = [
    Provenance(
        name="FashionIQ",
        source="Wu et al., CVPR 2021 (github.com/XiaoxiaoGuo/fashion-iq): relative captions "
        "and image splits for dress, shirt, toptee",
        licence="CDLA",
        used_for="feedback_composer (candidate + feedback -> target)",
    ),
    Provenance(
        name="Multi-turn FashionIQ attributes",
        source="Yuan & Lam, SIGIR 2021 (github.com/yfyuan01/MultiturnFashionRetrieval): "
        "per-ASIN attributes",
        licence="none stated (research)",
        used_for="feedback_composer (item texts from attributes)",
    ),
]


@dataclass(frozen=True)
class ComposerConfig:
    """Training settings (fixed, not tuned on the val captions) and smoke-run sizes."""

    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    hidden: int = 512
    early_stop_fraction: float = 0.1
    smoke_train: int = 60  # triples per category
    smoke_val: int = 25
    smoke_gallery_extra: int = 50

    @classmethod
    def for_context(cls, ctx: Context) -> ComposerConfig:
        return cls(epochs=3, patience=3) if ctx.smoke else cls()


def info_nce(
    query: torch.Tensor, target: torch.Tensor, target_ids: torch.Tensor, temperature: float
) -> torch.Tensor:
    """In-batch InfoNCE of unit ``query (B, D)`` against unit ``target (B, D)``.

    Row ``i``'s positive is target ``i``; other targets with the same ``target_ids``
    value (identical text) are masked out instead of counted as negatives.
    """
    logits = query @ target.t() / temperature
    same = target_ids.unsqueeze(0) == target_ids.unsqueeze(1)
    eye = torch.eye(len(query), dtype=torch.bool, device=query.device)
    logits = logits.masked_fill(same & ~eye, float("-inf"))
    labels = torch.arange(len(query), device=query.device)
    return F.cross_entropy(logits, labels)


@dataclass
class _Pairs:
    """Vectors of a set of triples: candidate, feedback, target and target text ids."""

    cand: torch.Tensor
    feedback: torch.Tensor
    target: torch.Tensor
    target_ids: torch.Tensor


class _Vectors:
    """Text -> vector lookup over texts embedded once, in sorted chunks (each cached)."""

    def __init__(self, ctx: Context, texts: Sequence[str], tag: str) -> None:
        unique = sorted(set(texts))
        parts = []
        for i, start in enumerate(range(0, len(unique), EMBED_CHUNK)):
            chunk = unique[start : start + EMBED_CHUNK]
            parts.append(ctx.embed(chunk, tag=f"{tag}-{i}"))
        self.row = {t: i for i, t in enumerate(unique)}
        self.vecs = np.concatenate(parts) if parts else np.zeros((0, ctx.dim), np.float32)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out: np.ndarray = self.vecs[[self.row[t] for t in texts]]
        return out


@dataclass
class _Data:
    train: list[Triple]
    embed_train: list[Triple]  # train before the held-out filter: a stable set of texts to embed
    val: dict[str, list[Triple]]
    gallery: dict[str, list[str]]
    item_text: dict[str, str]
    counts: dict[str, float]


def _sample(items: Sequence[_T], n: int, rng: np.random.Generator) -> list[_T]:
    """A seeded random subset of ``n`` items, in their original order."""
    idx = sorted(rng.permutation(len(items))[:n].tolist())
    return [items[i] for i in idx]


def _load(ctx: Context, cfg: ComposerConfig) -> _Data:
    texts = load_attribute_texts(ctx.data / "multiturn" / "attr")
    caps = ctx.data / "fashioniq" / "captions"
    train: list[Triple] = []
    val: dict[str, list[Triple]] = {}
    gallery: dict[str, list[str]] = {}
    counts: dict[str, float] = {}
    rng = ctx.rng(501)
    for cat in CATEGORIES:
        tr = load_captions(caps / f"cap.{cat}.train.json", cat, texts)
        va = load_captions(caps / f"cap.{cat}.val.json", cat, texts)
        gal = load_gallery(ctx.data / "fashioniq" / "image_splits" / f"split.{cat}.val.json", texts)
        gal_set = set(gal)
        va_triples = [t for t in va.triples if t.candidate in gal_set and t.target in gal_set]
        tr_triples = tr.triples
        if ctx.smoke:
            tr_triples = _sample(tr_triples, cfg.smoke_train, rng)
            va_triples = _sample(va_triples, cfg.smoke_val, rng)
            keep = {a for t in va_triples for a in (t.candidate, t.target)}
            extra = [a for a in gal if a not in keep]
            keep.update(_sample(extra, cfg.smoke_gallery_extra, rng))
            gal = [a for a in gal if a in keep]
        counts[f"train_{cat}_captions"] = float(tr.total)
        counts[f"train_{cat}_described"] = float(len(tr.triples))
        counts[f"val_{cat}_captions"] = float(va.total)
        counts[f"val_{cat}_described"] = float(len(va.triples))
        counts[f"gallery_{cat}"] = float(len(gal))
        train.extend(tr_triples)
        val[cat] = va_triples
        gallery[cat] = gal
    # FashionIQ lists some items both as shirt and as toptee: drop the train captions that
    # touch any held-out (val caption or val gallery) item.
    held_out = {a for gal in gallery.values() for a in gal}
    held_out.update(a for ts in val.values() for t in ts for a in (t.candidate, t.target))
    kept = [t for t in train if t.candidate not in held_out and t.target not in held_out]
    counts["train_dropped_heldout_items"] = float(len(train) - len(kept))
    overlap = {a for t in kept for a in (t.candidate, t.target)} & held_out
    counts["val_train_asin_overlap"] = float(len(overlap))
    log.info("composer data: %s", ", ".join(f"{k}={v:.0f}" for k, v in counts.items()))
    return _Data(
        train=kept, embed_train=train, val=val, gallery=gallery, item_text=texts, counts=counts
    )


def _pairs(triples: Sequence[Triple], data: _Data, items: _Vectors, fb: _Vectors) -> _Pairs:
    tgt_texts = [data.item_text[t.target] for t in triples]
    ids = {t: i for i, t in enumerate(sorted(set(tgt_texts)))}
    return _Pairs(
        cand=torch.from_numpy(items([data.item_text[t.candidate] for t in triples])),
        feedback=torch.from_numpy(fb([t.feedback for t in triples])),
        target=torch.from_numpy(items(tgt_texts)),
        target_ids=torch.tensor([ids[t] for t in tgt_texts], dtype=torch.int64),
    )


def _inner_recall(model: FeedbackComposer, pairs: _Pairs) -> float:
    """Recall@10 of held-aside train triples among their own (deduplicated) targets."""
    model.eval()
    with torch.no_grad():
        q = model(pairs.cand, pairs.feedback).numpy()
    n_unique = int(pairs.target_ids.max()) + 1
    gallery = np.zeros((n_unique, q.shape[1]), dtype=np.float32)
    gallery[pairs.target_ids.numpy()] = pairs.target.numpy()
    return recall_at_k(q @ gallery.T, pairs.target_ids.numpy(), (10,))[10]


def _train(fit: _Pairs, stop: _Pairs, cfg: ComposerConfig, seed: int, dim: int) -> FeedbackComposer:
    torch.manual_seed(seed)
    model = FeedbackComposer(dim, hidden=cfg.hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    best = (_inner_recall(model, stop), 0, {k: v.clone() for k, v in model.state_dict().items()})
    log.info("  composer: epoch 0 early-stop R@10 %.4f", best[0])
    n = len(fit.cand)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, cfg.batch_size):
            b = perm[start : start + cfg.batch_size]
            if len(b) < 2:
                continue
            q = model(fit.cand[b], fit.feedback[b])
            loss = info_nce(q, fit.target[b], fit.target_ids[b], TEMPERATURE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        score = _inner_recall(model, stop)
        log.info("  composer: epoch %d loss %.4f early-stop R@10 %.4f", epoch, total / n, score)
        if score > best[0]:
            best = (score, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        elif epoch - best[1] >= cfg.patience:
            break
    model.load_state_dict(best[2])
    model.eval()
    log.info("composer: kept epoch %d (early-stop R@10 %.4f)", best[1], best[0])
    return model


def _evaluate(
    model: FeedbackComposer, data: _Data, items: _Vectors, fb: _Vectors, concat: _Vectors
) -> dict[str, float]:
    per_cat: dict[tuple[str, int], dict[str, float]] = {}
    for cat in CATEGORIES:
        triples, gal = data.val[cat], data.gallery[cat]
        if not triples:
            continue
        index = {a: i for i, a in enumerate(gal)}
        gvecs = items([data.item_text[a] for a in gal])
        target = np.array([index[t.target] for t in triples])
        exclude = np.array([index[t.candidate] for t in triples])
        cand = items([data.item_text[t.candidate] for t in triples])
        fvec = fb([t.feedback for t in triples])
        with torch.no_grad():
            q_model = model(torch.from_numpy(cand), torch.from_numpy(fvec)).numpy()
        s = cand + fvec
        queries = {
            "val": q_model,
            "baseline_sum": s / np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-12),
            "baseline_concat": concat([_concat_text(data, t) for t in triples]),
            "baseline_feedback": fvec,
        }
        for method, q in queries.items():
            for k, v in recall_at_k(q @ gvecs.T, target, KS, exclude=exclude).items():
                per_cat.setdefault((method, k), {})[cat] = v
    metrics: dict[str, float] = {}
    for (method, k), by_cat in per_cat.items():
        metrics[f"{method}_r{k}"] = float(np.mean(list(by_cat.values())))
    for (method, k), by_cat in per_cat.items():
        metrics.update({f"{method}_{cat}_r{k}": v for cat, v in by_cat.items()})
    return metrics


def _concat_text(data: _Data, t: Triple) -> str:
    return f"{data.item_text[t.candidate]}, {t.feedback}"


def _train_and_evaluate(
    ctx: Context, cfg: ComposerConfig, text_fp: str
) -> tuple[FeedbackComposer, dict[str, float]]:
    data = _load(ctx, cfg)
    all_val = [t for ts in data.val.values() for t in ts]
    item_texts = [data.item_text[a] for t in data.embed_train for a in (t.candidate, t.target)]
    item_texts += [data.item_text[a] for gal in data.gallery.values() for a in gal]
    t0 = time.time()
    items = _Vectors(ctx, item_texts, f"fiq-items-{text_fp}")
    fb_texts = [t.feedback for t in data.embed_train + all_val]
    fb = _Vectors(ctx, fb_texts, f"fiq-feedback-{text_fp}")
    concat = _Vectors(ctx, [_concat_text(data, t) for t in all_val], f"fiq-concat-{text_fp}")
    log.info("composer: text vectors ready in %.0fs", time.time() - t0)
    fit_idx, stop_idx = group_holdout(
        [t.target for t in data.train], cfg.early_stop_fraction, ctx.rng(502)
    )
    fit = _pairs([data.train[i] for i in fit_idx], data, items, fb)
    stop = _pairs([data.train[i] for i in stop_idx], data, items, fb)
    model = _train(fit, stop, cfg, ctx.seed, ctx.dim)
    metrics = _evaluate(model, data, items, fb, concat)
    metrics.update(data.counts)
    metrics["train_pairs"] = float(len(data.train))
    metrics["val_pairs"] = float(len(all_val))
    return model, metrics


def _make_inputs(dim: int) -> Callable[[int], tuple[torch.Tensor, ...]]:
    def make(batch: int) -> tuple[torch.Tensor, ...]:
        gen = torch.Generator().manual_seed(2000 + batch)
        item = F.normalize(torch.randn(batch, dim, generator=gen), dim=1)
        feedback = F.normalize(torch.randn(batch, dim, generator=gen), dim=1)
        return item, feedback

    return make


def _result(model: FeedbackComposer, metrics: dict[str, float], dim: int) -> StageResult:
    model.eval()
    return StageResult(
        name=NAME,
        module=model,
        spec=export_specs(dim, dim, len(PHYSIQUE_LABELS), 8)[NAME],
        make_inputs=_make_inputs(dim),
        metrics=metrics,
        provenance=list(PROVENANCE),
    )


def run(ctx: Context) -> StageResult:
    """Train and evaluate the feedback composer; reuses a finished run under ``work/composer``."""
    t0 = time.time()
    cfg = ComposerConfig.for_context(ctx)
    text_fp = embedder_fingerprint(ctx.embed_fn, ctx.embed_id)
    key = {
        "version": VERSION,
        "smoke": ctx.smoke,
        "seed": ctx.seed,
        "text": text_fp,
        "cfg": repr(cfg),
    }
    path = ctx.stage_dir(STAGE) / "feedback_composer.pt"
    saved = load_checkpoint(path, key)
    if saved is not None:
        model = FeedbackComposer(ctx.dim, hidden=cfg.hidden)
        model.load_state_dict(saved["state_dict"])
        log.info("composer: reusing %s", path)
        return _result(model, dict(saved["metrics"]), ctx.dim)
    model, metrics = _train_and_evaluate(ctx, cfg, text_fp)
    save_checkpoint(path, key, model.state_dict(), metrics)
    log.info("composer: trained and evaluated in %.0fs", time.time() - t0)
    return _result(model, metrics, ctx.dim)
