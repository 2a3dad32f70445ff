"""Polyvore data for the outfit stage: parsers, item tables and negative sampling.

Two real data sets from ``../shared/data``:

* **Polyvore Outfits, disjoint split** (Vasileva et al. 2018). Each line of
  ``disjoint/{train,valid,test}_{pos,neg}`` is ``uid,size,16 item slots,16 category
  slots`` (``-1`` = empty); the category slot is a *semantic* category (0..10, the sorted
  semantic names of ``vasileva/categories.csv``) and the item slot indexes
  ``items.json[semantic]`` (an item id). The text of an item is its fine category name
  (``vasileva/train_category.json`` + ``categories.csv``, first name listed for an id);
  items without a fine category (about 20 %) fall back to the semantic name. ``*_neg``
  line ``i`` is line ``i`` of ``*_pos`` with every item replaced by another item of the
  same split and semantic category; in 68 % of the positions of ``test_neg`` the
  replacement even has the *same fine category* (20 % for a random same-semantic item),
  so with category-name texts the official negatives are nearly indistinguishable from
  the positives. The official ``test_neg`` is kept for the headline AUC; ``train_neg``
  and ``valid_neg`` are not read: training, validation and an extra test set of
  negatives are resampled (seeded) by replacing every item with a random item of the
  same semantic category from the same split (``test_neg_resampled``).
* **Maryland Polyvore** (Han et al. 2017): ``{outfit_id: {slot: {"index", "name"}}}``
  with slots ``upper, bottom, shoe, bag, accessory``; the text of an item is its title.
  ``valid_no_dup_with_category_3more_name.json`` is used for training (a seeded 10 % of
  it for validation) and ``test_dev_half.json`` for testing; negatives replace every item
  with a random item of the same slot from the same split (seeded).

Every item gets a coarse category id (``COARSE_CATEGORIES.index(coarse_category(...))``),
exactly what the runtime feeds the outfit encoder.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec_sdk._categories import COARSE_CATEGORIES, coarse_category
from fashionrec_sdk._errors import InvalidInputError

__all__ = [
    "MARYLAND_SLOTS",
    "ItemTable",
    "MarylandOutfit",
    "Outfit",
    "OutfitData",
    "corrupt",
    "load_maryland",
    "load_polyvore_outfits",
    "parse_categories_csv",
    "parse_maryland",
    "parse_outfit_tuples",
]

Outfit = tuple[int, ...]
"""An outfit as indices into an :class:`ItemTable`."""

MARYLAND_SLOTS: tuple[str, ...] = ("upper", "bottom", "shoe", "bag", "accessory")
# The slot name stands in for the title when the title names no category.
_SLOT_WORD = {"upper": "top", "bottom": "bottom", "shoe": "shoes", "bag": "bag", "accessory": ""}
MARYLAND_TRAIN = "valid_no_dup_with_category_3more_name.json"
MARYLAND_TEST = "test_dev_half.json"
_MAX_DRAWS = 20


@dataclass(frozen=True)
class MarylandOutfit:
    """One Maryland outfit: its id and ``(slot, title)`` pairs in slot order."""

    outfit_id: str
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ItemTable:
    """Items of one data set. Arrays are ``(N,)``; ``texts`` holds the unique texts.

    Attributes:
        texts: unique item texts (what is embedded).
        text_ids: item -> index into ``texts``.
        categories: coarse category id (index into ``COARSE_CATEGORIES``).
        groups: negative-sampling group (Polyvore Outfits semantic category, Maryland slot).
        fine: co-occurrence key (Polyvore Outfits fine category, Maryland coarse category).
    """

    texts: tuple[str, ...]
    text_ids: np.ndarray
    categories: np.ndarray
    groups: np.ndarray
    fine: np.ndarray

    def __len__(self) -> int:
        return len(self.text_ids)


@dataclass(frozen=True)
class OutfitData:
    """One data set split into train / valid / test outfits over one item table.

    ``train_neg`` are negatives built from training items only (for the co-occurrence
    prior); valid and test negatives are paired with the positives of their split.
    ``test_neg_resampled`` (Polyvore Outfits only) pairs the test positives with
    negatives resampled like the training ones.
    """

    name: str
    items: ItemTable
    train: list[Outfit]
    train_neg: list[Outfit]
    valid_pos: list[Outfit]
    valid_neg: list[Outfit]
    test_pos: list[Outfit]
    test_neg: list[Outfit]
    test_neg_resampled: list[Outfit] = field(default_factory=list)

    def pool(self, split: str) -> np.ndarray:
        """Sorted unique items of the positive outfits of ``split`` (train/valid/test)."""
        outfits = {"train": self.train, "valid": self.valid_pos, "test": self.test_pos}[split]
        return np.unique(np.fromiter((i for o in outfits for i in o), dtype=np.int64))


class _TableBuilder:
    def __init__(self) -> None:
        self._index: dict[tuple[str, ...], int] = {}
        self._texts: dict[str, int] = {}
        self.text_ids: list[int] = []
        self.categories: list[int] = []
        self.groups: list[int] = []
        self.fine: list[int] = []

    def add(self, key: tuple[str, ...], text: str, category: int, group: int, fine: int) -> int:
        found = self._index.get(key)
        if found is not None:
            return found
        idx = len(self.text_ids)
        self._index[key] = idx
        self.text_ids.append(self._texts.setdefault(text, len(self._texts)))
        self.categories.append(category)
        self.groups.append(group)
        self.fine.append(fine)
        return idx

    def build(self) -> ItemTable:
        return ItemTable(
            texts=tuple(self._texts),
            text_ids=np.array(self.text_ids, dtype=np.int64),
            categories=np.array(self.categories, dtype=np.int64),
            groups=np.array(self.groups, dtype=np.int64),
            fine=np.array(self.fine, dtype=np.int64),
        )


def _coarse_id(category: str, title: str = "") -> int:
    return COARSE_CATEGORIES.index(coarse_category(category, title))


# ---------------------------------------------------------------- parsers


def parse_outfit_tuples(lines: Iterable[str]) -> list[list[tuple[int, int]]]:
    """Parse Polyvore Outfits tuple lines into ``[(semantic_category, item_index), ...]``.

    Each line is ``uid,size,S item slots,S category slots`` with ``-1`` for empty slots
    (``S`` = 16 in ``disjoint/``, 19 in ``nondisjoint/``).

    Raises:
        InvalidInputError: a line has an odd number of slots or a bad size.
    """
    out: list[list[tuple[int, int]]] = []
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            values = [int(v) for v in line.split(",")]
        except ValueError as exc:
            raise InvalidInputError(
                f"line {n}: not integers: {line[:60]!r}", field=f"line {n}"
            ) from exc
        slots = (len(values) - 2) // 2
        size = values[1] if len(values) > 1 else -1
        if len(values) < 4 or (len(values) - 2) % 2 or not 0 < size <= slots:
            raise InvalidInputError(
                f"line {n}: malformed outfit tuple {line[:60]!r}", field=f"line {n}"
            )
        items = values[2 : 2 + slots]
        cats = values[2 + slots :]
        pairs = [(cats[j], items[j]) for j in range(size)]
        if any(c < 0 or i < 0 for c, i in pairs):
            raise InvalidInputError(f"line {n}: empty slot inside the outfit", field=f"line {n}")
        out.append(pairs)
    return out


def parse_categories_csv(text: str) -> dict[str, tuple[str, str]]:
    """``categories.csv`` -> ``{fine_id: (fine name, semantic name)}`` (first row per id)."""
    out: dict[str, tuple[str, str]] = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 3 and row[0].strip():
            out.setdefault(row[0].strip(), (row[1].strip(), row[2].strip()))
    return out


def parse_maryland(obj: Mapping[str, Any]) -> list[MarylandOutfit]:
    """Maryland JSON -> outfits with their titled items in slot order (file order kept).

    Items without a title are dropped; unknown slots raise.

    Raises:
        InvalidInputError: an outfit is not a mapping of known slots.
    """
    out: list[MarylandOutfit] = []
    for outfit_id, slots in obj.items():
        if not isinstance(slots, Mapping):
            raise InvalidInputError(f"outfit {outfit_id}: not an object", field=str(outfit_id))
        unknown = set(slots) - set(MARYLAND_SLOTS)
        if unknown:
            raise InvalidInputError(
                f"outfit {outfit_id}: unknown slots {sorted(unknown)}", field=str(outfit_id)
            )
        items = tuple(
            (slot, str(slots[slot]["name"]).strip())
            for slot in MARYLAND_SLOTS
            if slot in slots and str(slots[slot].get("name") or "").strip()
        )
        out.append(MarylandOutfit(str(outfit_id), items))
    return out


# ---------------------------------------------------------------- negatives


def corrupt(
    outfits: Sequence[Outfit],
    groups: np.ndarray,
    pool: np.ndarray,
    rng: np.random.Generator,
    n_replace: int | None = None,
) -> list[Outfit]:
    """Replace items by random pool items of the same group (never the item itself).

    ``n_replace=None`` replaces every item; otherwise that many random positions.
    Items whose group has no other pool item are kept.
    """
    by_group: dict[int, np.ndarray] = {}
    for g in np.unique(groups[pool]):
        by_group[int(g)] = pool[groups[pool] == g]
    out: list[Outfit] = []
    for outfit in outfits:
        items = list(outfit)
        k = len(items) if n_replace is None else min(n_replace, len(items))
        for pos in rng.choice(len(items), size=k, replace=False):
            cands = by_group.get(int(groups[items[pos]]))
            if cands is None or len(cands) < 2:
                continue
            for _ in range(_MAX_DRAWS):
                new = int(cands[rng.integers(len(cands))])
                if new not in items:
                    items[pos] = new
                    break
        out.append(tuple(items))
    return out


# ---------------------------------------------------------------- loaders


def _subset(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def load_polyvore_outfits(
    root: Path, rng: np.random.Generator, limits: Mapping[str, int] | None = None
) -> OutfitData:
    """Load the disjoint split of Polyvore Outfits (``root`` = ``.../polyvore_outfits``).

    ``limits`` caps the number of outfits per split (``train``, ``valid``, ``test``) with
    a seeded subset of the lines (smoke runs). See the module docstring for negatives.
    """
    limits = limits or {}
    item_ids: list[list[str]] = json.loads((root / "disjoint" / "items.json").read_text())
    fine_of: dict[str, str] = json.loads((root / "vasileva" / "train_category.json").read_text())
    categories = parse_categories_csv((root / "vasileva" / "categories.csv").read_text())
    semantic = sorted({sem for _, sem in categories.values() if sem})
    if len(semantic) != len(item_ids):
        raise InvalidInputError(
            f"{len(semantic)} semantic categories in categories.csv but {len(item_ids)} item lists",
            field="items.json",
        )
    fine_keys = {fid: n for n, fid in enumerate(sorted(categories, key=lambda s: (len(s), s)))}
    builder = _TableBuilder()

    def item(sem: int, idx: int) -> int:
        if not 0 <= sem < len(item_ids) or not 0 <= idx < len(item_ids[sem]):
            raise InvalidInputError(f"item ({sem}, {idx}) out of range", field="items.json")
        iid = item_ids[sem][idx]
        sem_name = semantic[sem]
        fid = fine_of.get(iid, "")
        name = categories[fid][0] if fid in categories else "undefined"
        if name == "undefined":
            text, key = sem_name, len(fine_keys) + sem
        else:
            text, key = name, fine_keys[fid]
        return builder.add((iid,), text, _coarse_id(text, sem_name), sem, key)

    def read(name: str) -> list[list[tuple[int, int]]]:
        return parse_outfit_tuples((root / "disjoint" / name).read_text().splitlines())

    def outfits(rows: list[list[tuple[int, int]]], keep: np.ndarray) -> list[Outfit]:
        return [tuple(item(c, i) for c, i in rows[k]) for k in keep]

    train_rows, valid_rows = read("train_pos"), read("valid_pos")
    test_rows, test_neg_rows = read("test_pos"), read("test_neg")
    if len(test_rows) != len(test_neg_rows):
        raise InvalidInputError(
            f"{len(test_rows)} test positives vs {len(test_neg_rows)} negatives", field="test_neg"
        )
    train = outfits(train_rows, _subset(len(train_rows), limits.get("train"), rng))
    valid_pos = outfits(valid_rows, _subset(len(valid_rows), limits.get("valid"), rng))
    keep = _subset(len(test_rows), limits.get("test"), rng)
    test_pos, test_neg = outfits(test_rows, keep), outfits(test_neg_rows, keep)
    table = builder.build()
    data = OutfitData("po", table, train, [], valid_pos, [], test_pos, test_neg)
    return OutfitData(
        "po",
        table,
        train,
        corrupt(train, table.groups, data.pool("train"), rng),
        valid_pos,
        corrupt(valid_pos, table.groups, data.pool("valid"), rng),
        test_pos,
        test_neg,
        corrupt(test_pos, table.groups, data.pool("test"), rng),
    )


def load_maryland(
    root: Path,
    rng: np.random.Generator,
    limits: Mapping[str, int] | None = None,
    valid_fraction: float = 0.1,
) -> OutfitData:
    """Load Maryland Polyvore (``root`` = ``.../polyvore_maryland``).

    Train = ``valid_no_dup...json`` minus a seeded ``valid_fraction`` kept for validation;
    test = ``test_dev_half.json``. Outfits with fewer than two titled items are dropped.
    Negatives (one per positive) replace every item with a random same-slot item of the
    same split.
    """
    limits = limits or {}
    builder = _TableBuilder()

    def add(outfits: Sequence[MarylandOutfit], split: str) -> list[Outfit]:
        out = []
        for o in outfits:
            out.append(
                tuple(
                    builder.add(
                        (split, o.outfit_id, slot),
                        title,
                        _coarse_id(title, _SLOT_WORD[slot]),
                        MARYLAND_SLOTS.index(slot),
                        _coarse_id(title, _SLOT_WORD[slot]),
                    )
                    for slot, title in o.items
                )
            )
        return out

    train_all = [
        o
        for o in parse_maryland(json.loads((root / MARYLAND_TRAIN).read_text()))
        if len(o.items) >= 2
    ]
    test_all = [
        o
        for o in parse_maryland(json.loads((root / MARYLAND_TEST).read_text()))
        if len(o.items) >= 2
    ]
    order = rng.permutation(len(train_all))
    n_valid = round(valid_fraction * len(train_all))
    valid_rows = [train_all[i] for i in order[:n_valid]]
    train_rows = [train_all[i] for i in order[n_valid:]]
    train_rows = [train_rows[i] for i in _subset(len(train_rows), limits.get("train"), rng)]
    valid_rows = [valid_rows[i] for i in _subset(len(valid_rows), limits.get("valid"), rng)]
    test_rows = [test_all[i] for i in _subset(len(test_all), limits.get("test"), rng)]
    train, valid, test = add(train_rows, "train"), add(valid_rows, "valid"), add(test_rows, "test")
    table = builder.build()
    data = OutfitData("md", table, train, [], valid, [], test, [])
    return OutfitData(
        "md",
        table,
        train,
        corrupt(train, table.groups, data.pool("train"), rng),
        valid,
        corrupt(valid, table.groups, data.pool("valid"), rng),
        test,
        corrupt(test, table.groups, data.pool("test"), rng),
    )
