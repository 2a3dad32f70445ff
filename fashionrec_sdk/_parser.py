"""A deterministic request parser: shopper phrases -> typed constraints.

``parse_request("a jacket for a job interview under $150, no black")`` yields a max
price of 150, the category ``outerwear``, the occasion ``job interview`` (expanded to
style words for the text tower) and ``black`` as an excluded colour; what is left goes
to the text tower. Relative phrases ("cheaper", "less formal") are kept as flags and
resolved by the session against the previous round.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from ._records import Gender
from ._validation import Record

__all__ = [
    "COLORS",
    "OCCASIONS",
    "Constraints",
    "parse_request",
    "picture_subject",
]

COLORS: Final[tuple[str, ...]] = (
    "black",
    "white",
    "red",
    "blue",
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
    "burgundy",
    "khaki",
    "teal",
    "ivory",
    "camel",
    "olive",
    "maroon",
    "tan",
    "lilac",
    "coral",
    "mint",
    "nude",
    "denim",
    "turquoise",
    "mustard",
    "lavender",
    "charcoal",
    "emerald",
    "multicolour",
)
_COLOR_ALIASES: Final[dict[str, str]] = {
    "gray": "grey",
    "multicolor": "multicolour",
    "multi-coloured": "multicolour",
    "colourful": "multicolour",
    "colorful": "multicolour",
}

#: occasion phrase -> words given to the text tower (and the style it implies)
OCCASIONS: Final[dict[str, str]] = {
    "job interview": "smart formal tailored office",
    "interview": "smart formal tailored office",
    "business meeting": "smart formal tailored office",
    "office": "smart workwear tailored",
    "work": "smart workwear",
    "beach wedding": "light summer dress elegant linen",
    "wedding guest": "elegant dressy occasion",
    "wedding": "elegant dressy occasion",
    "cocktail party": "cocktail dress elegant evening",
    "cocktail": "cocktail dress elegant evening",
    "party": "party evening dressy",
    "date night": "evening chic dressy",
    "date": "chic evening",
    "gym": "sporty athletic activewear",
    "workout": "sporty athletic activewear",
    "running": "sporty running activewear",
    "hiking": "outdoor hiking practical",
    "beach": "summer beach light casual",
    "holiday": "summer holiday casual",
    "vacation": "summer holiday casual",
    "festival": "festival boho casual",
    "brunch": "casual chic daytime",
    "funeral": "black formal sober",
    "graduation": "smart elegant daytime",
    "prom": "evening gown formal",
    "winter": "warm winter wool",
    "summer": "summer light",
    "autumn": "autumn layers",
    "fall": "autumn layers",
    "spring": "spring light",
    "casual": "casual relaxed",
    "formal": "formal elegant",
    "everyday": "casual everyday",
}

# Category words (whole words, optional plural) -> coarse category.
_CATEGORY_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "shoes": (
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
        "footwear",
        "stiletto",
        "espadrille",
        "wedge",
    ),
    "bag": ("bag", "handbag", "clutch", "tote", "purse", "backpack", "satchel"),
    "dress": ("dress", "gown", "jumpsuit", "romper", "playsuit"),
    "outerwear": ("jacket", "coat", "blazer", "parka", "trench", "cardigan", "gilet", "bomber"),
    "bottom": (
        "jean",
        "jeans",
        "trouser",
        "trousers",
        "pant",
        "pants",
        "skirt",
        "short",
        "shorts",
        "legging",
        "leggings",
        "chino",
        "chinos",
        "culotte",
        "culottes",
    ),
    "top": (
        "top",
        "tee",
        "t-shirt",
        "tshirt",
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
        "knit",
        "pullover",
    ),
    "accessory": ("hat", "scarf", "belt", "sunglasses", "gloves", "cap", "beanie", "watch"),
    "jewellery": ("jewellery", "jewelry", "necklace", "earring", "earrings", "bracelet", "ring"),
}
_CAT_PATTERN: Final = re.compile(
    r"\b("
    + "|".join(sorted({w for ws in _CATEGORY_WORDS.values() for w in ws}, key=len, reverse=True))
    + r")(?:e?s)?\b"
)
_WORD_TO_CAT: Final = {w: c for c, ws in _CATEGORY_WORDS.items() for w in ws}

_OPPOSITES: Final[dict[str, str]] = {
    "formal": "casual",
    "casual": "formal",
    "dressy": "casual",
    "fitted": "loose",
    "loose": "fitted",
    "tight": "loose",
    "long": "short",
    "short": "long",
    "dark": "light",
    "light": "dark",
    "bright": "muted",
    "muted": "bright",
    "plain": "patterned",
    "patterned": "plain",
    "revealing": "modest",
    "sporty": "elegant",
    "elegant": "sporty",
    "warm": "light",
    "heavy": "light",
    "flashy": "understated",
}

_NUM = r"(\d+(?:[.,]\d+)?)\s*(?:k\b)?"
_CUR = r"(?:[$€£]\s*)?"
_CUR_AFTER = r"(?:\s*(?:dollars?|euros?|pounds?|usd|eur|gbp|bucks))?"
_BETWEEN = re.compile(
    rf"\b(?:between|from)\s+{_CUR}{_NUM}{_CUR_AFTER}\s+(?:and|to|-)\s+{_CUR}{_NUM}{_CUR_AFTER}"
    rf"|{_CUR}{_NUM}\s*(?:-|–|to)\s*{_CUR}{_NUM}{_CUR_AFTER}(?=\s|$|,|\.)"
)
_MAX = re.compile(
    rf"(?:\b(?:under|below|less than|cheaper than|max(?:imum)?|at most|up to|no more than|within)\s*|<\s*)"
    rf"{_CUR}{_NUM}{_CUR_AFTER}"
)
_MIN = re.compile(
    rf"(?:\b(?:over|above|more than|at least|min(?:imum)?|from)\s*|>\s*){_CUR}{_NUM}{_CUR_AFTER}"
)
_BUDGET = re.compile(
    rf"\b(?:budget(?: of| is)?|for)\s+{_CUR}(\d+(?:[.,]\d+)?){_CUR_AFTER}\b(?!\s*(?:cm|kg))"
)
_CHEAPER = re.compile(
    r"\b(?:cheaper|less expensive|more affordable|lower price|on a budget|budget-friendly|not so expensive|too expensive)\b"
)
_PRICIER = re.compile(
    r"\b(?:more expensive|pricier|higher end|more upscale|more luxurious|premium|too cheap)\b"
)
_NEGATION = re.compile(
    r"\b(?:no|not|without|avoid|except|anything but|nothing|non|never|hate|don'?t want|dislike)"
    r"[\s-]+(?:in\s+|too\s+|any\s+|more\s+)?([a-z-]+)"
)
_LESS_MORE = re.compile(r"\b(less|more)\s+([a-z]+)")
_SIZE = re.compile(r"\bsize\s+([0-9]{1,2}|xxs|xs|s|m|l|xl|xxl|xxxl)\b")
_GENDER = re.compile(r"\b(?:for\s+)?(women|woman|ladies|men|man|kids|children)(?:'s)?\b")
_FILLER = re.compile(
    r"\b(?:i|i'm|im|need|want|would|like|looking|look|for|find|me|show|give|some|something|"
    r"an?|the|to|wear|with|please|can|you|could|outfit|outfits|in|and|or|but|it|that|is|"
    r"are|my|a|of|on|at|get|go|going|what|should|any|make|instead|also|just|maybe|more|"
    r"less|little|bit|much|too|so|this|these|those)\b"
)

#: "show it on me", "try it on", "how would this look on me": a try-on of a shown item.
_OBJ = r"(?:it|this|that|them|these|those|something|(?P<obj>the\s+\w+))"
_ON_ME = (
    re.compile(rf"\b(?:show|see|put)\s+{_OBJ}?\s*on\s+me\b"),
    re.compile(rf"\btry\s+{_OBJ}?\s*on\b"),
    re.compile(
        r"\bhow\s+(?:would|does|will|do)\s+(?:it|this|that|they|these|those|(?P<obj>the\s+\w+))"
        r"\s+look\s+on\s+me\b"
    ),
    re.compile(r"\bon\s+my\s+(?:photo|picture|body)\b"),
)
#: "draw a ...", "show me a picture of ...", "generate an image of ...": a generated image.
#: Only at the start of a request, so "a graphic tee with a photo of a cat" or "sketch
#: print dress" stay searches.
_PICTURE = re.compile(
    r"^\s*(?:(?:please|can\s+you|could\s+you|would\s+you)\s+)*"
    r"(?:(?:draw|sketch|generate|imagine|visuali[sz]e)(?:\s+me)?\s+(?=(?:a|an|some|the|me)\b)"
    r"(?:(?:a|an)\s+(?:picture|image|sketch|drawing|photo)\s+of\s+)?"
    r"|(?:(?:show|give)\s+me\s+)?(?:a|an)\s+(?:picture|image|sketch|drawing|photo)\s+of\s+)"
)


class Constraints(Record):
    """What a request asks for. Empty fields mean "no preference"."""

    text: str = ""
    categories: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    exclude_colors: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    occasions: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    avoid_styles: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    gender: Gender | None = None
    cheaper: bool = False
    pricier: bool = False
    #: ``"on_me"``: show a shown item on the shopper's photo; ``"picture"``: generate an
    #: image of what is described.
    show: Literal["on_me", "picture"] | None = None

    def query_text(self) -> str:
        """The text given to the text tower: free text + occasion/style words + colours."""
        parts = [self.text]
        parts += [OCCASIONS[o] for o in self.occasions if o in OCCASIONS]
        parts += list(self.styles)
        parts += list(self.colors)
        return " ".join(p for p in parts if p).strip()

    def describe(self) -> str:
        """A short human-readable summary ("under $80, in blue, no black")."""
        bits: list[str] = []
        if self.occasions:
            bits.append("for " + " and ".join(self.occasions))
        if self.categories:
            bits.append(", ".join(self.categories))
        if self.colors:
            bits.append("in " + "/".join(self.colors))
        if self.exclude_colors:
            bits.append("no " + "/".join(self.exclude_colors))
        if self.styles:
            bits.append(", ".join(self.styles))
        if self.min_price is not None and self.max_price is not None:
            bits.append(f"${self.min_price:g}-${self.max_price:g}")
        elif self.max_price is not None:
            bits.append(f"under ${self.max_price:g}")
        elif self.min_price is not None:
            bits.append(f"over ${self.min_price:g}")
        if self.sizes:
            bits.append("size " + "/".join(self.sizes))
        return ", ".join(bits)


def _num(s: str, whole: str) -> float:
    value = float(s.replace(",", "."))
    if re.search(re.escape(s) + r"\s*k\b", whole):
        value *= 1000
    return value


def _color(word: str) -> str | None:
    w = _COLOR_ALIASES.get(word, word)
    return w if w in COLORS else None


def picture_subject(text: str) -> str | None:
    """What a "draw a ..." / "show me a picture of ..." request describes, in the
    shopper's words ("draw a red summer dress" -> "a red summer dress"); else None."""
    t = " " + text.replace("’", "'").strip() + " "
    m = _PICTURE.match(t.lower())
    if m is None:
        return None
    subject = re.sub(r"[.!?]+\s*$", "", t[m.end() :].strip())
    return subject or None


def parse_request(text: str) -> Constraints:
    """Parse a shopper's request or refinement into :class:`Constraints`."""
    t = " " + text.lower().replace("’", "'").strip() + " "
    consumed: list[tuple[int, int]] = []

    def take(m: re.Match[str]) -> None:
        consumed.append(m.span())

    min_price = max_price = None
    m = _BETWEEN.search(t)
    if m:
        nums = [g for g in m.groups() if g]
        lo, hi = sorted((_num(nums[0], m.group(0)), _num(nums[1], m.group(0))))
        min_price, max_price = lo, hi
        take(m)
    else:
        m = _MAX.search(t)
        if m:
            max_price = _num(m.group(1), m.group(0))
            take(m)
        m2 = _MIN.search(t)
        if m2 and not (m and m2.start() < m.end() and m2.end() > m.start()):
            min_price = _num(m2.group(1), m2.group(0))
            take(m2)
        if max_price is None and min_price is None:
            mb = _BUDGET.search(t)
            if mb and re.search(r"[$€£]|dollar|euro|pound|usd|eur|gbp|budget|bucks", mb.group(0)):
                max_price = _num(mb.group(1), mb.group(0))
                take(mb)
    show: Literal["on_me", "picture"] | None = None
    for pattern in _ON_ME:
        for mm in pattern.finditer(t):
            show = "on_me"
            obj = mm.span("obj") if mm.groupdict().get("obj") else None
            # "put the blazer on me": the garment named stays free for the category parser.
            consumed.extend([(mm.start(), obj[0]), (obj[1], mm.end())] if obj else [mm.span()])
    pm = _PICTURE.match(t)
    if pm:
        show = show or "picture"
        take(pm)
    cheaper = bool(_CHEAPER.search(t))
    pricier = bool(_PRICIER.search(t))
    for pat in (_CHEAPER, _PRICIER):
        for mm in pat.finditer(t):
            take(mm)

    exclude_colors: list[str] = []
    avoid_styles: list[str] = []
    styles: list[str] = []
    excluded_cats: set[str] = set()
    for mm in _NEGATION.finditer(t):
        word = mm.group(1)
        c = _color(word)
        if c:
            exclude_colors.append(c)
            take(mm)
        elif word in _OPPOSITES:
            avoid_styles.append(word)
            styles.append(_OPPOSITES[word])
            take(mm)
        else:
            cm = _CAT_PATTERN.match(word)
            if cm:
                excluded_cats.add(_WORD_TO_CAT[cm.group(1)])
                take(mm)
    for mm in _LESS_MORE.finditer(t):
        direction, word = mm.groups()
        if word in _OPPOSITES:
            if direction == "less":
                avoid_styles.append(word)
                styles.append(_OPPOSITES[word])
            else:
                styles.append(word)
                avoid_styles.append(_OPPOSITES[word])
            take(mm)

    def free(pos: int) -> bool:
        return not any(a <= pos < b for a, b in consumed)

    colors: list[str] = []
    for mm in re.finditer(r"\b([a-z-]+)\b", t):
        c = _color(mm.group(1))
        if c and free(mm.start()) and c not in exclude_colors and c not in colors:
            colors.append(c)
            take(mm)

    occasions: list[str] = []
    for phrase in sorted(OCCASIONS, key=len, reverse=True):
        for mm in re.finditer(rf"\b{re.escape(phrase)}\b", t):
            if free(mm.start()):
                if phrase in ("casual", "formal") and phrase not in styles:
                    styles.append(phrase)
                elif phrase not in occasions:
                    occasions.append(phrase)
                take(mm)

    categories: list[str] = []
    for mm in _CAT_PATTERN.finditer(t):
        cat = _WORD_TO_CAT[mm.group(1)]
        # Category words stay in the free text too: "blazer" says more than "outerwear".
        if free(mm.start()) and cat not in categories and cat not in excluded_cats:
            categories.append(cat)

    sizes = [mm.group(1).upper() for mm in _SIZE.finditer(t)]
    for mm in _SIZE.finditer(t):
        take(mm)
    gender = None
    gm = _GENDER.search(t)
    if gm:
        word = gm.group(1)
        gender = (
            "men" if word in ("men", "man") else "kids" if word in ("kids", "children") else "women"
        )
        take(gm)

    rest = "".join(ch if free(i) else " " for i, ch in enumerate(t))
    rest = re.sub(r"[$€£<>,.!?;:()\"]", " ", rest)
    rest = _FILLER.sub(" ", rest)
    rest = re.sub(r"\s+", " ", rest).strip()
    return Constraints(
        text=rest,
        categories=tuple(categories),
        colors=tuple(colors),
        exclude_colors=tuple(dict.fromkeys(exclude_colors)),
        min_price=min_price,
        max_price=max_price,
        occasions=tuple(occasions),
        styles=tuple(dict.fromkeys(styles)),
        avoid_styles=tuple(dict.fromkeys(avoid_styles)),
        sizes=tuple(sizes),
        gender=gender,
        cheaper=cheaper,
        pricier=pricier,
        show=show,
    )
