"""Multi-round sessions: four rounds, serialise, restore, continue identically."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._recommend import OpenAIChatReply, Recommender, Session

from ._loopback import loopback
from ._products import sample_products

BODY = fr.BodyProfile(height_cm=170, bust_cm=92, waist_cm=72, hips_cm=96)


@pytest.fixture(scope="module")
def catalog(bundle: fr.ModelBundle) -> Catalog:
    return Catalog.build(sample_products(), bundle=bundle, show_progress=False)


def ids(reply: object) -> list[str]:
    return [r.product.id for r in reply]  # type: ignore[attr-defined]


def test_four_rounds_serialise_restore_continue(catalog: Catalog) -> None:
    rec = Recommender(catalog)
    s = rec.session(fr.UserProfile(body=BODY))
    r1 = s.ask("an outfit for a job interview under $200")
    assert r1.constraints.max_price == 200 and r1.constraints.occasions == ("job interview",)
    assert r1.text.startswith("For job interview")
    assert all(r.product.price is not None and r.product.price <= 200 for r in r1)
    r2 = s.refine("cheaper, no black")
    assert r2.constraints.exclude_colors == ("black",)
    assert r2.constraints.max_price is not None and r2.constraints.max_price < 200
    assert all("black" not in (r.product.color or "") for r in r2)
    s.like(ids(r2)[0])
    r3 = s.refine("show me shoes")
    assert r3.constraints.categories == ("shoes",)
    assert all(r.product.coarse_category == "shoes" for r in r3)
    saved = s.to_json()
    restored = Session.from_json(saved, recommender=rec)
    assert restored.to_json() == saved
    a = s.refine("in red")
    b = restored.refine("in red")
    assert ids(a) == ids(b) and a.text == b.text
    assert len(s.history) == 4 and [h.kind for h in s.history] == [
        "ask",
        "refine",
        "refine",
        "refine",
    ]
    # Undo drops the last refinement: back to round 3's constraints and results.
    u = s.undo()
    assert u.constraints == r3.constraints
    assert ids(u) == ids(r3) or set(ids(u)) <= set(ids(r3)) | {ids(r2)[0]}


def test_undo_and_bad_input(catalog: Catalog) -> None:
    s = Recommender(catalog).session()
    with pytest.raises(fr.InvalidInputError, match="nothing to undo"):
        s.undo()
    with pytest.raises(fr.InvalidInputError, match="text"):
        s.ask("  ")
    with pytest.raises(fr.InvalidInputError, match="not in the catalog"):
        s.like("nope")
    with pytest.raises(fr.InvalidInputError):
        Session.from_json("{broken")
    with pytest.raises(fr.InvalidInputError, match="not a fashionrec session"):
        Session.from_json(json.dumps({"a": 1}))
    detached = Session.from_json(s.to_json())
    with pytest.raises(fr.InvalidInputError, match="not attached"):
        detached.ask("shoes")


def test_reply_is_iterable_typed_and_mentions_products(catalog: Catalog) -> None:
    reply = Recommender(catalog).session().ask("red dress under $300")
    assert len(reply) > 0
    assert isinstance(reply[0], fr.Recommendation)
    first = reply[0].product.title.split()[0].lower()
    assert first in reply.text.lower()


class _Chat(BaseHTTPRequestHandler):
    mode = "ok"
    seen: list[dict[str, object]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(body)
        if self.mode == "500":
            self.send_response(500)
            self.end_headers()
            return
        payload = {
            "choices": [{"message": {"role": "assistant", "content": "Here is a lovely look!"}}]
        }
        if self.mode == "garbage":
            payload = {"nope": True}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def chat_server() -> Iterator[str]:
    with loopback(_Chat) as url:
        yield url


@pytest.mark.parametrize("mode", ["ok", "500", "garbage"])
def test_reply_backend_and_fallback(catalog: Catalog, chat_server: str, mode: str) -> None:
    _Chat.mode = mode
    _Chat.seen = []
    backend = OpenAIChatReply(chat_server, model="test-model", timeout_s=2)
    rec = Recommender(catalog, reply_backend=backend)
    reply = rec.session().ask("a red dress")
    template = Recommender(catalog).session().ask("a red dress").text
    assert _Chat.seen and _Chat.seen[0]["model"] == "test-model"
    if mode == "ok":
        assert reply.text == "Here is a lovely look!"
    else:
        assert reply.text == template  # any failure falls back to the template
    backend.close()


def test_reply_backend_unreachable_falls_back(catalog: Catalog) -> None:
    backend = OpenAIChatReply("http://127.0.0.1:9", model="m", timeout_s=0.5)
    reply = Recommender(catalog, reply_backend=backend).session().ask("shoes")
    assert reply.text == Recommender(catalog).session().ask("shoes").text
