"""The CFPB import command against an in-process intake on the real broker and database."""

import csv
import importlib.util
import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.intake.app import create_app
from services.intake.models import complaints
from services.intake.settings import IntakeSettings
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth, common_settings, running

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("import_cfpb", ROOT / "scripts" / "import_cfpb.py")
assert _spec and _spec.loader
import_cfpb: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_cfpb)

HEADER = [
    "Date received",
    "Product",
    "Sub-product",
    "Issue",
    "Sub-issue",
    "State",
    "Submitted via",
    "Complaint ID",
]
VIA = ["Web", "Referral", "Phone", "Email", "Postal mail", "Fax", "Carrier pigeon", "Web"]


def write_sample(path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number, via in enumerate(VIA):
            cfpb_id = str(900_000 + number) if number < 7 else ""
            writer.writerow(
                ["2023-08-25", "Mortgage", "FHA", "Payment trouble", "", "CA", via, cfpb_id]
            )
    return path


async def test_cfpb_rows_become_complaints_on_mapped_channels_once(
    env: TestEnv, database: Database, tmp_path: Path
) -> None:
    sample = write_sample(tmp_path / "sample.csv")
    real = import_cfpb.DEFAULT_FILES[0]
    async with database("intake") as url:
        settings = IntakeSettings(**common_settings(env, url))
        async with running(create_app(settings)) as client:
            client.headers.update(auth(settings, "frontend", "cfpb-import"))
            rows = itertools.chain(import_cfpb.rows([sample]), import_cfpb.rows([real]))
            first = await import_cfpb.import_rows(
                client, rows, limit=13, concurrency=4, progress=False
            )
            again = await import_cfpb.import_rows(
                client, import_cfpb.rows([sample]), concurrency=2, progress=False
            )
            engine = app_of(client).state.engine
            async with engine.connect() as conn:
                stored = {
                    r.external_ref: r
                    for r in await conn.execute(
                        select(complaints).where(complaints.c.external_ref.like("CFPB-%"))
                    )
                }
    assert first.imported == 11 and not first.failed
    assert first.skipped == {"unknown_channel:carrier pigeon": 1, "no_complaint_id": 1}
    assert again.imported == 0 and again.skipped["already_imported"] == 6
    channels = [stored[f"CFPB-{900_000 + n}"].channel for n in range(6)]
    assert channels == ["web", "web", "phone", "email", "letter", "letter"]
    phone = stored["CFPB-900002"]
    assert (
        phone.contact == "+12025550102"
        and phone.region == "CA"
        and phone.product == "Mortgage / FHA"
    )
    assert len(stored) == 11


def test_headers_of_both_cfpb_layouts_map_to_the_same_columns() -> None:
    assert import_cfpb.column("Consumer disputed?") == "consumer_disputed"
    assert import_cfpb.column("ZIP code") == import_cfpb.column("zipcode") == "zipcode"
    assert import_cfpb.column("Complaint ID") == "complaint_id"
