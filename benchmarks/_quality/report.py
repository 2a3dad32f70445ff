"""The Markdown report of a quality run (the JSON holds every figure; this is the summary)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["markdown"]


def _pm(stat: dict[str, Any] | None) -> str:
    if not stat:
        return "-"
    if stat.get("se") in (None, 0.0) or stat["se"] != stat["se"]:
        return f"{stat['mean']:.3f}"
    return f"{stat['mean']:.3f} ± {stat['se']:.3f}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _compat(res: dict[str, Any]) -> list[str]:
    rows = []
    for name, d in res.items():
        label = {"po": "Polyvore Outfits (disjoint)", "md": "Maryland"}.get(name, name)
        for method, m in d["methods"].items():
            rows.append(
                [label, method, _num(m.get("auc")), _num(m.get("auc_resampled")), _num(m["fitb"])]
            )
    lines = _table(["test set", "method", "AUC", "AUC (resampled neg.)", "FITB"], rows)
    sizes = ", ".join(
        f"{n}: {d['n_pairs']} of {d['n_test_outfits_total']} test outfits, "
        f"{d['n_fitb_questions']} FITB questions ({d['fitb_candidates']} candidates)"
        for n, d in res.items()
    )
    return [*lines, "", sizes]


def _ranking(res: dict[str, Any], metrics: Sequence[str], what: str) -> list[str]:
    rows = [[m, *(_pm(v.get(k)) for k in metrics)] for m, v in res["methods"].items()]
    lines = _table(["method", *metrics], rows)
    return [*lines, "", what]


def _alternatives(res: dict[str, Any]) -> list[str]:
    keys = (
        "r@10",
        "r@50",
        "r@10_same_text",
        "r@50_same_text",
        "r@10_target_kept",
        "r@50_target_kept",
    )
    rows = [
        [m, *(_num(v[k]["mean_over_categories"]) if k in v else "-" for k in keys)]
        for m, v in res["methods"].items()
    ]
    lines = _table(["method", *keys], rows)
    cats = "; ".join(
        f"{c}: {d['n_queries']} queries, gallery {d['gallery']} (full {d['gallery_full']}), "
        f"SDK < k results {d['sdk_fewer_than_k']}, target rejected by the feedback's parsed "
        f"filters {d['target_rejected_by_parsed_feedback']}"
        for c, d in res["categories"].items()
    )
    note = (
        "Mean over dress/shirt/toptee. *same_text*: an item with the target's text counts; "
        "*target_kept*: only queries whose feedback's parsed hard filters (colours...) accept "
        "the target. "
    )
    return [*lines, "", note + cats]


def _rules(res: dict[str, Any]) -> list[str]:
    rows = [
        [
            call,
            str(t["calls"]),
            str(t["returned"]),
            _num(t["pass_pct"]),
            str(t["calls_with_duplicates"]),
            f"{t['calls_fewer_than_k_when_k_eligible']} / {t['calls_with_k_eligible']}",
        ]
        for call, t in res["per_call"].items()
    ]
    lines = _table(
        ["call", "calls", "returned", "pass %", "dup. answers", "< k with >= k eligible"], rows
    )
    return [
        *lines,
        "",
        f"All calls: {_num(res['pass_pct'])} % of {res['returned']} returned products pass; "
        f"{len(res['filters'])} filter settings, catalog {res['catalog_size']} products, k={res['k']}.",
    ]


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: a header and one table per task that ran."""
    meta = report["meta"]
    tasks = report["tasks"]
    lines = [
        "# fashionrec quality (held-out data)",
        "",
        f"Bundle `{meta['bundle']}` (sha256 {meta['bundle_sha256'][:12]}), seed {meta['seed']}, "
        f"{'quick' if meta['quick'] else 'full'} run, {meta['seconds']:.0f} s.",
    ]
    if meta["smoke_bundle"]:
        lines += ["", "**Smoke bundle: the figures check the harness, they mean nothing.**"]
    if "compatibility" in tasks:
        lines += ["", "## 1a. Outfit compatibility and FITB", "", *_compat(tasks["compatibility"])]
    if "complete_the_look" in tasks:
        r = tasks["complete_the_look"]
        what = (
            f"{r['n_queries']} held-out outfits minus one item, catalog of "
            f"{r['catalog_size']} Maryland test products."
        )
        lines += ["", "## 1b. Complete the look (retrieval)", ""]
        lines += _ranking(r, ("hit@10", "ndcg@10"), what)
    if "personalization" in tasks:
        r = tasks["personalization"]
        what = (
            f"{r['n_users']} outfits as users (leave one out), catalog of "
            f"{r['catalog_size']} Maryland test products."
        )
        lines += ["", "## 2. Personalisation", ""]
        lines += _ranking(r, ("hit@10", "ndcg@10"), what)
    if "wearers" in tasks:
        r = tasks["wearers"]
        what = (
            f"{r['n_users']} ViBE models as users (leave one worn garment out), catalog of "
            f"{r['catalog_size']} held-out garments."
        )
        lines += ["", "## 2b. Personalisation with a body profile (ViBE)", ""]
        lines += _ranking(r, ("hit@10", "ndcg@10"), what)
    if "physique" in tasks:
        r = tasks["physique"]
        what = (
            f"{r['n_people']} people, {r['n_test_garments']} held-out garments "
            f"({r['n_positive_pairs']} worn of {r['n_pairs']} pairs); kNN over "
            f"{r['n_knn_train_garments']} training garments; physique_fit vs batch path "
            f"max |diff| {r['physique_fit_max_abs_diff']}."
        )
        lines += ["", "## 3. Physique fit (worn vs not worn, per person)", ""]
        lines += _ranking(r, ("auc_per_person",), what)
    if "alternatives" in tasks:
        lines += ["", "## 4. Alternatives from feedback (FashionIQ val)", ""]
        lines += _alternatives(tasks["alternatives"])
    if "rules" in tasks:
        lines += ["", "## 5. Business-rule compliance", "", *_rules(tasks["rules"])]
    if report.get("checks"):
        lines += ["", "## Consistency checks", ""]
        lines += [f"- {k}: {v}" for k, v in report["checks"].items()]
    lines += ["", "Timings (s): " + ", ".join(f"{k} {v}" for k, v in meta["timings"].items())]
    return "\n".join(lines) + "\n"
