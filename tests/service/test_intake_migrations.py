"""Upgrading an intake database that holds complaints: each key they were sent with becomes one
customer with that key, holding the identifiers its complaints carried."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "intake" / "migrations"

COMPLAINT = text(
    "INSERT INTO complaints (id, reference, customer_name, customer_email, customer_phone,"
    " customer_external_id, customer_key, channel, contact, category, description, facts,"
    " received_at) VALUES (:id, :id, 'Ana', :email, :phone, NULL, :key, :channel, :contact,"
    " 'billing', 'Charged twice.', '{}', :at)"
)


def migrate(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    command.upgrade(config, revision)


def test_existing_complaints_get_customers_with_the_keys_they_were_sent_with(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    migrate(url, "0001")
    engine = create_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    rows = [
        ("c1", "ana@example.com", None, "k-email", "email", "Ana@example.com", "2026-11-01"),
        ("c2", "ana@example.com", "+14155552671", "k-email", "sms", "+14155552671", "2026-11-02"),
        # First seen by phone alone under another key: stays its own customer, keeps its key.
        ("c0", None, "+14155552671", "k-phone", "phone", "+14155552671", "2026-10-01"),
    ]
    with engine.begin() as conn:
        for cid, email, phone, key, channel, contact, at in rows:
            conn.execute(
                COMPLAINT,
                dict(
                    id=cid,
                    email=email,
                    phone=phone,
                    key=key,
                    channel=channel,
                    contact=contact,
                    at=at,
                ),
            )
    migrate(url, "head")
    with engine.connect() as conn:
        customers: dict[str, str] = dict(
            conn.execute(text("SELECT key, id FROM customers")).tuples().all()
        )
        assert set(customers) == {"k-email", "k-phone"}
        owner: dict[str, str] = dict(
            conn.execute(text("SELECT id, customer_id FROM complaints")).tuples().all()
        )
        held = set(conn.execute(text("SELECT kind, value, customer_id FROM customer_identifiers")))
        statuses = {s for (s,) in conn.execute(text("SELECT status FROM complaints"))}
    assert owner == {
        "c0": customers["k-phone"],
        "c1": customers["k-email"],
        "c2": customers["k-email"],
    }
    assert held == {
        ("phone", "+14155552671", customers["k-phone"]),
        ("email", "ana@example.com", customers["k-email"]),
    }
    assert statuses == {"received"}
