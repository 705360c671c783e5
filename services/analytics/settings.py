from typing import Annotated

from fastapi import Depends

from shared.service import Runtime, get_runtime
from shared.settings import ServiceSettings, service_field


class AnalyticsSettings(ServiceSettings):
    service_name: str = "analytics"
    amqp_url: str | None = service_field("analytics", "amqp_url", None)
    port: int = service_field("analytics", "port", 8005)
    database_url: str | None = service_field("analytics", "database_url", None)
    # Every event of the loop lands here: fold up to this many per transaction, waiting up to
    # this long after the first for the batch to fill. A complaint's events close together in
    # time then share one re-projection, and the per-batch work is spread over more events:
    # receiving and folding share one core, so the cheaper the fold, the faster the receipt
    # (catching up on a backlog here: ~2.6k events/s waiting 0.05 s, ~3.7k waiting 0.5 s).
    # KPIs are for reports: half a second more before an event counts costs nobody.
    bus_batch_size: int = service_field("analytics", "bus_batch_size", 10_000)
    bus_batch_wait_seconds: float = service_field("analytics", "bus_batch_wait_seconds", 0.5)
    # Complaints whose history and rows this process keeps after writing them, so that their
    # next events need not read them back (services/analytics/projection/state_cache.py); 0 turns it
    # off.
    # Live, a complaint's events come within days: a few days of complaints is enough.
    state_cache_size: int = service_field("analytics", "state_cache_size", 20_000)
    # Objects allocated between two young-generation garbage collections (Python's default is
    # 700). A batch allocates millions of objects that live until its commit; at the default
    # they are scanned again and again and promoted, and full collections over the whole heap
    # took a quarter of the ingest time. Garbage here is freed by reference counting; the
    # collector only finds cycles, which are rare, so collecting less often costs little memory.
    gc_young_threshold: int = service_field("analytics", "gc_young_threshold", 100_000)
    # When set (PostgreSQL only), the read-only role `bi_reader` may log in with this password;
    # unset, it stays NOLOGIN and an administrator grants it to a login role of their own.
    bi_reader_password: str | None = service_field("analytics", "bi_reader_password", None)
    # Percentiles are exact up to this many confirmed complaints in the period; above, they come
    # from the rollup's histograms (within 1%), so that a year of a large organisation stays fast.
    kpi_exact_limit: int = service_field("analytics", "kpi_exact_limit", 20_000)


# The service's runtime, its settings typed as its own (see shared.service.Runtime).
AnalyticsRuntime = Runtime[AnalyticsSettings]
AnalyticsRuntimeDep = Annotated[AnalyticsRuntime, Depends(get_runtime)]
