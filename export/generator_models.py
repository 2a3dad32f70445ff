"""Torch modules of the embedded sketch generator (latent flow matching) and its judge.

* :class:`SketchAutoencoder`: a small convolutional VAE, 28x28 greyscale <-> ``LATENT``-d.
* :class:`LatentFlow`: an MLP velocity field ``v(z_t, t, text)`` trained with conditional
  flow matching (rectified flow: straight paths from N(0, I) to the data latents) with
  classifier-free guidance (the condition is zeroed with probability ``p_uncond``).
* :class:`Sampler`: what is exported to ONNX: ``(text_vector, noise) -> image``; a fixed
  number of Euler steps with guidance, unrolled, then the VAE decoder.
* :class:`JudgeCNN`: a small Fashion-MNIST classifier used only to evaluate samples.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LATENT", "TEXT_DIM", "JudgeCNN", "LatentFlow", "Sampler", "SketchAutoencoder"]

LATENT = 24
TEXT_DIM = 384


class SketchAutoencoder(nn.Module):
    """Conv VAE. Pixels are "ink" in [0, 1] (Fashion-MNIST polarity: garment light)."""

    def __init__(self, latent: int = LATENT, width: int = 24) -> None:
        super().__init__()
        w = width
        self.enc = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1),  # 14
            nn.SiLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),  # 7
            nn.SiLU(),
            nn.Flatten(),
        )
        self.to_stats = nn.Linear(2 * w * 49, 2 * latent)
        self.from_z = nn.Linear(latent, 2 * w * 49)
        self.dec = nn.Sequential(
            nn.SiLU(),
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1),  # 14
            nn.SiLU(),
            nn.ConvTranspose2d(w, w, 4, stride=2, padding=1),  # 28
            nn.SiLU(),
            nn.Conv2d(w, 1, 3, padding=1),
        )
        self.width = w

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 1, 28, 28)`` -> mean and log-variance ``(N, latent)`` each."""
        mu, logvar = self.to_stats(self.enc(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 6.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_z(z).view(-1, 2 * self.width, 7, 7)
        return self.dec(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, latent)`` -> ink ``(N, 1, 28, 28)`` in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))


def _time_features(t: torch.Tensor, n: int = 16) -> torch.Tensor:
    """``(N, 1)`` in [0, 1] -> sinusoidal features ``(N, 2n)``."""
    freqs = torch.exp(torch.arange(n, dtype=t.dtype, device=t.device) * (-math.log(1000.0) / n))
    ang = t * freqs[None, :] * 1000.0
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.fc2 = nn.Linear(2 * width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(F.silu(self.fc1(self.norm(h))))


class LatentFlow(nn.Module):
    """Velocity field over standardised VAE latents, conditioned on a text vector."""

    def __init__(
        self, latent: int = LATENT, text_dim: int = TEXT_DIM, width: int = 256, depth: int = 4
    ) -> None:
        super().__init__()
        self.cond = nn.Sequential(nn.Linear(text_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.time = nn.Sequential(nn.Linear(32, width), nn.SiLU())
        self.inp = nn.Linear(latent, width)
        self.blocks = nn.ModuleList(_Block(width) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, latent))

    def forward(self, z: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``z (N, L)``, ``t (N, 1)``, ``text (N, 384)`` (zeros = unconditional) -> ``(N, L)``."""
        h = self.inp(z) + self.time(_time_features(t)) + self.cond(text)
        for block in self.blocks:
            h = block(h)
        out: torch.Tensor = self.out(h)
        return out


class Sampler(nn.Module):
    """``(text_vector (N, 384), noise (N, L)) -> image (N, 1, 28, 28)``, dark on white, [0, 1].

    Euler integration of the guided velocity ``v_u + g * (v_c - v_u)`` from t=0 (noise)
    to t=1 in ``steps`` equal steps, de-standardisation of the latent, VAE decoding and
    inversion to catalogue polarity (dark garment on white).
    """

    def __init__(
        self,
        flow: LatentFlow,
        vae: SketchAutoencoder,
        latent_mean: torch.Tensor,
        latent_std: torch.Tensor,
        *,
        steps: int,
        guidance: float,
    ) -> None:
        super().__init__()
        self.flow = flow
        self.vae = vae
        self.register_buffer("latent_mean", latent_mean.reshape(1, -1).clone())
        self.register_buffer("latent_std", latent_std.reshape(1, -1).clone())
        self.steps = steps
        self.guidance = guidance

    def latents(self, text_vector: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Integrate the flow; returns standardised latents ``(N, L)``."""
        n = noise.shape[0]
        z = noise
        null = torch.zeros_like(text_vector)
        cond = torch.cat([text_vector, null], dim=0)
        dt = 1.0 / self.steps
        for k in range(self.steps):
            t = torch.full((2 * n, 1), k * dt, dtype=noise.dtype)
            v = self.flow(torch.cat([z, z], dim=0), t, cond)
            v_c, v_u = v[:n], v[n:]
            z = z + dt * (v_u + self.guidance * (v_c - v_u))
        return z

    def forward(self, text_vector: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        z = self.latents(text_vector, noise) * self.latent_std + self.latent_mean
        return 1.0 - self.vae.decode(z)


class JudgeCNN(nn.Module):
    """Small Fashion-MNIST classifier: ink ``(N, 1, 28, 28)`` -> 10 logits (and features)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(32 * 49, 96),
            nn.ReLU(),
        )
        self.head = nn.Linear(96, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.body(x))
        return out
