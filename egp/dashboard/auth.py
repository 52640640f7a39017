"""HTTP basic authentication for the dashboard, as Flower has it: one `user:password` pair from the
environment (EGP_DASHBOARD_BASIC_AUTH; compose passes Flower's), asked of every request but the health check.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

ENV_VARIABLE = "EGP_DASHBOARD_BASIC_AUTH"
# The container health check reads this path without credentials; it shows no data.
OPEN_PATHS = ("/healthz",)


def parse_credentials(text: str) -> tuple[str, str]:
    """`user:password` as a pair; ValueError naming the expected form otherwise."""
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise ValueError(f"{ENV_VARIABLE} must be user:password")
    return user, password


class BasicAuth:
    """ASGI middleware answering 401 to any HTTP request without the configured user and password."""

    def __init__(self, app: ASGIApp, user: str, password: str) -> None:
        """Guard `app` with `user` and `password`."""
        self.app = app
        self.expected = f"{user}:{password}".encode()

    def allowed(self, header: bytes | None) -> bool:
        """Whether an Authorization header carries the configured credentials (compared in constant time)."""
        if header is None or not header.lower().startswith(b"basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an authorised request on; answer 401 with a challenge otherwise."""
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization")
        if self.allowed(header):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", b'Basic realm="EGP dashboard"'),
                    (b"content-type", b"text/plain; charset=utf-8"),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"401: the EGP dashboard needs a user and password\n"}
        )
