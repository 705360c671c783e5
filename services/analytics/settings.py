from shared.settings import ServiceSettings, service_field


class AnalyticsSettings(ServiceSettings):
    service_name: str = "analytics"
    port: int = service_field("analytics", "port", 8005)
    database_url: str | None = service_field("analytics", "database_url", None)
