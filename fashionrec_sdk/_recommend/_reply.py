"""Assistant reply text: a deterministic template, optionally re-phrased by a chat model."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Protocol

import httpx

from .._errors import RemoteFetchError
from .._parser import Constraints
from .._records import Recommendation
from ._ranking import short_name

__all__ = ["OpenAIChatReply", "ReplyBackend", "template_reply"]

logger = logging.getLogger("fashionrec_sdk")


class ReplyBackend(Protocol):
    """Re-phrases a drafted reply; any exception makes the session keep the draft."""

    def phrase(
        self, request: str, draft: str, recommendations: Sequence[Recommendation]
    ) -> str: ...


def template_reply(
    request: str, constraints: Constraints, recs: Sequence[Recommendation], *, refined: bool
) -> str:
    """The deterministic reply, written from the results' reasons."""
    if not recs:
        limits = constraints.describe()
        return (
            f"I found nothing that matches “{request.strip()}”"
            + (f" ({limits})" if limits else "")
            + ". Try relaxing a limit, or undo the last change."
        )
    head = constraints.describe() or request.strip()
    if refined:
        lead = f"Updated ({head})" if head else "Updated"
    else:
        lead = head[:1].upper() + head[1:] if head.startswith("for ") else f"For {head}"
    parts = []
    for r in recs[:3]:
        price = f", ${r.product.price:g}" if r.product.price is not None else ""
        why = r.reasons[0] if r.reasons else ""
        detail = f" ({why}{price})" if why or price else ""
        parts.append(short_name(r.product) + detail)
    body = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    more = f" Plus {len(recs) - 3} more below." if len(recs) > 3 else ""
    return f"{lead}: {body}.{more}"


class OpenAIChatReply:
    """Phrase replies with an OpenAI-compatible ``POST /v1/chat/completions`` endpoint.

    Only the drafted reply and the recommended products' names, prices and reasons are
    sent. Timeouts, non-2xx answers and malformed bodies raise :class:`RemoteFetchError`,
    on which the session falls back to the template.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        max_tokens: int = 200,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/v1/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers, transport=transport)

    def phrase(self, request: str, draft: str, recommendations: Sequence[Recommendation]) -> str:
        items = [
            {"name": r.product.title, "price": r.product.price, "reasons": list(r.reasons)}
            for r in recommendations[:6]
        ]
        payload = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": 0,
            "messages": [
                {
                    "role": "system",
                    "content": "You are a concise fashion shop assistant. Rewrite the draft reply in at "
                    "most three friendly sentences. Mention only the products listed; never invent "
                    "products, prices or facts.",
                },
                {
                    "role": "user",
                    "content": json.dumps({"request": request, "draft": draft, "products": items}),
                },
            ],
        }
        try:
            resp = self._client.post(self.url, json=payload)
        except httpx.HTTPError as err:
            raise RemoteFetchError(
                f"chat endpoint failed: {type(err).__name__}: {err}", url=self.url
            ) from err
        if resp.status_code != 200:
            raise RemoteFetchError(
                f"chat endpoint answered {resp.status_code}",
                url=self.url,
                status_code=resp.status_code,
            )
        try:
            text = resp.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise RemoteFetchError(
                f"chat endpoint sent an unexpected body: {err}", url=self.url
            ) from err
        if not isinstance(text, str) or not text.strip():
            raise RemoteFetchError("chat endpoint sent an empty reply", url=self.url)
        return text.strip()

    def close(self) -> None:
        self._client.close()
