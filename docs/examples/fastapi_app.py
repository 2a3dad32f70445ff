"""A minimal FastAPI service over fashionrec-sdk (see docs/how-to/fastapi.md).

Run: FASHIONREC_CATALOG=shop.frcat uvicorn docs.examples.fastapi_app:app
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

import fashionrec_sdk as fr

app = FastAPI(title="fashionrec demo service")
_catalog = fr.Catalog.open(os.environ.get("FASHIONREC_CATALOG", "shop.frcat"))
_rec = fr.Recommender(_catalog)


class CompleteRequest(BaseModel):
    items: list[str]
    k: int = 10
    max_price: float | None = None


class AskRequest(BaseModel):
    text: str
    session: str | None = None  # the JSON from a previous reply


def _results(recs: list[fr.Recommendation]) -> list[dict[str, Any]]:
    return [
        {"id": r.product.id, "title": r.product.title, "price": r.product.price, "score": r.score, "reasons": list(r.reasons)}
        for r in recs
    ]


@app.get("/search")
def search(q: str, k: int = 10) -> dict[str, Any]:
    try:
        return {"results": _results(_rec.search(q, k=k))}
    except fr.InvalidInputError as err:
        raise HTTPException(status_code=422, detail={"field": err.field, "message": str(err)}) from err


@app.post("/complete")
def complete(req: CompleteRequest) -> dict[str, Any]:
    try:
        filters = fr.Filters(max_price=req.max_price) if req.max_price is not None else None
        return {"results": _results(_rec.complete_outfit(req.items, k=req.k, filters=filters))}
    except fr.InvalidInputError as err:
        raise HTTPException(status_code=422, detail={"field": err.field, "message": str(err)}) from err


@app.post("/ask")
def ask(req: AskRequest) -> dict[str, Any]:
    try:
        session = fr.Session.from_json(req.session, recommender=_rec) if req.session else _rec.session()
        reply = session.refine(req.text) if req.session else session.ask(req.text)
    except fr.InvalidInputError as err:
        raise HTTPException(status_code=422, detail={"field": err.field, "message": str(err)}) from err
    return {"reply": reply.text, "results": _results(list(reply)), "session": session.to_json()}
