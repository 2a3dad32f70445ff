"""Stage 4: the physique ML-GCN on ViBE (which body types wear which garments).

Each ViBE garment (dress or top, one colour) is an input; its targets are the
multi-hot union of the physique labels (:data:`~fashionrec_sdk._physique.PHYSIQUE_LABELS`)
of the fashion models who wore it (see :mod:`export.stages.vibe`). The input vector is
the frozen outfit encoder (``ctx.results["outfit"]``) applied to the garment as a
one-item outfit (text vector of "product name. description", category ``dress`` or
``top``). The label graph is built from label co-occurrence over the training garments,
the label nodes are text-tower vectors of :data:`LABEL_PHRASES`.

Held-out evaluations (seeded with ``ctx.seed``), each with baselines in the same run:

(a) **held-out garments**: garments are grouped by product (kind + name without colour
    or variant number, so colour variants with the same text and wearers stay together);
    a random 20% of the products are the test set, the rest train.
(b) **held-out people**: the people (``model.json`` entries plus the wearers missing from
    it) are shuffled and cut into 5 folds of ~20%. For each fold a model trains on the
    garments none of whose wearers are in the fold and is tested on the garments all of
    whose wearers are in the fold (garments with both kinds of wearer are in neither).
    Metrics are computed per fold and averaged over the folds (a label's AUC over the
    folds where it has positives and negatives), so everyone is held out once. Pooling
    the folds' predictions instead would mix folds whose test label rates differ
    systematically from their training rates (leaving people out shifts both), which
    pushes every method, the baselines included, below chance.

In every training set a random 10% of the products is set aside for early stopping;
label graph, label prior and nearest neighbours come from the training garments only.
Metrics: mAP (macro over labels with positives and negatives in the test set) and
per-label ROC AUC, for the model and for two baselines: ``prior`` (each label's training
positive rate as the score) and ``knn`` (mean targets of the 10 most cosine-similar
training garments by text vector). The shipped model is the one of split (a); its
training label priors are returned as ``prior_<label>``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashionrec_sdk._categories import COARSE_CATEGORIES
from fashionrec_sdk._manifest import Provenance
from fashionrec_sdk._physique import PHYSIQUE_LABELS

from ..context import Context, StageResult, log
from ..models import OutfitEncoder, PhysiqueGCN, normalized_adjacency
from ..specs import export_specs
from .scoring import multilabel_scores
from .splits import group_holdout
from .stage_cache import embedder_fingerprint, load_checkpoint, module_fingerprint, save_checkpoint
from .vibe import KINDS, Garment, extract_vibe, load_garments, load_people

__all__ = [
    "LABEL_PHRASES",
    "PROVENANCE",
    "TrainConfig",
    "knn_scores",
    "outfit_vectors",
    "people_folds",
    "run",
    "targets",
]

STAGE = "physique"
NAME = "physique_gcn"
VERSION = 1
TEST_FRACTION = 0.2
EARLY_STOP_FRACTION = 0.1
PEOPLE_FOLDS = 5
KNN_K = 10
SMOKE_GARMENTS = 200

PROVENANCE = Provenance(
    name="ViBE",
    source="Hsiao & Grauman, CVPR 2020 (github.com/wei-lin-hsiao/ViBE): birdsnest.com.au "
    "dresses and tops, descriptions and the body measurements of the models who wore them",
    licence="MIT",
    used_for="physique_gcn (garment -> body-shape/height/size labels of its wearers)",
)

#: Descriptive phrase per label; its text vector is the label's node in the graph.
LABEL_PHRASES: dict[str, str] = {
    "hourglass": "clothes for an hourglass body shape",
    "pear": "clothes for a pear shaped body with wider hips",
    "inverted_triangle": "clothes for an inverted triangle body shape with broad shoulders",
    "apple": "clothes for an apple shaped body with a fuller waist",
    "rectangle": "clothes for a straight rectangle body shape",
    "petite": "clothes for petite short women",
    "average_height": "clothes for women of average height",
    "tall": "clothes for tall women",
    "size_small": "small size clothes for a slim body",
    "size_medium": "medium size clothes",
    "size_large": "large size clothes for a curvy plus size body",
}


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (fixed, not tuned on any test split)."""

    epochs: int = 80
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10
    hidden: int = 256


def targets(garments: Sequence[Garment], labels: Sequence[str] = PHYSIQUE_LABELS) -> np.ndarray:
    """Multi-hot ``(N, L)`` float32 targets in ``labels`` order."""
    index = {name: j for j, name in enumerate(labels)}
    y = np.zeros((len(garments), len(labels)), dtype=np.float32)
    for i, g in enumerate(garments):
        for name in g.labels:
            y[i, index[name]] = 1.0
    return y


def people_folds(
    garments: Sequence[Garment], n_folds: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray, frozenset[str]]]:
    """Leave-people-out folds ``(train_idx, test_idx, held_out_people)``.

    Train: garments none of whose wearers are held out. Test: garments all of whose
    wearers are held out.
    """
    people = sorted({w for g in garments for w in g.wearers})
    order = rng.permutation(people).tolist()
    folds = []
    for k in range(n_folds):
        held = frozenset(order[k::n_folds])
        train = [i for i, g in enumerate(garments) if not held.intersection(g.wearers)]
        test = [i for i, g in enumerate(garments) if held.issuperset(g.wearers)]
        folds.append((np.array(train, dtype=np.int64), np.array(test, dtype=np.int64), held))
    return folds


def knn_scores(
    train_vecs: np.ndarray, train_y: np.ndarray, test_vecs: np.ndarray, k: int
) -> np.ndarray:
    """Mean targets of the ``k`` most cosine-similar training rows (unit vectors in)."""
    k = min(k, len(train_vecs))
    sims = test_vecs @ train_vecs.T
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    out: np.ndarray = train_y[top].mean(axis=1)
    return out


def outfit_vectors(
    encoder: OutfitEncoder, item_vecs: np.ndarray, categories: Sequence[int]
) -> np.ndarray:
    """Outfit vectors ``(N, out_dim)`` of each item as a one-item outfit (frozen encoder)."""
    encoder.eval()
    out = []
    cats = torch.tensor(list(categories), dtype=torch.int64)
    with torch.no_grad():
        for start in range(0, len(item_vecs), 512):
            x = torch.from_numpy(np.ascontiguousarray(item_vecs[start : start + 512])).unsqueeze(1)
            mask = torch.ones(x.shape[0], 1)
            vec, _ = encoder(x, mask, cats[start : start + 512].unsqueeze(1))
            out.append(vec.numpy())
    return np.concatenate(out).astype(np.float32)


@dataclass
class _Data:
    garments: list[Garment]
    text_vecs: np.ndarray  # (N, D) unit vectors, for the kNN baseline
    x: np.ndarray  # (N, out_dim) outfit vectors, the model input
    y: np.ndarray  # (N, L)
    label_emb: torch.Tensor  # (L, D)


def _prior(y: np.ndarray) -> np.ndarray:
    out: np.ndarray = y.mean(axis=0)
    return out


def _bce(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(F.binary_cross_entropy_with_logits(model(x), y))


def _train_gcn(
    data: _Data, train_idx: np.ndarray, cfg: TrainConfig, seed: int, epochs: int | None = None
) -> PhysiqueGCN:
    """Train a :class:`PhysiqueGCN` on ``train_idx`` (10% of its products for early stopping)."""
    groups = [data.garments[i].product for i in train_idx]
    fit_pos, val_pos = group_holdout(groups, EARLY_STOP_FRACTION, np.random.default_rng(seed))
    fit_idx, val_idx = train_idx[fit_pos], train_idx[val_pos]
    y_fit = torch.from_numpy(data.y[fit_idx])
    adjacency = normalized_adjacency(y_fit.t() @ y_fit)
    torch.manual_seed(seed)
    model = PhysiqueGCN(data.label_emb, adjacency, in_dim=data.x.shape[1], hidden=cfg.hidden)
    prior = y_fit.mean(dim=0).clamp(0.01, 0.99)
    with torch.no_grad():
        model.bias.copy_(torch.log(prior / (1 - prior)))
    x_fit = torch.from_numpy(data.x[fit_idx])
    x_val, y_val = torch.from_numpy(data.x[val_idx]), torch.from_numpy(data.y[val_idx])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    best = (_bce(model, x_val, y_val), 0, {k: v.clone() for k, v in model.state_dict().items()})
    for epoch in range(1, (epochs or cfg.epochs) + 1):
        model.train()
        perm = torch.randperm(len(x_fit), generator=gen)
        for start in range(0, len(perm), cfg.batch_size):
            b = perm[start : start + cfg.batch_size]
            loss = F.binary_cross_entropy_with_logits(model(x_fit[b]), y_fit[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val = _bce(model, x_val, y_val)
        if val < best[0]:
            best = (val, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        elif epoch - best[1] >= cfg.patience:
            break
    model.load_state_dict(best[2])
    model.eval()
    log.info(
        "  physique: %d fit / %d early-stop garments, best epoch %d (val BCE %.4f)",
        len(fit_idx),
        len(val_idx),
        best[1],
        best[0],
    )
    return model


def _predict(model: PhysiqueGCN, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out: np.ndarray = torch.sigmoid(model(torch.from_numpy(x))).numpy()
    return out


def _evaluate(
    data: _Data,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    cfg: TrainConfig,
    seed: int,
    epochs: int | None,
) -> tuple[PhysiqueGCN, dict[str, np.ndarray]]:
    """Train on ``train_idx``; scores of the model and the baselines on ``test_idx``."""
    model = _train_gcn(data, train_idx, cfg, seed, epochs)
    y_tr = data.y[train_idx]
    preds = {
        "model": _predict(model, data.x[test_idx]),
        "baseline_prior": np.tile(_prior(y_tr), (len(test_idx), 1)),
        "baseline_knn": knn_scores(
            data.text_vecs[train_idx], y_tr, data.text_vecs[test_idx], KNN_K
        ),
    }
    return model, preds


def _score(prefix: str, y: np.ndarray, preds: dict[str, np.ndarray]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for method, scores in preds.items():
        res = multilabel_scores(y, scores, PHYSIQUE_LABELS)
        tag = "" if method == "model" else f"{method}_"
        metrics[f"{prefix}_{tag}map"] = res.mean_ap
        if method != "baseline_prior":  # the prior's AUC is 0.5 by construction
            aucs = list(res.auc.values())
            metrics[f"{prefix}_{tag}mean_auc"] = float(np.mean(aucs)) if aucs else float("nan")
        if method == "model":
            metrics.update({f"{prefix}_auc_{k}": v for k, v in res.auc.items()})
    return metrics


def _outfit_encoder(ctx: Context) -> OutfitEncoder:
    res = ctx.results.get("outfit")
    if res is None or not isinstance(res.module, OutfitEncoder):
        raise RuntimeError("the physique stage needs ctx.results['outfit'] (an OutfitEncoder)")
    return res.module


def _load_data(ctx: Context, encoder: OutfitEncoder, text_fp: str) -> _Data:
    dataset = extract_vibe(ctx.data / "vibe.tar.gz", ctx.stage_dir(STAGE))
    garments = load_garments(dataset, load_people(dataset / "humans" / "model.json"))
    if ctx.smoke:
        order = ctx.rng(11).permutation(len(garments))[:SMOKE_GARMENTS]
        garments = [garments[i] for i in sorted(order)]
    text_vecs = ctx.embed([g.text for g in garments], tag=f"vibe-garments-{text_fp}")
    cats = [COARSE_CATEGORIES.index(KINDS[g.kind]) for g in garments]
    label_emb = ctx.embed(
        [LABEL_PHRASES[name] for name in PHYSIQUE_LABELS], tag=f"physique-labels-{text_fp}"
    )
    return _Data(
        garments=garments,
        text_vecs=text_vecs,
        x=outfit_vectors(encoder, text_vecs, cats),
        y=targets(garments),
        label_emb=torch.from_numpy(label_emb),
    )


def _train_and_evaluate(
    ctx: Context, encoder: OutfitEncoder, text_fp: str
) -> tuple[PhysiqueGCN, dict[str, float]]:
    cfg = TrainConfig()
    epochs = 5 if ctx.smoke else None
    data = _load_data(ctx, encoder, text_fp)
    log.info(
        "physique: %d garments, %d people",
        len(data.garments),
        len({w for g in data.garments for w in g.wearers}),
    )
    # (a) held-out garments (grouped by product).
    train_idx, test_idx = group_holdout(
        [g.product for g in data.garments], TEST_FRACTION, ctx.rng(101)
    )
    model, preds = _evaluate(data, train_idx, test_idx, cfg, ctx.seed, epochs)
    metrics = _score("garments", data.y[test_idx], preds)
    metrics["garments_n_train"] = float(len(train_idx))
    metrics["garments_n_test"] = float(len(test_idx))
    # (b) held-out people: per fold, then averaged.
    metrics.update(_people_split(data, cfg, ctx, epochs))
    prior = _prior(data.y[train_idx])
    metrics.update(
        {f"prior_{name}": float(p) for name, p in zip(PHYSIQUE_LABELS, prior, strict=True)}
    )
    return model, metrics


def _people_split(
    data: _Data, cfg: TrainConfig, ctx: Context, epochs: int | None
) -> dict[str, float]:
    per_fold: list[dict[str, float]] = []
    n_train: list[int] = []
    n_test: list[int] = []
    for k, (tr, te, held) in enumerate(people_folds(data.garments, PEOPLE_FOLDS, ctx.rng(202))):
        if len(te) == 0 or len(tr) < 10:
            continue
        log.info(
            "  physique people fold %d: %d people out, %d train, %d test garments",
            k,
            len(held),
            len(tr),
            len(te),
        )
        _, preds = _evaluate(data, tr, te, cfg, ctx.seed + 1 + k, epochs)
        per_fold.append(_score("people", data.y[te], preds))
        n_train.append(len(tr))
        n_test.append(len(te))
    metrics = _mean_over_folds(per_fold)
    metrics["people_folds"] = float(len(per_fold))
    metrics["people_n_test"] = float(sum(n_test))
    metrics["people_mean_n_train"] = float(np.mean(n_train)) if n_train else 0.0
    return metrics


def _mean_over_folds(per_fold: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over the folds that report it (and are not NaN)."""
    keys = list(dict.fromkeys(k for fold in per_fold for k in fold))  # first-seen order
    out: dict[str, float] = {}
    for key in keys:
        values = [f[key] for f in per_fold if key in f and not np.isnan(f[key])]
        if values:
            out[key] = float(np.mean(values))
    return out


def _make_inputs(in_dim: int) -> Callable[[int], tuple[torch.Tensor, ...]]:
    def make(batch: int) -> tuple[torch.Tensor, ...]:
        gen = torch.Generator().manual_seed(1000 + batch)
        return (torch.randn(batch, in_dim, generator=gen),)

    return make


def _result(model: PhysiqueGCN, metrics: dict[str, float], dim: int, in_dim: int) -> StageResult:
    model.eval()
    return StageResult(
        name=NAME,
        module=model,
        spec=export_specs(dim, in_dim, len(PHYSIQUE_LABELS), 8)[NAME],
        make_inputs=_make_inputs(in_dim),
        metrics=metrics,
        provenance=[PROVENANCE],
        extra={"label_phrases": dict(LABEL_PHRASES)},
    )


def run(ctx: Context) -> StageResult:
    """Train and evaluate the physique ML-GCN; reuses a finished run under ``work/physique``."""
    t0 = time.time()
    encoder = _outfit_encoder(ctx)
    in_dim = int(encoder.out_dim)
    n_labels = len(PHYSIQUE_LABELS)
    text_fp = embedder_fingerprint(ctx.embed_fn, ctx.embed_id)
    key = {
        "version": VERSION,
        "smoke": ctx.smoke,
        "seed": ctx.seed,
        "text": text_fp,
        "outfit": module_fingerprint(encoder),
    }
    path = ctx.stage_dir(STAGE) / "physique_gcn.pt"
    saved = load_checkpoint(path, key)
    if saved is not None:
        model = PhysiqueGCN(torch.zeros(n_labels, ctx.dim), torch.eye(n_labels), in_dim=in_dim)
        model.load_state_dict(saved["state_dict"])
        log.info("physique: reusing %s", path)
        return _result(model, dict(saved["metrics"]), ctx.dim, in_dim)
    torch.manual_seed(ctx.seed)
    model, metrics = _train_and_evaluate(ctx, encoder, text_fp)
    save_checkpoint(path, key, model.state_dict(), metrics)
    log.info("physique: trained and evaluated in %.0fs", time.time() - t0)
    return _result(model, metrics, ctx.dim, in_dim)
