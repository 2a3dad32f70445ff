"""The deterministic request parser on a table of shopper phrasings."""

from __future__ import annotations

from typing import Any

import pytest

from fashionrec_sdk._parser import parse_request

CASES: list[tuple[str, dict[str, Any]]] = [
    ("under $80", {"max_price": 80.0}),
    ("below 80 dollars", {"max_price": 80.0}),
    ("less than €120", {"max_price": 120.0}),
    ("no more than 50", {"max_price": 50.0}),
    ("max 45 euros", {"max_price": 45.0}),
    ("< 30", {"max_price": 30.0}),
    ("my budget is $200", {"max_price": 200.0}),
    ("over $100", {"min_price": 100.0}),
    ("at least 60 pounds", {"min_price": 60.0}),
    ("between 50 and 100", {"min_price": 50.0, "max_price": 100.0}),
    ("between $100 and $50", {"min_price": 50.0, "max_price": 100.0}),
    ("from 20 to 40 dollars", {"min_price": 20.0, "max_price": 40.0}),
    ("dresses 40-60", {"min_price": 40.0, "max_price": 60.0, "categories": ("dress",)}),
    ("cheaper", {"cheaper": True}),
    ("something more affordable", {"cheaper": True}),
    ("more expensive please", {"pricier": True}),
    ("no black", {"exclude_colors": ("black",)}),
    ("not red", {"exclude_colors": ("red",)}),
    ("without any grey", {"exclude_colors": ("grey",)}),
    ("anything but white", {"exclude_colors": ("white",)}),
    ("in blue", {"colors": ("blue",)}),
    ("in navy or burgundy", {"colors": ("navy", "burgundy")}),
    ("a gray sweater", {"colors": ("grey",), "categories": ("top",)}),
    ("cheaper, no black", {"cheaper": True, "exclude_colors": ("black",)}),
    (
        "less formal, in blue",
        {"colors": ("blue",), "styles": ("casual",), "avoid_styles": ("formal",)},
    ),
    ("more fitted", {"styles": ("fitted",), "avoid_styles": ("loose",)}),
    ("shoes", {"categories": ("shoes",)}),
    ("a jacket", {"categories": ("outerwear",)}),
    ("ankle boots and a tote bag", {"categories": ("shoes", "bag")}),
    ("jeans size 10", {"categories": ("bottom",), "sizes": ("10",)}),
    ("a blouse in size m", {"categories": ("top",), "sizes": ("M",)}),
    ("men's shoes", {"categories": ("shoes",), "gender": "men"}),
    ("outfit for a job interview", {"occasions": ("job interview",)}),
    ("beach wedding", {"occasions": ("beach wedding",)}),
    (
        "wedding guest dress under $150",
        {"occasions": ("wedding guest",), "categories": ("dress",), "max_price": 150.0},
    ),
    ("date night outfit, no black", {"occasions": ("date night",), "exclude_colors": ("black",)}),
    ("casual summer look", {"styles": ("casual",), "occasions": ("summer",)}),
    ("no jackets, show me tops", {"categories": ("top",)}),
    ("a dressy top", {"categories": ("top",)}),
    ("red summer dress", {"colors": ("red",), "categories": ("dress",), "occasions": ("summer",)}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_table(text: str, expected: dict[str, Any]) -> None:
    got = parse_request(text).model_dump()
    for key, value in expected.items():
        assert got[key] == value, f"{text!r}: {key}={got[key]!r}, expected {value!r}"
    # Fields not mentioned keep their defaults.
    for key in ("max_price", "min_price", "colors", "exclude_colors", "categories", "cheaper"):
        if key not in expected:
            assert got[key] in (None, (), False), f"{text!r}: unexpected {key}={got[key]!r}"


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_free_text_goes_to_the_text_tower() -> None:
    c = parse_request("I need a navy wool blazer for a job interview under $150")
    assert "wool blazer" in c.text
    assert "need" not in c.text and "150" not in c.text
    assert "formal" in c.query_text() and "navy" in c.query_text()
    assert c.describe().startswith("for job interview")


def test_parser_never_crashes_on_odd_input() -> None:
    for text in ["", "   ", "$$$", "under", "between and", "no", "🙂👗", "a" * 5000, "size", "1-"]:
        parse_request(text)
