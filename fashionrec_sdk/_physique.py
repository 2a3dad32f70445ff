"""Personal physical-feature labels derived from body measurements.

These rules are the single source of truth for the labels the physique model (ML-GCN)
is trained on (``export/``) and that the SDK derives from a :class:`BodyProfile` at run
time. They are written down in ``docs/MODEL_CARD.md``.

Body shape (from bust ``B``, waist ``W``, hips ``H`` in cm; first rule that matches):

* ``hourglass``: ``|B - H| <= 9`` and (``B - W >= 23`` or ``H - W >= 25``)
* ``pear``: ``H - B >= 9``
* ``inverted_triangle``: ``B - H >= 9``
* ``apple``: ``W >= 0.85 * max(B, H)``
* ``rectangle``: everything else

(after the FFIT body-shape rules of Simmons et al., converted from inches.)

Height band: ``petite`` < 168 cm <= ``average_height`` < 176 cm <= ``tall``. The cut
points are set so that the ViBE fashion models (160-181 cm) populate every band; for
the general population they mean "shorter / around / taller than a typical model".

Size band (from hips, the measurement that decides most bottom and dress sizes):
``size_small`` < 92 cm <= ``size_medium`` < 102 cm <= ``size_large``.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "BODY_SHAPES",
    "HEIGHT_BANDS",
    "PHYSIQUE_LABELS",
    "SIZE_BANDS",
    "BodyShape",
    "body_shape",
    "height_band",
    "physique_labels",
    "size_band",
]

BodyShape = Literal["hourglass", "pear", "inverted_triangle", "apple", "rectangle"]

BODY_SHAPES: Final[tuple[str, ...]] = (
    "hourglass",
    "pear",
    "inverted_triangle",
    "apple",
    "rectangle",
)
HEIGHT_BANDS: Final[tuple[str, ...]] = ("petite", "average_height", "tall")
SIZE_BANDS: Final[tuple[str, ...]] = ("size_small", "size_medium", "size_large")
PHYSIQUE_LABELS: Final[tuple[str, ...]] = BODY_SHAPES + HEIGHT_BANDS + SIZE_BANDS


def body_shape(bust_cm: float, waist_cm: float, hips_cm: float) -> BodyShape:
    """Classify a body shape from bust, waist and hip circumferences (cm)."""
    if abs(bust_cm - hips_cm) <= 9 and (bust_cm - waist_cm >= 23 or hips_cm - waist_cm >= 25):
        return "hourglass"
    if hips_cm - bust_cm >= 9:
        return "pear"
    if bust_cm - hips_cm >= 9:
        return "inverted_triangle"
    if waist_cm >= 0.85 * max(bust_cm, hips_cm):
        return "apple"
    return "rectangle"


def height_band(height_cm: float) -> str:
    """``petite`` / ``average_height`` / ``tall``."""
    if height_cm < 168:
        return "petite"
    if height_cm < 176:
        return "average_height"
    return "tall"


def size_band(hips_cm: float) -> str:
    """``size_small`` / ``size_medium`` / ``size_large`` from the hip circumference."""
    if hips_cm < 92:
        return "size_small"
    if hips_cm < 102:
        return "size_medium"
    return "size_large"


def physique_labels(
    height_cm: float, bust_cm: float, waist_cm: float, hips_cm: float, shape: str | None = None
) -> tuple[str, ...]:
    """All labels of one body: its shape, height band and size band."""
    return (
        shape or body_shape(bust_cm, waist_cm, hips_cm),
        height_band(height_cm),
        size_band(hips_cm),
    )
