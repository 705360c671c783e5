"""OpenID Connect sign-in (Authlib): authorisation code with PKCE (S256), state and nonce; the
ID token's signature (the provider's JWKS), issuer, audience, expiry and nonce are verified, then
its claims are mapped to a console role and subject."""

from typing import Any

import httpx
import joserfc.errors
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import Request
from fastapi.responses import Response

from services.console.accounts import Account
from services.console.settings import ConsoleSettings

# Only public-key signatures: a JWKS is public, so a shared-secret or unsigned token proves nothing.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
LEEWAY_SECONDS = 60  # clock skew allowed between the console and the provider


class OidcRefused(Exception):
    """The sign-in could not be verified; `code` names why, `detail` says it for people."""

    def __init__(self, code: str, detail: str, status: int = 401):
        super().__init__(detail)
        self.code, self.detail, self.status = code, detail, status


class ProviderUnavailable(Exception):
    """The provider's discovery document, JWKS or token endpoint could not be reached."""


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (`realm_access.roles`)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def mapped_roles(settings: ConsoleSettings, held: Any) -> list[str]:
    """The person's provider roles that the role map knows, in the map's order."""
    names = [held] if isinstance(held, str) else held if isinstance(held, list) else []
    return [provider for provider in settings.oidc_role_map if provider in names]


def session_identity(settings: ConsoleSettings, claims: dict[str, Any]) -> dict[str, Any]:
    """What the session keeps of a verified ID token; refused when it maps to no console role."""
    subject = claim(claims, settings.oidc_subject_claim)
    if not isinstance(subject, str) or not subject.strip():
        raise OidcRefused(
            "no_subject", f"The ID token has no {settings.oidc_subject_claim} claim.", 403
        )
    roles = mapped_roles(settings, claim(claims, settings.oidc_role_claim))
    if not roles:
        raise OidcRefused(
            "no_console_role",
            f"{subject} holds no {settings.oidc_role_claim} that this console maps to a role.",
            403,
        )
    name = claim(claims, settings.oidc_name_claim)
    locale = claims.get("locale")
    return {
        "issuer": settings.oidc_issuer,
        "subject": subject.strip(),
        "roles": roles,
        "name": name if isinstance(name, str) and name.strip() else subject.strip(),
        "language": "zh" if isinstance(locale, str) and locale.lower().startswith("zh") else "en",
    }


def account_of(settings: ConsoleSettings, identity: Any) -> Account | None:
    """The session's OpenID Connect identity as an account, under the role map of today."""
    if not settings.oidc_enabled or not isinstance(identity, dict):
        return None
    if identity.get("issuer") != settings.oidc_issuer:
        return None
    roles = mapped_roles(settings, identity.get("roles"))
    if not roles:
        return None
    subject = str(identity["subject"])
    return Account(
        username=subject,
        role=settings.oidc_role_map[roles[0]],
        subject=subject,
        display_name=str(identity.get("name") or subject),
        language=str(identity.get("language") or "en"),
        active=True,
    )


class OidcSignIn:
    def __init__(self, settings: ConsoleSettings):
        assert settings.oidc_issuer
        self._settings = settings
        self._issuer = settings.oidc_issuer.rstrip("/")
        self._client: Any = OAuth().register(
            name="console",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=discovery_url(settings.oidc_issuer),
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "timeout": settings.service_timeout_seconds,
            },
        )

    async def _metadata(self) -> dict[str, Any]:
        """The discovery document, once it names the configured issuer."""
        try:
            metadata: dict[str, Any] = await self._client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(str(exc)) from exc
        if str(metadata.get("issuer", "")).rstrip("/") != self._issuer:
            found = metadata.get("issuer")
            metadata.clear()  # read it again next time
            raise OidcRefused(
                "issuer_mismatch",
                f"The provider's discovery document names the issuer {found!r}, "
                f"not {self._settings.oidc_issuer!r}.",
            )
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in offered if a in SIGNING_ALGORITHMS]
        if not algorithms:
            raise OidcRefused("no_signing_algorithm", "The provider signs with no public key.")
        metadata["id_token_signing_alg_values_supported"] = algorithms
        return metadata

    async def start(self, request: Request) -> Response:
        """Send the browser to the provider; state, nonce and PKCE verifier stay in the session."""
        await self._metadata()
        try:
            redirect: Response = await self._client.authorize_redirect(
                request, self._settings.oidc_callback_url
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        return redirect

    async def finish(self, request: Request) -> dict[str, Any]:
        """The provider's answer: state checked, code exchanged, ID token verified and mapped."""
        metadata = await self._metadata()
        expected = {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": self._settings.oidc_client_id},
        }
        try:
            token = await self._client.authorize_access_token(
                request, claims_options=expected, leeway=LEEWAY_SECONDS
            )
        except MismatchingStateError as exc:
            raise OidcRefused(
                "state_mismatch", "The answer does not belong to a sign-in this browser began."
            ) from exc
        except OAuthError as exc:
            raise OidcRefused(
                "provider_refused", f"The provider refused: {exc.error} {exc.description or ''}"
            ) from exc
        except joserfc.errors.JoseError as exc:
            raise OidcRefused("id_token_invalid", f"The ID token is not valid: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        except ValueError as exc:
            raise OidcRefused(
                "provider_refused", f"The provider's answer is unreadable: {exc}"
            ) from exc
        claims = token.get("userinfo")
        if not claims:
            raise OidcRefused("no_id_token", "The provider returned no ID token.")
        return session_identity(self._settings, dict(claims))
