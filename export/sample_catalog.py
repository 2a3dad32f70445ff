"""Build the demo's sample catalog from real products in ``../shared/data``.

    python -m export.sample_catalog --data ../shared/data --out demo_out/sample_products.jsonl

Products are real items with their real titles/descriptions:

* Polyvore (Maryland, Han et al. 2017; research use): items of the outfits in
  ``test_dev_half.json`` — tops, bottoms, shoes, bags, accessories, with their titles.
* ViBE (Hsiao & Grauman 2020; MIT): Birdsnest dresses and tops with their text
  descriptions and real size charts.

Neither set carries prices, stock or colour fields, so those are derived: the colour
from the title/name, and an *illustrative* price, stock flag and size list drawn from a
seeded generator per category (documented in docs/data.md). Nothing of this data is
copied into the package: the demo builds the catalog at run time.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec_sdk._categories import coarse_category
from fashionrec_sdk._parser import COLORS

__all__ = ["build_sample_products", "main"]

_SLOT_CATEGORY = {
    "upper": "Tops",
    "bottom": "Bottoms",
    "shoe": "Shoes",
    "bag": "Bags",
    "accessory": "Accessories",
}
_PRICE = {  # median, spread of the illustrative log-normal prices (USD)
    "top": (45, 0.5),
    "bottom": (60, 0.5),
    "dress": (90, 0.5),
    "outerwear": (140, 0.5),
    "shoes": (95, 0.5),
    "bag": (110, 0.6),
    "accessory": (35, 0.6),
    "jewellery": (40, 0.7),
}
_SIZES = {"shoes": ("36", "37", "38", "39", "40", "41"), "default": ("XS", "S", "M", "L", "XL")}


def _color(text: str) -> str | None:
    words = re.findall(r"[a-z]+", text.lower())
    for w in words:
        w = {"gray": "grey"}.get(w, w)
        if w in COLORS and w != "denim":
            return w
    return None


def _extras(rng: np.random.Generator, cat: str, text: str) -> dict[str, Any]:
    median, spread = _PRICE.get(cat, (50, 0.5))
    price = round(float(np.exp(np.log(median) + spread * rng.standard_normal())), 0) - 0.01
    sizes = _SIZES["shoes"] if cat == "shoes" else _SIZES["default"]
    keep = tuple(s for s in sizes if rng.random() < 0.7) or sizes[:1]
    if cat in ("bag", "accessory", "jewellery"):
        keep = ("one size",)
    return {
        "price": max(4.99, price),
        "in_stock": bool(rng.random() < 0.9),
        "sizes": list(keep),
        "color": _color(text),
    }


def _polyvore(data: Path, rng: np.random.Generator, limit: int) -> list[dict[str, Any]]:
    outfits = json.loads((data / "polyvore_maryland" / "test_dev_half.json").read_text())
    keys = sorted(outfits)
    rng.shuffle(keys)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for key in keys:
        for slot, item in outfits[key].items():
            title = str(item.get("name", "")).strip()
            if not title or title.lower() in seen:
                continue
            seen.add(title.lower())
            category = _SLOT_CATEGORY.get(slot, "Accessories")
            cat = (
                coarse_category(title, "")
                if coarse_category(title, "") != "accessory"
                else coarse_category(category)
            )
            out.append(
                {
                    "id": f"pv-{key}-{item['index']}",
                    "title": title,
                    "category": f"{category} > {cat}",
                    "gender": "women",
                    "attributes": {"source": "polyvore", "outfit": str(key)},
                    **_extras(rng, cat, title),
                }
            )
        if len(out) >= limit:
            break
    return out[:limit]


def _vibe(data: Path, rng: np.random.Generator, limit_each: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with tarfile.open(data / "vibe.tar.gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        for folder, category in (("onepiece", "Dresses"), ("tops", "Tops")):
            prefix = f"vibe/dataset/{folder}/meta_descriptions/"
            names = sorted(n for n in members if n.startswith(prefix))
            rng.shuffle(names)
            for name in names[:limit_each]:
                stem = name[len(prefix) :].removesuffix("_meta.txt")
                base, _, colour = stem.partition("#")
                title = (
                    re.sub(r"-\d+$", "", base).replace("34-sleeve", "3/4 sleeve").replace("-", " ")
                )
                handle = tar.extractfile(members[name])
                desc = (
                    ""
                    if handle is None
                    else io.TextIOWrapper(handle, encoding="utf-8", errors="replace").read()
                )
                desc = " ".join(line.strip() for line in desc.splitlines() if line.strip())
                colour_words = re.sub(r"(?<!^)(?=[A-Z])", " ", colour).lower()
                cat = (
                    "dress"
                    if folder == "onepiece"
                    else coarse_category(title, "")
                    if coarse_category(title, "") in ("top", "outerwear")
                    else "top"
                )
                extras = _extras(rng, cat, colour_words + " " + title)
                extras["color"] = extras["color"] or (colour_words or None)
                out.append(
                    {
                        "id": f"vibe-{folder}-{stem}".replace("#", "-").replace(" ", ""),
                        "title": f"{title.strip().capitalize()} ({colour_words})"
                        if colour_words
                        else title.capitalize(),
                        "category": category,
                        "description": desc[:600],
                        "gender": "women",
                        "attributes": {"source": "vibe"},
                        **extras,
                    }
                )
    return out


def build_sample_products(
    data: Path, *, polyvore: int = 520, vibe_each: int = 90, seed: int = 7
) -> list[dict[str, Any]]:
    """Real products (seeded selection) as Product-compatible dicts."""
    rng = np.random.default_rng(seed)
    return _polyvore(data, rng, polyvore) + _vibe(data, rng, vibe_each)


def write_query_images(
    out_dir: Path, per_class: tuple[str, ...] = ("Dress", "Sneaker", "Bag")
) -> list[Path]:
    """A few real Fashion-MNIST test images (dark garment on white, upscaled) for the demo."""
    from PIL import Image

    from .stages.fmnist import CLASS_NAMES, load_split

    test = load_split("test")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in per_class:
        label = CLASS_NAMES.index(name)
        first = int(np.flatnonzero(test.labels == label)[0])
        img = Image.fromarray(255 - test.images[first]).resize((112, 112), Image.Resampling.BICUBIC)
        path = out_dir / f"fmnist-test-{first}-{name.lower()}.png"
        img.save(path)
        paths.append(path)
    return paths


#: Fashion-MNIST classes sold as photo products in the demo (class -> shop category).
PHOTO_PRODUCTS = {
    "T-shirt/top": "Tops",
    "Shirt": "Shirts",
    "Pullover": "Knitwear",
    "Dress": "Dresses",
    "Coat": "Coats",
    "Trouser": "Trousers",
}


def photo_products(out_dir: Path, per_class: int = 2, seed: int = 11) -> list[dict[str, Any]]:
    """Products whose photo is a real Fashion-MNIST test image (for image search and
    try-on in the demo): titled honestly after their class, seeded prices."""
    from PIL import Image

    from .stages.fmnist import CLASS_NAMES, load_split

    rng = np.random.default_rng(seed)
    test = load_split("test")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, category in PHOTO_PRODUCTS.items():
        label = CLASS_NAMES.index(name)
        # Skip the first image of a class: it may be a demo query image.
        for idx in np.flatnonzero(test.labels == label)[1 : 1 + per_class]:
            img = Image.fromarray(255 - test.images[idx]).resize(
                (112, 112), Image.Resampling.BICUBIC
            )
            slug = name.split("/")[0].lower()
            path = out_dir / f"fmnist-{int(idx)}-{slug}.png"
            img.save(path)
            out.append(
                {
                    "id": f"fmnist-{int(idx)}",
                    "title": f"{slug} (Fashion-MNIST photo {int(idx)})",
                    "category": category,
                    "price": round(float(rng.uniform(15, 90)), 2),
                    "in_stock": True,
                    "image": str(path.resolve()),
                    "attributes": {"source": "fashion-mnist"},
                }
            )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("demo_out/sample_products.jsonl"))
    args = parser.parse_args(argv)
    products = build_sample_products(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        products += photo_products(args.out.parent / "product_images")
    except Exception as err:  # the demo runs without them (no try-on section then)
        print(f"no photo products ({err})")
    with open(args.out, "w") as fh:
        for p in products:
            fh.write(json.dumps(p) + "\n")
    print(f"{len(products)} sample products written to {args.out}")
    try:
        images = write_query_images(args.out.parent / "query_images")
        print(f"{len(images)} Fashion-MNIST query images written to {images[0].parent}")
    except Exception as err:  # the demo runs without them
        print(f"no query images ({err})")


if __name__ == "__main__":
    main()
