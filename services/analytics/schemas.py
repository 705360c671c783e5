"""Response bodies of the analytics API; every metric's definition is its field description."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.analytics.kpi.rules import DEFINITIONS as D


class Backlog(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    under_1d: int
    from_1d_to_3d: int = Field(alias="1d_to_3d")
    from_3d_to_7d: int = Field(alias="3d_to_7d")
    from_7d_to_30d: int = Field(alias="7d_to_30d")
    over_30d: int


def _d(name: str) -> str:
    return D[name]


class Kpis(BaseModel):
    received: int = Field(description=_d("received"))
    closed_confirmed: int = Field(description=_d("closed_confirmed"))
    rejected_resolutions: int = Field(description=_d("rejected_resolutions"))
    reopen_rate: float | None = Field(description=_d("reopen_rate"))
    median_hours_to_confirmation: float | None = Field(
        description=_d("median_hours_to_confirmation")
    )
    p90_hours_to_confirmation: float | None = Field(description=_d("p90_hours_to_confirmation"))
    median_hours_claimed_to_confirmed: float | None = Field(
        description=_d("median_hours_claimed_to_confirmed")
    )
    resolved_rejected_share: float | None = Field(description=_d("resolved_rejected_share"))
    audit_failure_rate: float | None = Field(description=_d("audit_failure_rate"))
    attested_share: float | None = Field(description=_d("attested_share"))
    cannot_fulfil_share: float | None = Field(description=_d("cannot_fulfil_share"))
    first_contact_resolution_rate: float | None = Field(
        description=_d("first_contact_resolution_rate")
    )
    department_sla_compliance: float | None = Field(description=_d("department_sla_compliance"))
    marked_resolved: int = Field(description=_d("marked_resolved"))
    resolved_on_time_share: float | None = Field(description=_d("resolved_on_time_share"))
    confirmed_on_time_share: float | None = Field(description=_d("confirmed_on_time_share"))
    satisfaction_answers: int = Field(description=_d("satisfaction_answers"))
    satisfaction_average: float | None = Field(description=_d("satisfaction_average"))
    satisfied_share: float | None = Field(description=_d("satisfied_share"))
    unconfirmed_backlog: Backlog = Field(description=_d("unconfirmed_backlog"))


class GroupKey(BaseModel):
    key: str | None = Field(description="The group's value; null for complaints without one.")


class GroupKpis(Kpis, GroupKey):
    """One group's metrics, the key first so that each reads as a table row."""


class KpiReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | None = Field(alias="from")
    to: datetime | None
    as_of: datetime = Field(description="The moment the backlog ages are measured at.")
    group_by: str
    exact_percentiles: bool = Field(
        description="Whether the median and p90 are exact (false: from histograms, within 1%)."
    )
    groups: list[GroupKpis]
    totals: Kpis
    definitions: dict[str, str] = Field(description="Each metric's definition, by name.")


class RebuildResult(BaseModel):
    streams: int = Field(description="Complaints, incidents and problems re-projected.")
    seconds: float
