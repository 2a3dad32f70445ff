"""Coarse product categories and the keyword rules that map free-text categories to them.

Shops name categories freely ("Women > Knitwear > Cardigans"); the outfit encoder and
the per-category indexes work on a small fixed set. :func:`coarse_category` maps a
free-text category (falling back to the title) onto that set.
"""

from __future__ import annotations

import functools
import re
from typing import Final

__all__ = ["COARSE_CATEGORIES", "coarse_category"]

COARSE_CATEGORIES: Final[tuple[str, ...]] = (
    "top",
    "bottom",
    "dress",
    "outerwear",
    "shoes",
    "bag",
    "accessory",
    "jewellery",
)

# Order matters: the first category with a matching keyword wins, and more specific
# words come before the generic ones ("jumpsuit" before "suit", "bag" before "top").
_KEYWORDS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "jewellery",
        (
            "jewel",
            "necklace",
            "earring",
            "bracelet",
            "ring",
            "pendant",
            "brooch",
            "anklet",
            "charm",
        ),
    ),
    (
        "bag",
        (
            "bag",
            "clutch",
            "tote",
            "purse",
            "backpack",
            "satchel",
            "wallet",
            "hobo",
            "crossbody",
            "shopper",
        ),
    ),
    (
        "shoes",
        (
            "shoe",
            "boot",
            "sneaker",
            "trainer",
            "sandal",
            "heel",
            "pump",
            "loafer",
            "flat",
            "mule",
            "oxford",
            "slipper",
            "espadrille",
            "wedge",
            "footwear",
            "stiletto",
            "clog",
        ),
    ),
    (
        "dress",
        (
            "dress",
            "gown",
            "jumpsuit",
            "romper",
            "playsuit",
            "onepiece",
            "one-piece",
            "all-body",
            "overall",
            "dungaree",
            "kaftan",
        ),
    ),
    (
        "outerwear",
        (
            "coat",
            "jacket",
            "blazer",
            "parka",
            "trench",
            "cape",
            "poncho",
            "vest",
            "gilet",
            "outerwear",
            "anorak",
            "bomber",
            "cardigan",
            "kimono",
        ),
    ),
    (
        "bottom",
        (
            "jean",
            "trouser",
            "pant",
            "skirt",
            "short",
            "legging",
            "jogger",
            "culotte",
            "chino",
            "bottom",
            "skort",
        ),
    ),
    (
        "top",
        (
            "top",
            "tee",
            "t-shirt",
            "shirt",
            "blouse",
            "sweater",
            "jumper",
            "hoodie",
            "sweatshirt",
            "tank",
            "cami",
            "polo",
            "tunic",
            "bodysuit",
            "knit",
            "pullover",
            "upper",
            "tshirt",
            "crop",
            "bustier",
            "corset",
        ),
    ),
    (
        "accessory",
        (
            "hat",
            "cap",
            "beanie",
            "scarf",
            "belt",
            "glove",
            "sunglass",
            "glasses",
            "watch",
            "tie",
            "hair",
            "umbrella",
            "accessor",
            "sock",
            "tights",
            "headband",
            "keychain",
            "mask",
            "beret",
        ),
    ),
)
_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (cat, re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE))
    for cat, words in _KEYWORDS
)


@functools.lru_cache(maxsize=65536)
def coarse_category(category: str, title: str = "") -> str:
    """Map a free-text category (or, failing that, a title) to a coarse category.

    Returns one of :data:`COARSE_CATEGORIES`; ``"accessory"`` when nothing matches.
    """
    text = category.strip().lower()
    if text in COARSE_CATEGORIES:
        return text
    for source in (text, title.lower()):
        # The last path segment ("Women > Shoes > Boots") is the most specific.
        for segment in reversed(re.split(r"[>/|,]", source)):
            for cat, pattern in _PATTERNS:
                if pattern.search(segment):
                    return cat
    return "accessory"
