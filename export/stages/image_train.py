"""Train the image tower's projection on cached backbone features; zero-shot scoring.

The backbone is frozen, so training only sees its pooled features ``(N, 1280)``. The
projection is trained with a supervised, CLIP-style contrastive loss against the text
tower's vectors of class captions: an image is pulled towards every caption of its
class and pushed from the captions of the other classes (image -> text), and each
caption is pulled towards the images of its class in the batch (text -> image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "TrainConfig",
    "class_prototypes",
    "contrastive_loss",
    "embed_features",
    "train_projection",
    "zero_shot_accuracy",
    "zero_shot_predict",
]


def class_prototypes(
    caption_vecs: np.ndarray, caption_labels: np.ndarray, n_classes: int
) -> np.ndarray:
    """One unit vector per class: the normalised mean of its (normalised) caption vectors.

    Raises ``ValueError`` when a class has no caption.
    """
    vecs = caption_vecs / np.maximum(np.linalg.norm(caption_vecs, axis=1, keepdims=True), 1e-12)
    protos = np.zeros((n_classes, vecs.shape[1]), dtype=np.float32)
    for c in range(n_classes):
        rows = vecs[caption_labels == c]
        if not len(rows):
            raise ValueError(f"class {c} has no caption")
        mean = rows.mean(axis=0)
        protos[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return protos


def zero_shot_predict(image_vecs: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Class of the nearest prototype (highest dot product) for each image vector."""
    return np.asarray(np.argmax(image_vecs @ prototypes.T, axis=1), dtype=np.int64)


def zero_shot_accuracy(image_vecs: np.ndarray, labels: np.ndarray, prototypes: np.ndarray) -> float:
    """Fraction of images whose nearest class prototype is their label."""
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(zero_shot_predict(image_vecs, prototypes) == labels))


def embed_features(proj: nn.Module, feats: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Unit vectors ``normalize(proj(feats))`` (the tower's head on cached features)."""
    out = []
    proj.eval()
    with torch.no_grad():
        for start in range(0, len(feats), batch):
            x = torch.from_numpy(np.ascontiguousarray(feats[start : start + batch]))
            out.append(F.normalize(proj(x), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def contrastive_loss(
    image_vecs: torch.Tensor,
    labels: torch.Tensor,
    caption_vecs: torch.Tensor,
    caption_labels: torch.Tensor,
    scale: torch.Tensor,
) -> torch.Tensor:
    """Multi-positive InfoNCE, image->caption and caption->image, averaged.

    ``image_vecs (B, D)`` and ``caption_vecs (M, D)`` are unit vectors; positives are the
    pairs whose labels agree.
    """
    logits = scale * image_vecs @ caption_vecs.T  # (B, M)
    pos = labels[:, None] == caption_labels[None, :]
    neg_inf = torch.finfo(logits.dtype).min
    i2t = torch.logsumexp(logits, dim=1) - torch.logsumexp(logits.masked_fill(~pos, neg_inf), dim=1)
    logits_t = logits.T  # (M, B)
    pos_t = pos.T
    has = pos_t.any(dim=1)
    t2i = torch.logsumexp(logits_t[has], dim=1) - torch.logsumexp(
        logits_t[has].masked_fill(~pos_t[has], neg_inf), dim=1
    )
    return 0.5 * (i2t.mean() + t2i.mean())


@dataclass(frozen=True)
class TrainConfig:
    """Projection training hyper-parameters (fixed; not tuned on the test set)."""

    epochs: int = 12
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    feature_dropout: float = 0.2
    init_temperature: float = 0.07
    max_scale: float = 100.0


def train_projection(
    proj: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    captions: tuple[np.ndarray, np.ndarray],
    prototypes: np.ndarray,
    config: TrainConfig,
    seed: int,
) -> dict[str, float]:
    """Train ``proj`` in place; keeps the epoch with the best validation zero-shot accuracy.

    ``train`` and ``val`` are ``(features, labels)``; ``captions`` is ``(vectors, labels)``
    of the training captions; ``prototypes`` score validation. Returns a summary.
    """
    torch.manual_seed(seed)  # feature dropout draws from the global generator
    gen = torch.Generator().manual_seed(seed)
    feats = torch.from_numpy(np.ascontiguousarray(train[0]))
    labels = torch.from_numpy(train[1])
    cap = torch.from_numpy(np.ascontiguousarray(captions[0]))
    cap_labels = torch.from_numpy(captions[1])
    log_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.init_temperature)))
    params = [*proj.parameters(), log_scale]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(feats) / config.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.1
    )
    best = (-1.0, 0, {k: v.clone() for k, v in proj.state_dict().items()})
    last_loss = float("nan")
    for epoch in range(config.epochs):
        proj.train()
        order = torch.randperm(len(feats), generator=gen)
        total = 0.0
        for start in range(0, len(feats), config.batch_size):
            idx = order[start : start + config.batch_size]
            x = F.dropout(feats[idx], p=config.feature_dropout, training=True)
            z = F.normalize(proj(x), dim=1)
            scale = log_scale.exp().clamp(max=config.max_scale)
            loss = contrastive_loss(z, labels[idx], cap, cap_labels, scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach().item() * len(idx)
        last_loss = total / len(feats)
        val_acc = zero_shot_accuracy(embed_features(proj, val[0]), val[1], prototypes)
        if val_acc > best[0]:
            best = (val_acc, epoch, {k: v.clone() for k, v in proj.state_dict().items()})
    proj.load_state_dict(best[2])
    proj.eval()
    return {
        "val_acc": best[0],
        "best_epoch": float(best[1] + 1),
        "final_train_loss": last_loss,
        "temperature": 1.0 / float(log_scale.detach().exp().clamp(max=config.max_scale)),
    }
