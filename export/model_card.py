"""Write the metrics table of docs/MODEL_CARD.md from a bundle's manifest.

    python -m export.model_card [BUNDLE_DIR] [--card docs/MODEL_CARD.md]

The card's prose is hand-written; the block between the ``<!-- metrics:begin -->`` and
``<!-- metrics:end -->`` markers is regenerated so the published numbers are always the
shipped manifest's.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

__all__ = ["metrics_markdown", "update_card"]

BEGIN, END = "<!-- metrics:begin -->", "<!-- metrics:end -->"


def _fmt(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"


def metrics_markdown(manifest: dict[str, object]) -> str:
    """One table per model: every metric, with its baselines next to it."""
    metrics = manifest.get("metrics", {})
    assert isinstance(metrics, dict)
    out = [
        f"Bundle `{manifest.get('name')}` version `{manifest.get('version')}`, created {manifest.get('created')}.",
        "",
    ]
    for model, values in metrics.items():
        out += [f"### {model}", "", "| metric | value |", "|---|---|"]
        for key, value in values.items():
            if key.startswith("prior_") or re.search(r"_auc_[a-z_]+$", key):
                continue
            out.append(f"| `{key}` | {_fmt(float(value))} |")
        per_label = {k: v for k, v in values.items() if re.search(r"_auc_[a-z_]+$", k)}
        if per_label:
            out += [
                "",
                "<details><summary>per-label AUC</summary>",
                "",
                "| label | AUC |",
                "|---|---|",
            ]
            out += [f"| `{k}` | {_fmt(float(v))} |" for k, v in per_label.items()]
            out += ["", "</details>"]
        out.append("")
    return "\n".join(out)


def update_card(bundle: Path, card: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    text = card.read_text()
    block = f"{BEGIN}\n{metrics_markdown(manifest)}\n{END}"
    if BEGIN in text and END in text:
        text = re.sub(
            re.escape(BEGIN) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.S
        )
    else:
        text += "\n## Metrics (held-out)\n\n" + block + "\n"
    card.write_text(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("bundle", nargs="?", default="fashionrec_sdk/models/default", type=Path)
    ap.add_argument("--card", default=Path("docs/MODEL_CARD.md"), type=Path)
    args = ap.parse_args(argv)
    update_card(args.bundle, args.card)
    print(f"metrics of {args.bundle} written into {args.card}")


if __name__ == "__main__":
    main()
