"""An OpenID Connect provider on loopback: a real HTTP server in its own thread that speaks the
protocol the console's client does (discovery, authorisation code with PKCE S256, token, JWKS).

The person signed in at the provider is set by the test (`signed_in_as`); `/authorize` then
redirects back with a single-use code, and `/token` refuses a wrong client secret, redirect URL
or PKCE verifier before it answers with an RS256 ID token signed by a key generated here.
`id_token_changes` alters the next ID tokens (a claim set to None is left out) and
`sign_with_stranger_key` signs them with a key the JWKS does not hold.
"""

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


def _error(code: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": code}, status_code=status)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Exchange:
    """One code the console redeemed at the token endpoint, and what the provider found."""

    code_challenge_method: str
    verifier_matched: bool
    client_authenticated: bool


@dataclass
class OidcProvider:
    redirect_uri: str
    client_id: str = "complaints-console"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    signed_in_as: str | None = None
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    sign_with_stranger_key: bool = False
    discovery_issuer: str | None = None  # a discovery document naming another issuer
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Bound here and handed to uvicorn: a port chosen first and bound later can be taken by
        # another test worker in between.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._codes: dict[str, dict[str, Any]] = {}
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: self._server.run(sockets=[self._socket]), daemon=True
        )

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "OidcProvider":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the OpenID Connect provider did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.discovery_issuer or self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def _jwks(self, _: Request) -> Response:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**public, "kid": self._kid, "use": "sig", "alg": "RS256"}]})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return _error("invalid_client")  # never redirect to an unregistered address
        state = q.get("state", "")
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return self._back(state=state, error="unsupported_response_type")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return self._back(state=state, error="invalid_request")  # PKCE S256 required
        if self.signed_in_as is None:
            return self._back(state=state, error="login_required")
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "user": self.signed_in_as,
            "nonce": q.get("nonce"),
            "challenge": q["code_challenge"],
            "method": q["code_challenge_method"],
        }
        return self._back(state=state, code=code)

    def _back(self, **params: str) -> Response:
        return RedirectResponse(f"{self.redirect_uri}?{urlencode(params)}", status_code=302)

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
            return secrets.compare_digest(basic[6:].encode(), expected)
        return form.get("client_id") == self.client_id and secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        )

    async def _token(self, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        authenticated = self._client_authenticated(request, form)
        grant = self._codes.pop(form.get("code", ""), None)  # single use
        if grant is None or form.get("grant_type") != "authorization_code":
            return _error("invalid_grant")
        matched = s256(form.get("code_verifier", "")) == grant["challenge"]
        self.exchanges.append(Exchange(grant["method"], matched, authenticated))
        if not authenticated:
            return _error("invalid_client", 401)
        if form.get("redirect_uri") != self.redirect_uri or not matched:
            return _error("invalid_grant")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"user-{grant['user']}",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "nonce": grant["nonce"],
            **self.users[grant["user"]],
            **self.id_token_changes,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self._stranger if self.sign_with_stranger_key else self._key
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self._kid})
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "openid profile",
                "id_token": id_token,
            }
        )
