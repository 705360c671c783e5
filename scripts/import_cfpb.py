"""Import CFPB consumer complaints through the intake API, so dashboards show real complaints.

Usage: python scripts/import_cfpb.py [FILE.csv ...] [--intake-url URL] [--token TOKEN]
                                     [--limit N] [--concurrency N]
Without files it reads data/cfpb/*.csv. Any CSV with the CFPB columns works (either the
"Date received" or the snake_case headers). Each complaint is posted with Idempotency-Key
`cfpb-<Complaint ID>`, so running it again skips what is already in. The CFPB publishes no
contact details, so each customer gets a reserved example address: `cfpb-<id>@example.com`, a
+1 202 555 01xx number (the range kept for fiction) or a letter address.
"""

import argparse
import asyncio
import csv
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILES = sorted((ROOT / "data" / "cfpb").glob("*.csv"))
CHANNELS = {
    "web": "web",
    "referral": "web",
    "web referral": "web",
    "phone": "phone",
    "email": "email",
    "postal mail": "letter",
    "fax": "letter",
}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")


@dataclass
class Summary:
    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [f"imported: {self.imported}", f"skipped:  {sum(self.skipped.values())}"]
        out += [f"  {reason}: {n}" for reason, n in self.skipped.most_common()]
        out += [f"failed:   {sum(self.failed.values())}"]
        out += [f"  {reason}: {n}" for reason, n in self.failed.most_common()]
        return out


class Skip(ValueError):
    """A row that cannot become a complaint; the message is the reason counted."""


def column(name: str) -> str:
    return (
        re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_").replace("zip_code", "zipcode")
    )


def rows(paths: Iterable[Path]) -> Iterator[dict[str, str]]:
    for path in paths:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                yield {column(k): (v or "").strip() for k, v in row.items() if k}


def _date(value: str) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _cut(value: str, size: int) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


def complaint_body(row: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(the CFPB complaint id, the intake request body) of one CSV row."""
    cfpb_id = row.get("complaint_id", "")
    if not cfpb_id.isdigit():
        raise Skip("no_complaint_id")
    via = row.get("submitted_via", "").lower()
    channel = CHANNELS.get(via)
    if channel is None:
        raise Skip(f"unknown_channel:{via or 'empty'}")
    issue = row.get("issue") or row.get("product") or "Other"
    state = row.get("state") or None
    email = f"cfpb-{cfpb_id}@example.com"
    phone = f"+1 202 555 01{int(cfpb_id) % 100:02d}"
    contact = {
        "phone": phone,
        "letter": f"CFPB consumer {cfpb_id}, PO Box {int(cfpb_id) % 9000 + 1000}, {state or 'US'}",
    }.get(channel, email)
    customer: dict[str, Any] = {
        "name": f"CFPB consumer {cfpb_id}",
        "external_id": f"cfpb:{cfpb_id}",
    }
    customer.update({"phone": phone} if channel == "phone" else {"email": email})
    product = " / ".join(p for p in (row.get("product"), row.get("sub_product")) if p)
    narrative = row.get("consumer_complaint_narrative")
    received = _date(row.get("date_received", ""))
    body = {
        "customer": customer,
        "channel": channel,
        "contact": contact,
        "category": _cut(issue, 100),
        "product": _cut(product, 200) or None,
        "region": state,
        "description": _cut(
            narrative or ". ".join(filter(None, [issue, row.get("sub_issue")])), 20_000
        ),
        "occurred_at": received.isoformat() if received else None,
        "external_ref": f"CFPB-{cfpb_id}",
        # Each CFPB row is its own complaint, never a follow-up of another.
        "new_matter": True,
    }
    return cfpb_id, body


async def post(client: httpx.AsyncClient, row: dict[str, str], summary: Summary) -> None:
    try:
        cfpb_id, body = complaint_body(row)
    except Skip as reason:
        summary.skipped[str(reason)] += 1
        return
    try:
        response = await client.post(
            "/v1/complaints", json=body, headers={"Idempotency-Key": f"cfpb-{cfpb_id}"}
        )
    except httpx.HTTPError as exc:
        summary.failed[f"unreachable:{type(exc).__name__}"] += 1
        return
    if response.status_code == 201 and response.headers.get("Idempotent-Replayed") == "true":
        summary.skipped["already_imported"] += 1
    elif response.status_code == 201:
        summary.imported += 1
    else:
        summary.failed[f"{response.status_code}:{_error_code(response)}"] += 1


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "unexpected"


async def _limited(
    items: Iterator[dict[str, str]], limit: int | None
) -> AsyncIterator[dict[str, str]]:
    for number, item in enumerate(items):
        if limit is not None and number >= limit:
            return
        yield item


async def import_rows(
    client: httpx.AsyncClient,
    items: Iterator[dict[str, str]],
    *,
    limit: int | None = None,
    concurrency: int = 8,
    progress: bool = True,
) -> Summary:
    """Post every row (at most `limit`) with `concurrency` requests in flight."""
    summary = Summary()
    queue: asyncio.Queue[dict[str, str] | None] = asyncio.Queue(maxsize=concurrency * 2)
    bar = tqdm(total=limit, unit="complaint", disable=not progress, file=sys.stderr)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            await post(client, item, summary)
            bar.update()

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    async for item in _limited(items, limit):
        await queue.put(item)
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    bar.close()
    return summary


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="CFPB CSV files (default: the samples)")
    parser.add_argument("--intake-url", default="http://127.0.0.1:8001")
    parser.add_argument("--token", required=True, help="a bearer token with the frontend role")
    parser.add_argument("--limit", type=int, default=None, help="import at most N rows")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    if args.concurrency < 1 or (args.limit is not None and args.limit < 0):
        parser.error("--concurrency must be >= 1 and --limit >= 0")
    return args


async def main(argv: list[str]) -> int:
    args = parse(argv)
    files = args.files or DEFAULT_FILES
    headers = {"Authorization": f"Bearer {args.token}"}
    async with httpx.AsyncClient(base_url=args.intake_url, headers=headers, timeout=30) as client:
        summary = await import_rows(
            client, rows(files), limit=args.limit, concurrency=args.concurrency
        )
    print("\n".join(summary.lines()))
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
