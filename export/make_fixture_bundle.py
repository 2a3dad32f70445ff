"""Make the tiny, seeded fixture bundle used by the hermetic tests.

    python -m export.make_fixture_bundle [OUT_DIR]   (default: tests/fixtures/bundle)

It runs the same export path as the real pipeline (optimum-onnx for the text tower,
``torch.onnx`` + parity checks for the rest) on tiny randomly initialised models, so
the tests exercise real ONNX graphs with the real I/O contract in milliseconds. It is
*not* a usable model: its vectors carry no meaning.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from fashionrec_sdk._categories import COARSE_CATEGORIES
from fashionrec_sdk._manifest import ImagePreprocessing, TextPreprocessing
from fashionrec_sdk._physique import PHYSIQUE_LABELS

from .bundle_writer import write_bundle
from .models import FeedbackComposer, ImageTower, OutfitEncoder, PhysiqueGCN, normalized_adjacency
from .onnx_export import check_parity, export_module
from .specs import export_specs
from .text_tower import export_text_encoder

__all__ = ["DIM", "IMAGE", "SEED", "build_modules", "example_inputs", "main"]

SEED = 1234
DIM = 16
IMAGE = ImagePreprocessing(size=32, resize=36, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "a",
    "an",
    "the",
    "and",
    "with",
    "in",
    "of",
    "for",
    "to",
    "on",
    "red",
    "blue",
    "black",
    "white",
    "navy",
    "green",
    "pink",
    "grey",
    "beige",
    "brown",
    "yellow",
    "orange",
    "purple",
    "cream",
    "gold",
    "silver",
    "denim",
    "leather",
    "cotton",
    "wool",
    "silk",
    "linen",
    "summer",
    "winter",
    "dress",
    "skirt",
    "jeans",
    "trousers",
    "shorts",
    "top",
    "tee",
    "shirt",
    "blouse",
    "sweater",
    "cardigan",
    "jacket",
    "coat",
    "blazer",
    "boots",
    "sneakers",
    "sandals",
    "heels",
    "bag",
    "tote",
    "clutch",
    "necklace",
    "earrings",
    "scarf",
    "hat",
    "belt",
    "sunglasses",
    "floral",
    "striped",
    "casual",
    "formal",
    "wedding",
    "party",
    "office",
    "beach",
    "long",
    "short",
    "midi",
    "mini",
    "sleeve",
    "sleeveless",
    "v",
    "neck",
    "wrap",
    ".",
    ",",
    "-",
    "!",
    "?",
]


def _tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    vocab = {w: i for i, w in enumerate(VOCAB)}
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.save(str(path))


def _tiny_bert(model_dir: Path, tokenizer_json: Path) -> None:
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(SEED)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=DIM,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(model_dir)
    PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_json),
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    ).save_pretrained(model_dir)


def build_modules() -> dict[str, nn.Module]:
    """The four torch fixture models, seeded (the text tower goes through optimum)."""
    torch.manual_seed(SEED)
    backbone = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )
    image = ImageTower(backbone, 8, DIM)
    outfit = OutfitEncoder(DIM, len(COARSE_CATEGORIES), channels=8)
    cooc = torch.randint(0, 20, (len(PHYSIQUE_LABELS), len(PHYSIQUE_LABELS))).float()
    cooc = cooc + cooc.t() + torch.eye(len(PHYSIQUE_LABELS)) * 40
    gcn = PhysiqueGCN(
        torch.randn(len(PHYSIQUE_LABELS), DIM),
        normalized_adjacency(cooc),
        outfit.out_dim,
        hidden=16,
    )
    composer = FeedbackComposer(DIM, hidden=16)
    modules: dict[str, nn.Module] = {
        "image_encoder": image,
        "outfit_encoder": outfit,
        "physique_gcn": gcn,
        "feedback_composer": composer,
    }
    for m in modules.values():
        m.eval()
    return modules


def example_inputs(name: str, batch: int, outfit_dim: int) -> tuple[torch.Tensor, ...]:
    """Seeded random inputs of the right shapes for model ``name`` (fixture dims)."""
    g = torch.Generator().manual_seed(batch)
    if name == "image_encoder":
        return (torch.randn(batch, 3, IMAGE.size, IMAGE.size, generator=g),)
    if name == "outfit_encoder":
        mask = torch.ones(batch, 4)
        mask[:, 3] = 0.0
        cats = torch.randint(0, len(COARSE_CATEGORIES), (batch, 4), generator=g)
        return (torch.randn(batch, 4, DIM, generator=g), mask, cats)
    if name == "physique_gcn":
        return (torch.randn(batch, outfit_dim, generator=g),)
    if name == "feedback_composer":
        return (torch.randn(batch, DIM, generator=g), torch.randn(batch, DIM, generator=g))
    raise KeyError(name)


def main(out_dir: Path) -> None:
    modules = build_modules()
    outfit_dim = modules["outfit_encoder"].out_dim  # type: ignore[union-attr]
    specs = export_specs(DIM, int(outfit_dim), len(PHYSIQUE_LABELS), IMAGE.size)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tok = tmp / "tokenizer.json"
        _tokenizer(tok)
        _tiny_bert(tmp / "bert", tok)
        text_onnx, _ = export_text_encoder(tmp / "bert", tmp)
        models = {"text_encoder": (text_onnx, specs["text_encoder"], "none")}
        for name, module in modules.items():
            path = export_module(
                module, example_inputs(name, 2, int(outfit_dim)), specs[name], tmp / f"{name}.onnx"
            )  # type: ignore[arg-type]
            check_parity(
                module, path, specs[name], lambda b, n=name: example_inputs(n, b, int(outfit_dim))
            )  # type: ignore[misc, arg-type]
            models[name] = (path, specs[name], "none")
        write_bundle(
            out_dir,
            models=models,
            files={"tokenizer.json": tok},
            created="2026-01-01T00:00:00Z",
            name="fixture",
            version="0",
            embedding_dim=DIM,
            text=TextPreprocessing(max_length=32),
            image=IMAGE,
            categories=COARSE_CATEGORIES,
            physique_labels=PHYSIQUE_LABELS,
            notes=f"Tiny random test fixture (seed {SEED}); vectors are meaningless.",
        )
    print(f"fixture bundle written to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/fixtures/bundle"))
