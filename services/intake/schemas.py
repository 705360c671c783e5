"""Request and response bodies of the intake API."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Channel, Facts


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    external_id: str | None = Field(None, max_length=200)


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: Customer
    channel: Channel
    contact: str = Field(
        min_length=1, max_length=320, description="Where the customer is answered on `channel`."
    )
    category: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=20_000)
    product: str | None = Field(None, max_length=200)
    region: str | None = Field(None, max_length=100)
    severity_hint: str | None = Field(None, max_length=50)
    facts: Facts = Facts()
    occurred_at: datetime | None = None
    external_ref: str | None = Field(None, max_length=200)
    language: str | None = Field(
        None,
        max_length=35,
        description="The customer's language, BCP 47: `en`, `zh`, `zh-CN`. When absent it is "
        "read from the description (ISO 639-1, kept only when the reading is confident).",
    )
    new_matter: bool = Field(
        False,
        description="A new matter even if the customer has an open complaint on the same one.",
    )


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    contact: str = Field(min_length=1, max_length=320)
    text: str = Field(min_length=1, max_length=20_000)


class ContactPublic(BaseModel):
    id: str
    channel: Channel
    contact: str
    text: str
    received_at: datetime


class ComplaintPublic(BaseModel):
    id: str
    reference: str
    status: str = "received"
    channel: Channel
    contact: str
    category: str
    product: str | None
    region: str | None
    description: str
    severity_hint: str | None
    facts: Facts
    occurred_at: datetime | None
    external_ref: str | None
    received_at: datetime
    customer: Customer
    contacts: list[ContactPublic] = []
    customer_id: str | None = None
    language: str | None = None
    owner_team: str | None = None
    priority: str | None = None
    due_at: datetime | None = None
    joined: bool = Field(
        False, description="This request joined the open complaint as a follow-up contact."
    )
