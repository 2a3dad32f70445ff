"""The ``fashionrec`` command line: build, search, complete, recommend, session, eval, demo.

Every subcommand prints readable text, or JSON with ``--json``. SDK errors exit with
status 2 and a one-line message (no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._bundle import ModelBundle
from ._catalog import Catalog
from ._errors import FashionRecError, MissingDependencyError
from ._recommend import Recommender
from ._records import BodyProfile, Filters, Recommendation, UserProfile

__all__ = ["main"]


def _recs_json(recs: Sequence[Recommendation]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.product.id,
            "title": r.product.title,
            "category": r.product.coarse_category,
            "price": r.product.price,
            "score": round(r.score, 4),
            "components": r.components,
            "reasons": list(r.reasons),
        }
        for r in recs
    ]


def _print_recs(recs: Sequence[Recommendation], *, as_json: bool, header: str = "") -> None:
    if as_json:
        print(json.dumps({"request": header, "results": _recs_json(recs)}, indent=2))
        return
    if header:
        print(header)
    if not recs:
        print("  (no results)")
    for i, r in enumerate(recs, 1):
        price = f"${r.product.price:,.2f}" if r.product.price is not None else "-"
        print(
            f"  {i:2d}. {r.product.title[:60]:60s} {r.product.coarse_category:10s} {price:>10s}  {r.score:6.3f}"
        )
        if r.reasons:
            print(f"      - {'; '.join(r.reasons)}")


def _filters(args: argparse.Namespace) -> Filters | None:
    data: dict[str, Any] = {}
    if getattr(args, "max_price", None) is not None:
        data["max_price"] = args.max_price
    if getattr(args, "min_price", None) is not None:
        data["min_price"] = args.min_price
    if getattr(args, "in_stock", False):
        data["in_stock"] = True
    if getattr(args, "category", None):
        data["categories"] = tuple(args.category)
    return Filters(**data) if data else None


def _body(args: argparse.Namespace) -> BodyProfile | None:
    vals = [getattr(args, n, None) for n in ("height", "bust", "waist", "hips")]
    if all(v is None for v in vals):
        return None
    if any(v is None for v in vals):
        raise SystemExit("error: --height, --bust, --waist and --hips go together")
    return BodyProfile(height_cm=vals[0], bust_cm=vals[1], waist_cm=vals[2], hips_cm=vals[3])


def _recommender(args: argparse.Namespace) -> Recommender:
    bundle = ModelBundle.load(args.bundle) if args.bundle else None
    return Recommender(Catalog.open(args.catalog, bundle=bundle))


def _cmd_build(args: argparse.Namespace) -> int:
    bundle = ModelBundle.load(args.bundle) if args.bundle else None
    cat = Catalog.build(
        args.feed,
        path=args.out,
        bundle=bundle,
        show_progress=not args.json,
        overwrite=args.overwrite,
    )
    report = cat.last_report
    if args.json:
        print(report.model_dump_json(indent=2) if report is not None else "{}")
    else:
        print(f"catalog {args.out}: {len(cat)} products")
        print(report)
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    rec = _recommender(args)
    recs = rec.search(
        args.text, image=args.image, k=args.k, filters=_filters(args), body=_body(args)
    )
    _print_recs(recs, as_json=args.json, header=f"search: {args.text or args.image}")
    return 0


def _cmd_complete(args: argparse.Namespace) -> int:
    rec = _recommender(args)
    recs = rec.complete_outfit(args.ids, k=args.k, filters=_filters(args), body=_body(args))
    _print_recs(recs, as_json=args.json, header=f"complete the look of {', '.join(args.ids)}")
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    rec = _recommender(args)
    user = UserProfile(
        history=tuple(args.history or ()), liked=tuple(args.liked or ()), body=_body(args)
    )
    recs = rec.for_user(user, query=args.query, k=args.k, filters=_filters(args))
    _print_recs(recs, as_json=args.json, header=f"for user (query: {args.query or '-'})")
    return 0


def _cmd_session(args: argparse.Namespace) -> int:
    rec = _recommender(args)
    session = rec.session(UserProfile(body=_body(args)))
    rounds = []
    for i, text in enumerate(args.turns):
        reply = session.ask(text) if i == 0 else session.refine(text)
        if args.json:
            rounds.append(
                {
                    "request": text,
                    "reply": reply.text,
                    "constraints": reply.constraints.model_dump(mode="json"),
                    "results": _recs_json(reply.recommendations),
                }
            )
        else:
            print(f"> {text}\n{reply.text}")
            _print_recs(list(reply), as_json=False)
    if args.json:
        print(json.dumps({"rounds": rounds, "session": json.loads(session.to_json())}, indent=2))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    """Delegates to benchmarks/quality.py, which shares export/'s held-out splits."""
    import importlib

    if os.getcwd() not in sys.path:  # a console script does not put the cwd on sys.path
        sys.path.insert(0, os.getcwd())
    try:
        quality = importlib.import_module("benchmarks.quality")
    except ImportError as err:
        raise MissingDependencyError(
            "`fashionrec eval` runs benchmarks/quality.py from a checkout of the fashionrec-sdk "
            "repository (it reuses the training pipeline's held-out splits); run it from the "
            "repository root",
            package="benchmarks",
        ) from err
    argv = ["--data", args.data]
    argv += ["--out", args.out] if args.out else []
    argv += ["--quick"] if args.quick else []
    argv += ["--bundle", args.bundle] if args.bundle else []
    code: int = quality.main(argv)
    return code


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    run_demo(
        Path(args.products),
        Path(args.out),
        bundle=args.bundle,
        images=Path(args.images) if args.images else None,
        photo=Path(args.photo) if args.photo else None,
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fashionrec", description="Embedded, physique-aware fashion recommendation."
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, catalog: bool = True) -> None:
        if catalog:
            sp.add_argument("catalog", help="catalog directory (made by `fashionrec build`)")
        sp.add_argument("--bundle", help="model bundle directory (default: the shipped one)")
        sp.add_argument("--json", action="store_true", help="machine-readable output")

    def filters(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("-k", type=int, default=10)
        sp.add_argument("--max-price", type=float)
        sp.add_argument("--min-price", type=float)
        sp.add_argument("--in-stock", action="store_true")
        sp.add_argument("--category", action="append", help="coarse category (repeatable)")
        for name in ("height", "bust", "waist", "hips"):
            sp.add_argument(f"--{name}", type=float, help=f"body {name} in cm")

    b = sub.add_parser("build", help="ingest a JSONL/CSV feed into a catalog")
    b.add_argument("feed")
    b.add_argument("--out", required=True)
    b.add_argument("--overwrite", action="store_true")
    common(b, catalog=False)
    b.set_defaults(func=_cmd_build)

    s = sub.add_parser("search", help="text and/or image search")
    common(s)
    s.add_argument("text", nargs="?")
    s.add_argument("--image")
    filters(s)
    s.set_defaults(func=_cmd_search)

    c = sub.add_parser("complete", help="complete the look of some product ids")
    common(c)
    c.add_argument("ids", nargs="+")
    filters(c)
    c.set_defaults(func=_cmd_complete)

    r = sub.add_parser("recommend", help="personalised recommendations")
    common(r)
    r.add_argument("--history", nargs="*")
    r.add_argument("--liked", nargs="*")
    r.add_argument("--query")
    filters(r)
    r.set_defaults(func=_cmd_recommend)

    se = sub.add_parser(
        "session", help="a multi-round conversation: first turn asks, the rest refine"
    )
    common(se)
    se.add_argument("turns", nargs="+")
    for name in ("height", "bust", "waist", "hips"):
        se.add_argument(f"--{name}", type=float)
    se.set_defaults(func=_cmd_session)

    e = sub.add_parser("eval", help="offline evaluation on held-out data (needs ../shared/data)")
    e.add_argument("--data", default="../shared/data")
    e.add_argument("--out", help="write JSON + Markdown here")
    e.add_argument("--quick", action="store_true")
    common(e, catalog=False)
    e.set_defaults(func=_cmd_eval)

    d = sub.add_parser("demo", help="build the sample catalog, run every task, write a lookbook")
    d.add_argument("--products", required=True, help="JSONL feed (python -m export.sample_catalog)")
    d.add_argument("--images", help="folder of query images")
    d.add_argument("--photo", help="a shopper's photo for body estimate and try-on")
    d.add_argument("--out", default="demo_out")
    d.add_argument("--bundle")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except FashionRecError as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
