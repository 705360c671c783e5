"""Calls to the five services as the signed-in person; their refusals become readable errors."""

from datetime import timedelta
from typing import Any

import httpx

from services.console.accounts import Account
from services.console.settings import ConsoleSettings
from shared.auth import mint_token


class ServiceError(Exception):
    """A service refused the call or could not be reached; `message` is for people."""

    def __init__(self, status: int, code: str, message: str, service: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.service = service


SERVICE_ROLE = {
    "owner": "owner",
    "department": "department",
    "supervisor": "supervisor",
    "auditor": "supervisor",  # an auditor audits as a supervisor
    "analyst": "analyst",
    "admin": "admin",
}


def _readable(body: Any, status: int) -> tuple[str, str]:
    """The services' error body `{"error": {"code", "message", "fields"?}}` as one sentence."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "http_error", f"The service answered {status}."
    code = str(error.get("code", "http_error"))
    message = str(error.get("message", f"The service answered {status}."))
    fields = error.get("fields")
    if isinstance(fields, list) and fields:
        parts = [
            f"{'.'.join(str(p) for p in f.get('loc', [])[1:]) or 'body'}: {f.get('message', '')}"
            for f in fields
            if isinstance(f, dict)
        ]
        message = f"{message} {'; '.join(parts)}"
    return code, message


class Backend:
    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient):
        self._settings = settings
        self._client = client

    def bearer(self, account: Account) -> str:
        """A short-lived token in the format every service verifies (exp, aud)."""
        return mint_token(
            self._settings.auth_secret,
            SERVICE_ROLE[account.role],
            account.subject,
            timedelta(seconds=self._settings.token_ttl_seconds),
        )

    async def call(
        self,
        account: Account,
        service: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = self._settings.service_url(service) + path
        sent = {"Authorization": f"Bearer {self.bearer(account)}", **(headers or {})}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self._client.request(
                method, url, params=clean, json=json, headers=sent
            )
        except httpx.HTTPError as exc:
            raise ServiceError(
                503,
                "service_unavailable",
                f"The {service} service cannot be reached right now; try again shortly.",
                service,
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            code, message = _readable(body, response.status_code)
            raise ServiceError(response.status_code, code, message, service)
        return response.json() if response.content else None

    async def get(self, account: Account, service: str, path: str, **params: Any) -> Any:
        return await self.call(account, service, "GET", path, params=params)

    async def post(
        self,
        account: Account,
        service: str,
        path: str,
        body: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Any:
        headers = {"Idempotency-Key": key} if key else None
        return await self.call(account, service, "POST", path, json=body, headers=headers)
