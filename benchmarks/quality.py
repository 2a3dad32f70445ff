"""Offline quality of the recommender on held-out data, next to simple baselines.

    python -m benchmarks.quality --data ../shared/data [--out bench_out] [--quick]
        [--bundle DIR] [--seed 0] [--only TASK ...]

(``fashionrec eval`` runs the same ``main``.) Everything goes through the public API
(``import fashionrec_sdk as fr``) on the held-out splits of the training pipeline,
imported from ``export/stages`` (same loaders, same seeds); each task's split rule is
the docstring of its module under ``benchmarks/_quality/``:

1. ``compatibility`` (:mod:`._quality.outfits`): AUC and FITB on the outfit stage's
   test outfits (Polyvore Outfits disjoint, Maryland) with ``Stylist.score_outfits``;
   baselines random, mean pairwise cosine, category co-occurrence prior.
   ``complete_the_look`` (:mod:`._quality.retrieval`): hit@10 of a removed item with
   ``complete_outfit`` over a catalog of Maryland test items vs mean-vector search.
2. ``personalization`` (:mod:`._quality.retrieval`): outfits as users, leave one out,
   ``for_user`` vs mean-history search vs chance; ``wearers`` (:mod:`._quality.wearers`):
   ViBE fashion models as users of held-out garments, ``for_user`` with and without
   their ``BodyProfile``.
3. ``physique`` (:mod:`._quality.physique`): per-person AUC of ``physique_fit`` on the
   physique stage's held-out ViBE garments vs label prior and kNN.
4. ``alternatives`` (:mod:`._quality.alternatives`): FashionIQ val recall@10/@50 of
   ``alternatives`` vs concatenated-text search and summed vectors.
5. ``rules`` (:mod:`._quality.rules`): every answer of every call passes its filters.

Output: ``quality.json`` and ``quality.md`` under ``--out`` (default ``bench_out``); the
Markdown is printed. Seeded (``--seed``, the pipeline's default 0). ``--quick`` uses
seeded subsets (< 3 min on a quiet 2-core machine; the full run < 15 min). Exit status:
0, 1 when a business rule was broken (a returned product failing its filters or a
duplicate in an answer), 2 when the data folder is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fashionrec_sdk as fr

from ._quality import alternatives, outfits, physique, report, retrieval, rules, wearers
from ._quality.common import Run

__all__ = ["TASKS", "main"]

TASKS = (
    "compatibility",
    "complete_the_look",
    "personalization",
    "physique",
    "wearers",
    "alternatives",
    "rules",
)
_MODULES = {
    "compatibility": outfits,
    "complete_the_look": retrieval,
    "personalization": retrieval,
    "physique": physique,
    "wearers": wearers,
    "alternatives": alternatives,
    "rules": rules,
}


def _outfit_tasks(run: Run, wanted: set[str], out: dict[str, Any], checks: dict[str, Any]) -> None:
    """Tasks 1a, 1b and 2: they share the outfit data and the Maryland catalog."""
    with run.timed("outfit_data"):
        sets = outfits.load_outfit_sets(run.data, run)
    with run.timed("md_catalog"):
        catalog = retrieval.build_catalog(run, sets["md"])
        rec = fr.Recommender(catalog)
    if "compatibility" in wanted:
        with run.timed("compatibility"):
            out["compatibility"] = outfits.evaluate_compatibility(run, sets)
        md = sets["md"]
        sample = [[md.table.products[p] for p in md.table.pids(o)] for o in md.pos[:5]]
        diff = max(
            abs(rec.score_outfit([p.id for p in o]) - float(run.stylist.score_outfits([o])[0]))
            for o in sample
        )
        checks["Recommender.score_outfit vs Stylist.score_outfits, max |diff|"] = round(diff, 6)
    if "complete_the_look" in wanted:
        with run.timed("complete_the_look"):
            out["complete_the_look"] = retrieval.evaluate_complete_the_look(
                run, sets["md"], catalog, rec
            )
    if "personalization" in wanted:
        with run.timed("personalization"):
            out["personalization"] = retrieval.evaluate_personalization(
                run, sets["md"], catalog, rec
            )


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-4


def split_checks(run: Run, tasks: dict[str, Any]) -> dict[str, str]:
    """Compare split-only figures with what the bundle's training stages reported.

    Baselines that do not depend on the models (random scores, co-occurrence prior) and
    the held-out set sizes must equal the stage metrics in the bundle manifest when the
    splits are the same; ``n/a`` where the run or the bundle is not comparable.
    """
    metrics = run.bundle.manifest.metrics
    out: dict[str, str] = {}
    compat = tasks.get("compatibility")
    stage = metrics.get("outfit_encoder", {})
    if compat is not None:
        if run.quick or run.smoke or not stage:
            out["outfit split = outfit stage's"] = "n/a (quick run or smoke bundle)"
        else:
            bad = [
                f"{ds}/{method}/{key}"
                for ds, d in compat.items()
                for method, tag in (
                    ("baseline_random", "random"),
                    ("baseline_cooccurrence", "cooc"),
                )
                for key, value in d["methods"][method].items()
                if f"{ds}_baseline_{tag}_{key}" in stage
                and not _close(value, stage[f"{ds}_baseline_{tag}_{key}"])
            ]
            out["outfit split = outfit stage's"] = f"MISMATCH {bad}" if bad else "ok"
    phys = tasks.get("physique")
    stage = metrics.get("physique_gcn", {})
    if phys is not None and "garments_n_test" in stage:
        same = phys["n_test_garments_total"] == int(stage["garments_n_test"])
        out["physique held-out garments = physique stage's"] = (
            "ok"
            if same
            else f"MISMATCH {phys['n_test_garments_total']} vs {stage['garments_n_test']:.0f}"
        )
    alts = tasks.get("alternatives")
    stage = metrics.get("feedback_composer", {})
    if alts is not None and stage:
        bad = [
            cat
            for cat, d in alts["categories"].items()
            if f"val_{cat}_described" in stage
            and d["n_captions_described"] != int(stage[f"val_{cat}_described"])
        ]
        out["FashionIQ val captions = composer stage's"] = f"MISMATCH {bad}" if bad else "ok"
    return out


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="benchmarks.quality",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--data", default="../shared/data", help="the shared data folder")
    ap.add_argument("--out", default="bench_out", help="folder for quality.json / quality.md")
    ap.add_argument("--quick", action="store_true", help="seeded subsets (< 3 min)")
    ap.add_argument("--bundle", default=None, help="model bundle folder (default: the SDK's)")
    ap.add_argument("--seed", type=int, default=0, help="the pipeline's seed (default 0)")
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per model")
    ap.add_argument("--only", nargs="+", choices=TASKS, help="run only these tasks")
    ap.add_argument(
        "--split",
        choices=("test", "valid"),
        default="test",
        help="outfit tasks on test (reported) or validation outfits (for tuning)",
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; returns the exit status (see the module docstring)."""
    args = _parser().parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f"error: data folder not found: {data} (expected ../shared/data)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    bundle = fr.ModelBundle.load(args.bundle, providers="cpu", threads=args.threads)
    run = Run(data, bundle, args.seed, args.quick, args.split)
    wanted = set(args.only or TASKS)
    tasks: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    if wanted & {"compatibility", "complete_the_look", "personalization"}:
        _outfit_tasks(run, wanted, tasks, checks)
    if wanted & {"physique", "wearers"}:
        with run.timed("vibe_catalog"):
            prep = physique.prepare(run)
        for name, vibe_task in (
            ("physique", physique.evaluate_physique),
            ("wearers", wearers.evaluate_wearers),
        ):
            if name in wanted:
                with run.timed(name):
                    tasks[name] = vibe_task(run, prep)
    single: dict[str, Callable[[Run], dict[str, Any]]] = {
        "alternatives": alternatives.evaluate_alternatives,
        "rules": rules.evaluate_rules,
    }
    for name, fn in single.items():
        if name in wanted:
            with run.timed(name):
                tasks[name] = fn(run)
    checks.update(split_checks(run, tasks))
    m = bundle.manifest
    result: dict[str, Any] = {
        "meta": {
            "bundle": f"{m.name} {m.version}",
            "bundle_path": str(bundle.path),
            "bundle_sha256": bundle.sha256,
            "smoke_bundle": run.smoke,
            "seed": args.seed,
            "quick": args.quick,
            "threads": args.threads,
            "data": str(data),
            "seconds": round(time.perf_counter() - t0, 1),
            "timings": run.timings,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "sdk_version": fr.__version__,
        },
        "protocol": {t: (_MODULES[t].__doc__ or "").strip() for t in TASKS if t in wanted},
        "tasks": tasks,
        "checks": checks,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    text = report.markdown(result)
    (out / "quality.md").write_text(text)
    print(text)
    broken = "rules" in tasks and (
        tasks["rules"]["pass_pct"] not in (None, 100.0)
        or any(t["calls_with_duplicates"] for t in tasks["rules"]["per_call"].values())
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
