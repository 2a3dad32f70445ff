"""PyTorch definitions of the trainable models, with the ONNX I/O contract of each.

Every model here is exported by :mod:`export.onnx_export` with a dynamic batch axis and
checked for parity against onnxruntime. The I/O names are the contract the runtime
(``fashionrec_sdk``) relies on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FeedbackComposer",
    "ImageTower",
    "OutfitEncoder",
    "PhysiqueGCN",
    "normalized_adjacency",
]


class OutfitEncoder(nn.Module):
    """FCN outfit encoder: multi-size 1-D convolutions over an outfit's item vectors.

    Inputs ``item_vectors (B, T, D)``, ``item_mask (B, T)`` (1 = real item),
    ``categories (B, T)`` (coarse category ids). Outputs ``outfit_vector (B, D + C*K)``:
    the masked mean item vector (content, for the physique model) concatenated with the
    max-pooled convolution features, and ``compatibility (B,)``: a logit.
    """

    def __init__(
        self,
        dim: int,
        n_categories: int,
        channels: int = 128,
        kernel_sizes: tuple[int, ...] = (1, 2, 3),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.proj = nn.Linear(dim, channels)
        self.cat_emb = nn.Embedding(n_categories, channels)
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, k, padding=k // 2) for k in kernel_sizes
        )
        self.kernel_sizes = kernel_sizes
        feat = channels * len(kernel_sizes)
        self.out_dim = dim + feat
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(feat, channels), nn.ReLU(), nn.Linear(channels, 1)
        )

    def forward(
        self, item_vectors: torch.Tensor, item_mask: torch.Tensor, categories: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mask = item_mask.unsqueeze(-1)
        count = mask.sum(dim=1).clamp(min=1.0)
        mean_item = (item_vectors * mask).sum(dim=1) / count
        x = torch.relu(self.proj(item_vectors) + self.cat_emb(categories)) * mask
        x = x.transpose(1, 2)  # (B, C, T)
        length = x.shape[2]
        pooled = []
        neg = (1.0 - item_mask).unsqueeze(1) * -1e4
        for conv in self.convs:
            h = torch.relu(conv(x))[:, :, :length] + neg
            pooled.append(h.max(dim=2).values)
        feats = torch.cat(pooled, dim=1)
        outfit = torch.cat([mean_item, feats], dim=1)
        return outfit, self.head(feats).squeeze(-1)


def normalized_adjacency(
    cooc: torch.Tensor, threshold: float = 0.1, p: float = 0.25
) -> torch.Tensor:
    """ML-GCN re-weighted label graph from co-occurrence counts ``(L, L)``.

    Conditional probabilities ``P(j | i)`` are binarised at ``threshold``, re-weighted
    so that a node keeps ``1 - p`` of its own weight, then symmetric-normalised.
    """
    counts = cooc.clone().float()
    diag = counts.diagonal().clamp(min=1.0)
    cond = counts / diag.unsqueeze(1)
    adj = (cond >= threshold).float()
    adj.fill_diagonal_(0.0)
    row = adj.sum(dim=1, keepdim=True)
    adj = torch.where(row > 0, adj * p / row.clamp(min=1e-6), adj)
    adj = adj + torch.eye(adj.shape[0]) * (1.0 - p)
    deg = adj.sum(dim=1).pow(-0.5)
    return deg.unsqueeze(1) * adj * deg.unsqueeze(0)


class PhysiqueGCN(nn.Module):
    """ML-GCN: graph convolutions over label-name embeddings -> one classifier per label.

    ``label_embeddings (L, E)`` (text-tower vectors of the label names) and the
    normalised adjacency ``(L, L)`` are buffers. Input ``outfit_vector (B, H)``;
    output ``label_logits (B, L)``.
    """

    def __init__(
        self,
        label_embeddings: torch.Tensor,
        adjacency: torch.Tensor,
        in_dim: int,
        hidden: int = 256,
    ) -> None:
        super().__init__()
        self.register_buffer("label_embeddings", label_embeddings.float())
        self.register_buffer("adjacency", adjacency.float())
        emb_dim = label_embeddings.shape[1]
        self.gc1 = nn.Linear(emb_dim, hidden, bias=False)
        self.gc2 = nn.Linear(hidden, in_dim, bias=False)
        self.input_norm = nn.LayerNorm(in_dim)
        self.bias = nn.Parameter(torch.zeros(label_embeddings.shape[0]))

    def classifiers(self) -> torch.Tensor:
        adj: torch.Tensor = self.adjacency  # type: ignore[assignment]
        h = F.leaky_relu(adj @ self.gc1(self.label_embeddings), 0.2)
        return adj @ self.gc2(h)  # (L, in_dim)

    def forward(self, outfit_vector: torch.Tensor) -> torch.Tensor:
        return self.input_norm(outfit_vector) @ self.classifiers().t() + self.bias


class FeedbackComposer(nn.Module):
    """(reference item vector, feedback text vector) -> unit target query vector.

    A gated residual composition (after TIRG): starts as the normalised sum of the two
    inputs and learns a correction from their concatenation and product.
    """

    def __init__(self, dim: int, hidden: int = 512) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.res = nn.Sequential(nn.Linear(3 * dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.w_item = nn.Parameter(torch.tensor(1.0))
        self.w_text = nn.Parameter(torch.tensor(1.0))
        self.w_res = nn.Parameter(torch.tensor(0.1))

    def forward(self, item_vector: torch.Tensor, feedback_vector: torch.Tensor) -> torch.Tensor:
        pair = torch.cat([item_vector, feedback_vector], dim=1)
        gate = torch.sigmoid(self.gate(pair))
        res = self.res(torch.cat([pair, item_vector * feedback_vector], dim=1))
        q = self.w_item * gate * item_vector + self.w_text * feedback_vector + self.w_res * res
        return F.normalize(q, dim=1)


class ImageTower(nn.Module):
    """A CNN backbone (global-pooled features) plus a projection into the text space.

    Input ``pixel_values (B, 3, S, S)``; output ``image_embedding (B, D)`` (unit length).
    """

    def __init__(self, backbone: nn.Module, feat_dim: int, dim: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.proj = nn.Sequential(nn.Linear(feat_dim, 512), nn.ReLU(), nn.Linear(512, dim))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.backbone(pixel_values)), dim=1)
