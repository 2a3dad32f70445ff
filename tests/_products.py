"""A seeded, hand-written product set for recommender tests (fixture bundle)."""

from __future__ import annotations

import random

import fashionrec_sdk as fr

_ITEMS = {
    "Tops": [
        "white cotton shirt",
        "striped linen blouse",
        "navy knit sweater",
        "red silk cami top",
        "grey hoodie",
        "black turtleneck",
        "pink ruffle blouse",
        "blue denim shirt",
        "cream cable knit jumper",
        "green polo shirt",
        "yellow tank top",
        "white t-shirt",
    ],
    "Bottoms": [
        "blue denim jeans",
        "black tailored trousers",
        "beige chino pants",
        "red midi skirt",
        "grey wool trousers",
        "white linen shorts",
        "navy pleated skirt",
        "black leggings",
        "green cargo pants",
        "pink mini skirt",
    ],
    "Dresses": [
        "red summer dress",
        "black cocktail dress",
        "blue floral wrap dress",
        "white maxi dress",
        "green satin gown",
        "navy shirt dress",
        "yellow sundress",
        "pink lace dress",
    ],
    "Outerwear": [
        "navy wool blazer",
        "black leather jacket",
        "beige trench coat",
        "blue denim jacket",
        "grey parka",
        "camel coat",
        "green bomber jacket",
    ],
    "Shoes": [
        "black leather boots",
        "white sneakers",
        "red heels",
        "brown loafers",
        "gold sandals",
        "black pumps",
        "blue espadrilles",
        "grey running shoes",
        "pink ballet flats",
    ],
    "Bags": [
        "black leather tote",
        "brown crossbody bag",
        "gold clutch",
        "navy backpack",
        "red handbag",
        "beige straw bag",
    ],
    "Jewellery": ["gold hoop earrings", "silver necklace", "pearl bracelet", "diamond ring"],
    "Accessories": ["black leather belt", "straw hat", "silk scarf", "tortoise sunglasses"],
}


def sample_products(seed: int = 0) -> list[fr.Product]:
    rng = random.Random(seed)
    out = []
    for category, titles in _ITEMS.items():
        for i, title in enumerate(titles):
            color = title.split()[0]
            out.append(
                fr.Product(
                    id=f"{category[:3].lower()}-{i}",
                    title=title,
                    category=category,
                    price=round(rng.uniform(10, 250), 2),
                    color=color,
                    brand=rng.choice(["Acme", "Nordby", "Lumen"]),
                    sizes=rng.sample(["XS", "S", "M", "L", "XL"], 3),
                    in_stock=rng.random() < 0.85,
                    gender="women",
                    attributes={"fabric": rng.choice(["cotton", "wool", "silk"])},
                )
            )
    return out
