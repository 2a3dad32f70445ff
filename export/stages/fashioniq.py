"""Read FashionIQ relative captions, with item texts from the multi-turn attribute files.

Files under the data folder::

    fashioniq/captions/cap.{cat}.{train,val}.json      [{"target", "candidate", "captions": [2]}]
    fashioniq/image_splits/split.{cat}.val.json        ASINs of the val image split (gallery)
    multiturn/attr/asin2attr.{cat}.{train,val}.new.json  ASIN -> 6 attribute lists
    multiturn/attr/asin2attr.all.{train,val}.new.json    the same for all categories

FashionIQ itself has no item text; an item's text joins its multi-turn attributes
(category, texture, fabric, shape, part, style), e.g. ``"dress, embroidered french, fit,
button collar long sleeve"``. The per-category files win over the ``all`` files where both
describe an ASIN. Care-label and boilerplate words (:data:`STOPWORDS`) are dropped. A
caption record is kept only when both its candidate and its target have a text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fashionrec_sdk._errors import ArtifactIntegrityError

__all__ = [
    "CATEGORIES",
    "STOPWORDS",
    "CaptionSet",
    "Triple",
    "attribute_text",
    "feedback_text",
    "load_attribute_texts",
    "load_captions",
    "load_gallery",
]

CATEGORIES: tuple[str, ...] = ("dress", "shirt", "toptee")
#: Attribute words that come from care labels or listing boilerplate, not the garment.
STOPWORDS: frozenset[str] = frozenset({"please", "wash", "clean", "bleach", "dry"})


@dataclass(frozen=True)
class Triple:
    """One relative caption: candidate item + feedback -> target item."""

    category: str
    candidate: str
    target: str
    feedback: str


@dataclass(frozen=True)
class CaptionSet:
    """The kept triples of one caption file and how many records it had."""

    triples: list[Triple]
    total: int


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactIntegrityError(f"cannot read JSON {path}: {exc}", path=path) from exc


def attribute_text(groups: Sequence[Sequence[str]]) -> str:
    """Join attribute groups: words of a group by spaces, groups by ``", "``; skips empties."""
    parts = []
    for group in groups:
        words = [w.strip() for w in group if w.strip() and w.strip().lower() not in STOPWORDS]
        if words:
            parts.append(" ".join(words))
    return ", ".join(parts)


def feedback_text(captions: Iterable[str]) -> str:
    """The two relative captions of a record joined with ``" and "``."""
    return " and ".join(c.strip() for c in captions if c and c.strip())


def load_attribute_texts(attr_dir: Path, categories: Sequence[str] = CATEGORIES) -> dict[str, str]:
    """ASIN -> item text from every ``asin2attr.*.new.json`` (per-category files first)."""
    names = [f"asin2attr.{c}.{s}.new.json" for c in categories for s in ("train", "val")]
    names += ["asin2attr.all.train.new.json", "asin2attr.all.val.new.json"]
    texts: dict[str, str] = {}
    for name in names:
        path = attr_dir / name
        if not path.exists():
            continue
        raw = _load_json(path)
        if not isinstance(raw, dict):
            raise ArtifactIntegrityError(f"expected an object in {path}", path=path)
        for asin, groups in raw.items():
            if asin in texts or not isinstance(groups, list):
                continue
            text = attribute_text([g for g in groups if isinstance(g, list)])
            if text:
                texts[asin] = text
    if not texts:
        raise ArtifactIntegrityError(f"no attribute texts under {attr_dir}", path=attr_dir)
    return texts


def load_captions(path: Path, category: str, texts: dict[str, str]) -> CaptionSet:
    """Triples of one caption file whose candidate and target both have a text.

    Records with a missing field, an empty feedback or ``candidate == target`` are
    dropped as well.
    """
    raw = _load_json(path)
    if not isinstance(raw, list):
        raise ArtifactIntegrityError(f"expected a list of caption records in {path}", path=path)
    triples = []
    for rec in raw:
        if not isinstance(rec, dict):
            continue
        cand, tgt = rec.get("candidate"), rec.get("target")
        captions = rec.get("captions") or []
        if not isinstance(cand, str) or not isinstance(tgt, str) or cand == tgt:
            continue
        feedback = feedback_text(c for c in captions if isinstance(c, str))
        if feedback and cand in texts and tgt in texts:
            triples.append(Triple(category, cand, tgt, feedback))
    return CaptionSet(triples=triples, total=len(raw))


def load_gallery(path: Path, texts: dict[str, str]) -> list[str]:
    """The ASINs of an image split file that have a text, in file order, deduplicated."""
    raw = _load_json(path)
    if not isinstance(raw, list):
        raise ArtifactIntegrityError(f"expected a list of ASINs in {path}", path=path)
    return list(dict.fromkeys(a for a in raw if isinstance(a, str) and a in texts))
