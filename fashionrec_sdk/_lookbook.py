"""A self-contained HTML lookbook of recommendation results (no external assets)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._records import Product, Recommendation

__all__ = ["LookbookSection", "render_lookbook", "write_lookbook"]

_SWATCH = {
    "black": "#222",
    "white": "#f4f4f4",
    "red": "#c62828",
    "blue": "#1e5bb8",
    "navy": "#1b2a4a",
    "green": "#2e7d32",
    "pink": "#e88fb0",
    "grey": "#8a8a8a",
    "beige": "#d8c3a5",
    "brown": "#6d4c41",
    "yellow": "#f2c94c",
    "orange": "#ef7d32",
    "purple": "#7b3fa0",
    "cream": "#f3ead3",
    "gold": "#c9a227",
    "silver": "#b8bcc2",
    "burgundy": "#7a1f3d",
    "khaki": "#b7a77a",
    "teal": "#167d7f",
    "ivory": "#fbf6e9",
    "camel": "#c19a6b",
    "olive": "#6b6b2e",
    "maroon": "#6a1b2a",
    "tan": "#c8a27c",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#faf8f5;color:#222}
header{padding:24px 32px;background:#1b2a4a;color:#fff}header h1{margin:0;font-size:24px}
header p{margin:6px 0 0;opacity:.8}
section{padding:18px 32px;border-bottom:1px solid #e6e1da}
h2{font-size:18px;margin:0 0 4px}.req{color:#555;margin:0 0 6px}.say{background:#fff;border-left:4px solid #1b2a4a;
padding:8px 12px;margin:8px 0 12px;font-style:italic}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:14px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);overflow:hidden;display:flex;flex-direction:column}
.img{height:150px;display:flex;align-items:center;justify-content:center;font-size:42px;color:#fff;font-weight:600}
.img img{max-height:150px;max-width:100%}
.body{padding:10px 12px}.title{font-weight:600;font-size:14px;margin-bottom:4px}
.meta{font-size:12px;color:#666}.score{font-size:12px;margin-top:6px}
.bar{height:5px;background:#eee;border-radius:3px;margin:2px 0 4px}.bar span{display:block;height:5px;border-radius:3px;background:#1e5bb8}
ul{margin:6px 0 0;padding-left:16px;font-size:12px;color:#2e5d2e}
.note{font-size:13px;color:#555}
.pics{display:flex;flex-wrap:wrap;gap:14px}.pics figure{margin:0;background:#fff;border-radius:10px;padding:8px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}.pics img{max-height:320px;display:block}
figcaption{font-size:12px;color:#555;margin-top:4px;max-width:320px}
"""


@dataclass
class LookbookSection:
    """One request and its results."""

    title: str
    request: str
    recommendations: Sequence[Recommendation] = ()
    say: str = ""
    note: str = ""
    anchors: Sequence[Product] = field(default_factory=tuple)
    #: ``(caption, PNG bytes)`` pairs: try-on renders, generated sketches, photos.
    pictures: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


def _image(product: Product) -> str:
    colour = _SWATCH.get((product.color or "").split()[0] if product.color else "", "#9aa5b1")
    if isinstance(product.image, bytes):
        b64 = base64.b64encode(product.image).decode()
        return f'<div class="img" style="background:#fff"><img alt="" src="data:image/png;base64,{b64}"></div>'
    if isinstance(product.image, str) and Path(product.image).is_file():
        b64 = base64.b64encode(Path(product.image).read_bytes()).decode()
        return f'<div class="img" style="background:#fff"><img alt="" src="data:image;base64,{b64}"></div>'
    letter = html.escape(product.coarse_category[:1].upper())
    return f'<div class="img" style="background:{colour}">{letter}</div>'


def _card(product: Product, rec: Recommendation | None) -> str:
    price = f"${product.price:,.2f}" if product.price is not None else "no price"
    parts = [
        '<div class="card">',
        _image(product),
        '<div class="body">',
        f'<div class="title">{html.escape(product.title)}</div>',
        f'<div class="meta">{html.escape(product.coarse_category)} · {price}'
        + (f" · {html.escape(product.color)}" if product.color else "")
        + ("" if product.in_stock else " · out of stock")
        + "</div>",
    ]
    if rec is not None:
        parts.append(f'<div class="score">score {rec.score:.3f}</div>')
        for name, value in rec.components.items():
            width = max(0.0, min(1.0, value)) * 100
            parts.append(
                f'<div class="meta">{html.escape(name)} {value:.2f}</div><div class="bar"><span style="width:{width:.0f}%"></span></div>'
            )
        if rec.reasons:
            parts.append(
                "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in rec.reasons) + "</ul>"
            )
    parts.append("</div></div>")
    return "".join(parts)


def render_lookbook(
    sections: Sequence[LookbookSection],
    *,
    title: str = "fashionrec-sdk lookbook",
    subtitle: str = "",
) -> str:
    """The whole page as a string."""
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>",
    ]
    for s in sections:
        out.append(
            f"<section><h2>{html.escape(s.title)}</h2><p class='req'>{html.escape(s.request)}</p>"
        )
        if s.say:
            out.append(f"<div class='say'>{html.escape(s.say)}</div>")
        if s.anchors:
            out.append("<p class='note'>Starting from:</p><div class='grid'>")
            out.extend(_card(p, None) for p in s.anchors)
            out.append("</div><p class='note'>Recommended:</p>")
        if s.recommendations:
            out.append("<div class='grid'>")
            out.extend(_card(r.product, r) for r in s.recommendations)
            out.append("</div>")
        if s.pictures:
            out.append("<div class='pics'>")
            for caption, png in s.pictures:
                data = base64.b64encode(png).decode("ascii")
                out.append(
                    f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
            out.append("</div>")
        if s.note:
            out.append(f"<p class='note'>{html.escape(s.note)}</p>")
        out.append("</section>")
    out.append("</body></html>")
    return "".join(out)


def write_lookbook(path: str | Path, sections: Sequence[LookbookSection], **kwargs: str) -> Path:
    """Write the page atomically (temp file + rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(render_lookbook(sections, **kwargs), encoding="utf-8")
    tmp.replace(target)
    return target
