"""Read ViBE (Hsiao & Grauman, CVPR 2020) into garments with physique-label targets.

Archive layout (``vibe.tar.gz``, root folder ``vibe/``)::

    dataset/humans/model.json                      name -> height/bust/waist/hips (cm)
    dataset/{onepiece,tops}/meta_descriptions/<product>#<Colour>_meta.txt   one line per fact
    dataset/{onepiece,tops}/model_measurement/<product>#<Colour>_meta.txt   JSON: who wore it

A garment's targets are the union of :func:`fashionrec_sdk._physique.physique_labels` of
its wearers, computed from the measurements recorded in its own ``model_measurement``
file. Garments without wearers or without a description are skipped.

Person identity: the garment files spell names loosely (``"MaeLee"`` for ``"Mae-Lee"``,
``"Monika "``) and ``model.json`` separates namesakes (``"Emma_1"``, ``"Emma_2"``). A wearer
is the ``model.json`` entry with the same normalised base name (lower-case letters only,
``_N`` suffix dropped) and the closest measurements; a wearer missing from ``model.json``
is a person of their own, keyed ``"extra:<normalised name>"``.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from fashionrec_sdk._errors import ArtifactIntegrityError
from fashionrec_sdk._physique import physique_labels

__all__ = [
    "KINDS",
    "Garment",
    "Measurements",
    "extract_vibe",
    "garment_text",
    "load_garments",
    "load_people",
    "product_name",
    "resolve_person",
]

#: ViBE garment folders and the coarse category each maps to.
KINDS: dict[str, str] = {"onepiece": "dress", "tops": "top"}

_FIELDS = ("height", "bust", "waist", "hips")
# Care, origin and size-chart lines say nothing about the garment's shape or fit.
_NOISE = re.compile(
    r"\b(wash|dry clean|designed in|deigned in|made in|do not|tumble|iron|bleach)\b", re.I
)
_SPLIT_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class Measurements:
    """Body measurements in cm."""

    height: float
    bust: float
    waist: float
    hips: float

    def labels(self) -> tuple[str, ...]:
        """The physique labels of this body (shape, height band, size band)."""
        return physique_labels(self.height, self.bust, self.waist, self.hips)

    def distance(self, other: Measurements) -> float:
        return (
            abs(self.height - other.height)
            + abs(self.bust - other.bust)
            + abs(self.waist - other.waist)
            + abs(self.hips - other.hips)
        )


@dataclass(frozen=True)
class Garment:
    """One ViBE product in one colour, with who wore it and the union of their labels."""

    garment_id: str  # "onepiece/34-sleeve-cross-over-dress-1#Black"
    kind: str  # "onepiece" | "tops"
    product: str  # split group: kind + product name without colour and variant number
    text: str
    wearers: tuple[str, ...]
    labels: frozenset[str]


def extract_vibe(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` under ``dest`` once; returns the ``dataset`` folder."""
    marker = dest / ".extracted"
    if not marker.exists():
        if not archive.is_file():
            raise ArtifactIntegrityError(f"ViBE archive not found: {archive}", path=archive)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
        marker.write_text(archive.name)
    found = sorted(dest.glob("**/dataset/humans/model.json"))
    if not found:
        raise ArtifactIntegrityError(f"no dataset/humans/model.json in {archive}", path=archive)
    return found[0].parent.parent


def _measurements(raw: object, path: Path) -> Measurements:
    if not isinstance(raw, dict):
        raise ArtifactIntegrityError(f"expected an object of measurements in {path}", path=path)
    try:
        return Measurements(*(float(raw[f]) for f in _FIELDS))
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactIntegrityError(f"bad measurements {raw!r} in {path}", path=path) from exc


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactIntegrityError(f"cannot read JSON {path}: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise ArtifactIntegrityError(f"expected a JSON object in {path}", path=path)
    return data


def load_people(model_json: Path) -> dict[str, Measurements]:
    """``model.json`` -> person name -> measurements (names stripped of spaces)."""
    return {
        name.strip(): _measurements(raw, model_json) for name, raw in _read_json(model_json).items()
    }


def _base(name: str) -> str:
    return re.sub(r"[^a-z]", "", re.sub(r"_\d+$", "", name.strip()).lower())


def resolve_person(name: str, measured: Measurements, people: dict[str, Measurements]) -> str:
    """The ``model.json`` name of a wearer (see the module docstring for the rule)."""
    base = _base(name)
    candidates = [p for p in people if _base(p) == base]
    if not candidates:
        return f"extra:{base}"
    return min(candidates, key=lambda p: (people[p].distance(measured), p))


def product_name(stem: str) -> str:
    """``"34-sleeve-cross-over-dress-1#SilverMarl"`` -> ``"3/4 sleeve cross over dress, silver marl"``."""
    product, _, colour = stem.partition("#")
    words = [w for w in product.lower().split("-") if w]
    while len(words) > 1 and words[-1].isdigit():  # variant number ("-1", "amelie-35")
        words.pop()
    fractions = {"34": "3/4", "78": "7/8"}
    words = [
        fractions[w] if w in fractions and i + 1 < len(words) else w for i, w in enumerate(words)
    ]
    name = " ".join(words)
    colour_words = _SPLIT_CAMEL.sub(" ", colour).lower().strip()
    return f"{name}, {colour_words}" if colour_words else name


def garment_text(stem: str, description: str) -> str:
    """Item text: product name then the description lines, minus care/origin lines."""
    lines = [ln.strip() for ln in description.splitlines()]
    kept = [ln for ln in lines if ln and not _NOISE.search(ln)]
    return ". ".join([product_name(stem), *kept])


def load_garments(dataset: Path, people: dict[str, Measurements]) -> list[Garment]:
    """All garments with a description and at least one wearer, in a stable order."""
    garments: list[Garment] = []
    for kind in KINDS:
        desc_dir = dataset / kind / "meta_descriptions"
        wear_dir = dataset / kind / "model_measurement"
        if not desc_dir.is_dir() or not wear_dir.is_dir():
            raise ArtifactIntegrityError(f"missing ViBE folder {desc_dir.parent}", path=desc_dir)
        for wear_path in sorted(wear_dir.glob("*_meta.txt")):
            desc_path = desc_dir / wear_path.name
            if not desc_path.is_file():
                continue
            description = desc_path.read_text(encoding="utf-8", errors="replace").strip()
            wearers_raw = _read_json(wear_path)
            if not description or not wearers_raw:
                continue
            stem = wear_path.name.removesuffix("_meta.txt")
            wearers: set[str] = set()
            labels: set[str] = set()
            for name, raw in wearers_raw.items():
                measured = _measurements(raw, wear_path)
                wearers.add(resolve_person(name, measured, people))
                labels.update(measured.labels())
            garments.append(
                Garment(
                    garment_id=f"{kind}/{stem}",
                    kind=kind,
                    product=f"{kind}/{product_name(stem.partition('#')[0])}",
                    text=garment_text(stem, description),
                    wearers=tuple(sorted(wearers)),
                    labels=frozenset(labels),
                )
            )
    return garments
