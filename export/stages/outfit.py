"""Stage 3: the FCN outfit encoder + compatibility head, trained on Polyvore.

Inputs are what the runtime feeds: item text vectors (runtime text encoder, via
``ctx.embed``), an item mask and coarse category ids. Training is binary compatibility
(BCE): every training outfit against one fresh negative per epoch, built from *training*
items only by replacing every item (or, with prob. ``1 - p_full``, one item) with a
random item of the same group (Polyvore Outfits semantic category / Maryland slot).
Items are fed sorted by coarse category id (stable sort): **the runtime must sort the
same way**. AdamW with warm-up + cosine decay over a fixed number of epochs (stopped
early only if ``max_train_seconds`` runs out); the epoch with the best mean validation
AUC (weighted by validation pairs) is kept.

Split rule (nothing of the test data is used for training or model selection):

* Polyvore Outfits (``po_*``), disjoint split: train = ``disjoint/train_pos``,
  validation = ``disjoint/valid_pos`` (+ resampled negatives), test =
  ``disjoint/test_pos``. The disjoint split shares no outfit and only 84 of ~70k test
  items with training. ``po_auc`` uses the official ``test_neg``, whose replacements keep
  the fine category in 68 % of positions (see :mod:`.polyvore`): with fine-category names
  as the only item text it is close to chance for every text method.
  ``po_auc_resampled`` pairs each test positive with a seeded negative built like the
  training ones (every item -> random same-semantic-category *test* item).
* Maryland Polyvore (``md_*``): train = ``valid_no_dup_with_category_3more_name.json``
  minus a seeded 10 % (validation); test = ``test_dev_half.json`` (other outfits; items
  are keyed per outfit, a title may recur). Test negatives: every item replaced by a
  random same-slot item of the test split (seeded, one per positive).
* FITB: one question per test outfit, a seeded random blank, the true item vs 3
  distractors of the same coarse category drawn from the test items that never occur in
  a training outfit (ties split the credit).
* Baselines, measured on the same pairs/questions in the same run: random scores, mean
  pairwise cosine of the item text vectors, and pairwise category co-occurrence log-odds
  (training positives vs resampled training negatives; fine category for Polyvore
  Outfits, coarse category for Maryland).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from fashionrec_sdk._categories import COARSE_CATEGORIES
from fashionrec_sdk._errors import InvalidInputError
from fashionrec_sdk._manifest import Provenance
from fashionrec_sdk._physique import PHYSIQUE_LABELS

from ..context import Context, StageResult, log
from ..models import OutfitEncoder
from ..specs import export_specs
from .outfit_eval import (
    CooccurrencePrior,
    Scorer,
    compatibility_auc,
    cosine_scorer,
    fitb_accuracy,
    make_fitb_questions,
    random_scorer,
)
from .polyvore import Outfit, OutfitData, corrupt, load_maryland, load_polyvore_outfits
from .stage_cache import embedder_fingerprint, load_checkpoint, save_checkpoint

__all__ = ["PROVENANCE", "OutfitConfig", "make_inputs", "run"]

PROVENANCE = [
    Provenance(
        name="Polyvore Outfits (disjoint)",
        source="Vasileva et al., ECCV 2018 (../shared/data/polyvore_outfits)",
        licence="MIT (processing repo); data research-only",
        used_for="outfit encoder: compatibility training (train), model selection (valid), test",
    ),
    Provenance(
        name="Maryland Polyvore",
        source="Han et al., ACM MM 2017 (../shared/data/polyvore_maryland)",
        licence="MIT / Apache-2.0 (repos); data research-only",
        used_for="outfit encoder: compatibility training on item titles, held-out test",
    ),
]
_VERSION = 2


@dataclass(frozen=True)
class OutfitConfig:
    """Everything that decides the trained weights (a checkpoint is reused only if equal)."""

    seed: int
    smoke: bool
    text: str = ""  # text tower fingerprint: new item vectors -> retrain
    dim: int = 384
    channels: int = 128
    kernel_sizes: tuple[int, ...] = (1, 2, 3)
    dropout: float = 0.1
    epochs: int = 20
    max_train_seconds: float = 450.0
    batch_size: int = 256
    lr: float = 6e-3
    weight_decay: float = 1e-4
    p_full: float = 1.0
    md_repeat: int = 2
    order: str = "category"
    po_limits: dict[str, int] = field(default_factory=dict)
    md_limits: dict[str, int] = field(default_factory=dict)
    version: int = _VERSION

    @classmethod
    def for_context(cls, ctx: Context) -> OutfitConfig:
        """The full or smoke configuration of ``ctx`` (with its text tower fingerprint)."""
        text = embedder_fingerprint(ctx.embed_fn)
        if ctx.smoke:
            return cls(
                seed=ctx.seed,
                smoke=True,
                text=text,
                dim=ctx.dim,
                epochs=2,
                po_limits={"train": 1000, "valid": 200, "test": 400},
                md_limits={"train": 60, "valid": 16, "test": 40},
            )
        return cls(seed=ctx.seed, smoke=False, text=text, dim=ctx.dim)

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["kernel_sizes"] = list(self.kernel_sizes)
        return d


# ---------------------------------------------------------------- features


class Features:
    """Turns outfits of one data set into the encoder's three input tensors.

    ``order``: ``"category"`` sorts the items of an outfit by coarse category id (stable;
    the contract the runtime must follow), ``"data"`` keeps the given order, ``"shuffle"``
    keeps it too but training shuffles. In training (``rng`` given) items are shuffled
    before the stable sort.
    """

    def __init__(self, data: OutfitData, text_vectors: np.ndarray, order: str = "category") -> None:
        if order not in ("category", "data", "shuffle"):
            raise InvalidInputError(f"unknown item order {order!r}", field="order")
        self.order = order
        self.data = data
        self.text_vectors = text_vectors.astype(np.float32)
        self.text_ids = data.items.text_ids
        self.categories = data.items.categories

    def vectors(self, items: np.ndarray) -> np.ndarray:
        """Unit text vectors of item indices ``(n,) -> (n, D)``."""
        out: np.ndarray = self.text_vectors[self.text_ids[items]]
        return out

    def tensors(
        self, outfits: Sequence[Outfit], rng: np.random.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(item_vectors (B,T,D), item_mask (B,T), categories (B,T))``; ``rng`` shuffles items."""
        length = max(len(o) for o in outfits)
        idx = np.full((len(outfits), length), -1, dtype=np.int64)
        for row, outfit in enumerate(outfits):
            items = np.asarray(outfit, dtype=np.int64)
            if rng is not None and self.order != "data":
                items = rng.permutation(items)
            if self.order == "category":
                items = items[np.argsort(self.categories[items], kind="stable")]
            idx[row, : len(items)] = items
        mask = idx >= 0
        safe = np.where(mask, idx, 0)
        vecs = self.vectors(safe) * mask[..., None]
        cats = np.where(mask, self.categories[safe], 0)
        return (
            torch.from_numpy(vecs.astype(np.float32)),
            torch.from_numpy(mask.astype(np.float32)),
            torch.from_numpy(cats),
        )


def model_scorer(module: OutfitEncoder, features: Features, batch_size: int = 1024) -> Scorer:
    """A :data:`Scorer` returning the compatibility logit of ``module``."""

    def score(outfits: Sequence[Outfit]) -> np.ndarray:
        out = np.zeros(len(outfits), dtype=np.float64)
        module.eval()
        with torch.no_grad():
            for start in range(0, len(outfits), batch_size):
                chunk = outfits[start : start + batch_size]
                out[start : start + len(chunk)] = module(*features.tensors(chunk))[1].numpy()
        return out

    return score


def make_inputs(
    batch: int, dim: int = 384, items: int = 6, n_categories: int = len(COARSE_CATEGORIES)
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded example inputs of ``batch`` outfits of 1..``items`` items (for export/parity)."""
    g = torch.Generator().manual_seed(1000 + batch)
    lengths = torch.randint(1, items + 1, (batch,), generator=g)
    mask = (torch.arange(items)[None, :] < lengths[:, None]).float()
    vecs = F.normalize(torch.randn(batch, items, dim, generator=g), dim=-1) * mask[..., None]
    cats = torch.randint(0, n_categories, (batch, items), generator=g) * mask.long()
    return vecs, mask, cats


# ---------------------------------------------------------------- training


def _negatives(
    data: OutfitData, pool: np.ndarray, cfg: OutfitConfig, rng: np.random.Generator
) -> list[Outfit]:
    full = rng.random(len(data.train)) < cfg.p_full
    groups = data.items.groups
    all_neg = corrupt([o for o, f in zip(data.train, full, strict=True) if f], groups, pool, rng)
    one_neg = corrupt(
        [o for o, f in zip(data.train, full, strict=True) if not f], groups, pool, rng, 1
    )
    it_all, it_one = iter(all_neg), iter(one_neg)
    return [next(it_all) if f else next(it_one) for f in full]


def _valid_auc(module: OutfitEncoder, feats: dict[str, Features]) -> dict[str, float]:
    return {
        name: compatibility_auc(model_scorer(module, f), f.data.valid_pos, f.data.valid_neg)
        for name, f in feats.items()
    }


def _new_module(cfg: OutfitConfig) -> OutfitEncoder:
    return OutfitEncoder(
        cfg.dim, len(COARSE_CATEGORIES), cfg.channels, cfg.kernel_sizes, cfg.dropout
    )


def train(feats: dict[str, Features], cfg: OutfitConfig) -> tuple[OutfitEncoder, dict[str, float]]:
    """Train on the training outfits of every data set; keep the best validation epoch."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 31)
    module = _new_module(cfg)
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    pools = {name: f.data.pool("train") for name, f in feats.items()}
    repeats = {"md": cfg.md_repeat}
    steps_per_epoch = sum(
        repeats.get(n, 1) * math.ceil(2 * len(f.data.train) / cfg.batch_size)
        for n, f in feats.items()
    )
    total_steps = cfg.epochs * steps_per_epoch
    warmup = max(1, total_steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda step: (
            min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / total_steps))
        ),
    )
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, -1, {})
    history: dict[str, float] = {}
    t0 = time.time()
    epoch = 0
    for epoch in range(cfg.epochs):
        batches: list[tuple[str, list[Outfit], np.ndarray]] = []
        for name, f in feats.items():
            for _ in range(repeats.get(name, 1)):
                pos = f.data.train
                neg = _negatives(f.data, pools[name], cfg, rng)
                rows = [*pos, *neg]
                labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))].astype(np.float32)
                # Bucket by length (random within a length) so batches carry little padding.
                sizes = np.array([len(r) for r in rows])
                order = np.lexsort((rng.random(len(rows)), sizes))
                for s in range(0, len(rows), cfg.batch_size):
                    sel = order[s : s + cfg.batch_size]
                    batches.append((name, [rows[i] for i in sel], labels[sel]))
        module.train()
        total, count = 0.0, 0
        for b in rng.permutation(len(batches)):
            name, outfits, labels = batches[b]
            inputs = feats[name].tensors(outfits, rng)
            logits = module(*inputs)[1]
            loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(labels))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(labels)
            count += len(labels)
        valid = _valid_auc(module, feats)
        # Weighted by validation pairs (3,000 Polyvore Outfits vs 120 Maryland): less noise.
        weights = [len(feats[n].data.valid_pos) for n in valid]
        mean_auc = float(np.average(list(valid.values()), weights=weights))
        log.info(
            "outfit epoch %d/%d: loss %.4f, valid AUC %s (%.0fs)",
            epoch + 1,
            cfg.epochs,
            total / count,
            ", ".join(f"{k}={v:.4f}" for k, v in valid.items()),
            time.time() - t0,
        )
        if mean_auc > best[0]:
            state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            best = (mean_auc, epoch + 1, state)
            history = {f"{k}_valid_auc": v for k, v in valid.items()}
        if time.time() - t0 > cfg.max_train_seconds and epoch + 1 < cfg.epochs:
            log.warning("outfit: time budget spent, stopping after epoch %d", epoch + 1)
            break
    module.load_state_dict(best[2])
    module.eval()
    history.update(
        best_epoch=float(best[1]), epochs_run=float(epoch + 1), train_seconds=time.time() - t0
    )
    return module, history


# ---------------------------------------------------------------- evaluation


def evaluate(name: str, scorer: Scorer, feats: Features, seed: int) -> dict[str, float]:
    """Held-out AUC + FITB of ``scorer`` and the three baselines on ``feats.data``'s test split."""
    data = feats.data
    train_items = data.pool("train")
    held_out = np.setdiff1d(data.pool("test"), train_items)
    questions = make_fitb_questions(
        data.test_pos, data.items.categories, held_out, np.random.default_rng(seed + 7)
    )
    prior = CooccurrencePrior(data.items.fine, data.train, data.train_neg)
    scorers: dict[str, Scorer] = {
        "": scorer,
        "baseline_random_": random_scorer(seed + 11),
        "baseline_cosine_": cosine_scorer(feats.vectors),
        "baseline_cooc_": prior,
    }
    negatives = {"auc": data.test_neg}
    if data.test_neg_resampled:
        negatives["auc_resampled"] = data.test_neg_resampled
    out: dict[str, float] = {}
    for prefix, fn in scorers.items():
        for key, neg in negatives.items():
            out[f"{name}_{prefix}{key}"] = compatibility_auc(fn, data.test_pos, neg)
        out[f"{name}_{prefix}fitb"] = fitb_accuracy(fn, questions)
    out[f"{name}_n_test_pairs"] = float(len(data.test_pos))
    out[f"{name}_n_fitb_questions"] = float(len(questions))
    out[f"{name}_n_train_outfits"] = float(len(data.train))
    out[f"{name}_test_items_also_in_train"] = float(
        len(np.intersect1d(data.pool("test"), train_items))
    )
    return out


# ---------------------------------------------------------------- stage


def _load_data(ctx: Context, cfg: OutfitConfig) -> dict[str, Features]:
    po = load_polyvore_outfits(ctx.data / "polyvore_outfits", ctx.rng(301), cfg.po_limits)
    md = load_maryland(ctx.data / "polyvore_maryland", ctx.rng(302), cfg.md_limits)
    feats = {}
    for data in (po, md):
        # Sorted, so that the on-disk embedding cache survives a change of item order.
        texts = sorted(data.items.texts)
        vecs = ctx.embed(texts, tag=f"outfit-{data.name}-{cfg.text}")
        row = {t: i for i, t in enumerate(texts)}
        feats[data.name] = Features(data, vecs[[row[t] for t in data.items.texts]], cfg.order)
        log.info(
            "outfit data %s: %d train / %d valid / %d test outfits, %d items, %d texts",
            data.name,
            len(data.train),
            len(data.valid_pos),
            len(data.test_pos),
            len(data.items),
            len(data.items.texts),
        )
    return feats


def _result(module: OutfitEncoder, metrics: dict[str, float], dim: int) -> StageResult:
    module.eval()
    # n_labels / image_size do not enter the outfit encoder's spec.
    spec = export_specs(dim, int(module.out_dim), len(PHYSIQUE_LABELS), 224)["outfit_encoder"]
    return StageResult(
        name="outfit_encoder",
        module=module,
        spec=spec,
        make_inputs=lambda batch: make_inputs(batch, dim),
        metrics=metrics,
        provenance=list(PROVENANCE),
        extra={"item_order": "items sorted by coarse category id (stable sort)"},
    )


def run(ctx: Context) -> StageResult:
    """Train (or reload) the outfit encoder and evaluate it on held-out Polyvore data.

    The checkpoint ``<work>/outfit/outfit_encoder.pt`` (+ ``metrics.json``) is reused when
    its key (the whole :class:`OutfitConfig`, text tower fingerprint included) matches.
    """
    cfg = OutfitConfig.for_context(ctx)
    path = ctx.stage_dir("outfit") / "outfit_encoder.pt"
    saved = load_checkpoint(path, cfg.to_json())
    if saved is not None:
        module = _new_module(cfg)
        module.load_state_dict(saved["state_dict"])
        log.info("outfit: reusing checkpoint %s", path)
        return _result(module, {k: float(v) for k, v in saved["metrics"].items()}, cfg.dim)
    feats = _load_data(ctx, cfg)
    module, metrics = train(feats, cfg)
    for name, f in feats.items():
        metrics.update(evaluate(name, model_scorer(module, f), f, ctx.seed))
    save_checkpoint(path, cfg.to_json(), module.state_dict(), metrics)
    return _result(module, metrics, cfg.dim)
