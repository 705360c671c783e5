"""Search: one box for a reference, an email address, a phone number, a customer's name or words
of the description; intake finds the complaints, newest first, a page at a time."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.backend import ServiceError
from services.console.identity import role
from services.console.web import render

router = APIRouter()
Searcher = Annotated[Account, Depends(role("supervisor", "admin"))]
KINDS = ("auto", "reference", "email", "phone", "name", "text")
REFERENCE = re.compile(r"^[A-Za-z]{2,6}-[A-Za-z0-9]{4,20}$")
PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")


def kinds_for(words: str, kind: str) -> list[str]:
    """Which of intake's filters to ask; `auto` reads the words' shape, and plain words are
    looked for both in names and in descriptions."""
    if kind != "auto":
        return [kind]
    if REFERENCE.match(words):
        return ["reference"]
    if "@" in words:
        return ["email"]
    if PHONE.match(words) and sum(c.isdigit() for c in words) >= 7:
        return ["phone"]
    return ["name", "text"] if len(words) >= 3 else ["name"]


@router.get("/search")
async def search(
    request: Request,
    who: Searcher,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: str = "auto",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    words, kind = q.strip(), kind if kind in KINDS else "auto"
    found: dict[str, dict[str, Any]] = {}
    next_cursor, error = None, None
    if words:
        asked = kinds_for(words, kind)
        for filter_name in asked:
            params: dict[str, Any] = {filter_name: words, "limit": 50}
            if cursor and len(asked) == 1:
                params["cursor"] = cursor
            try:
                page = await request.app.state.backend.get(
                    who, "intake", "/v1/complaints", **params
                )
            except ServiceError as exc:
                if exc.status >= 500:
                    raise
                error = exc.message
                continue
            found |= {item["id"]: item for item in page["items"]}
            if len(asked) == 1:
                next_cursor = page.get("next_cursor")
    results = sorted(found.values(), key=lambda c: c["received_at"], reverse=True)
    return render(
        request,
        "search.html",
        q=words,
        kind=kind,
        kinds=KINDS,
        results=results,
        next_cursor=next_cursor,
        error=error,
        searched=bool(words),
    )
