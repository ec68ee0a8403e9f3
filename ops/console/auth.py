"""Who may use the console: operators, with a bearer token, ``?access_token=`` or the login cookie."""

from __future__ import annotations

import jwt
from fastapi import HTTPException, Request, status

from shared.web.auth import Principal, allow, principal_of

COOKIE = "linli_console_token"
LOGIN = "/console/login"


def request_token(request: Request) -> tuple[str | None, bool]:
    """The token of a request and whether it came in the URL (``?access_token=``)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    if request.query_params.get("access_token"):
        return request.query_params["access_token"], True
    return request.cookies.get(COOKIE), False


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and request.method == "GET"


class operator_console(allow):  # noqa: N801 - reads as a declaration on a route
    """Dependency: the caller must be an operator. Pages send a browser without a token to the login
    form, and a token given as ``?access_token=`` is moved into an HttpOnly cookie (the URL is cleaned)."""

    def __init__(self) -> None:
        super().__init__("operator")

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        token, in_url = request_token(request)
        if not token:
            if wants_html(request):
                raise HTTPException(status.HTTP_303_SEE_OTHER, "请登录 / please log in", headers={"Location": LOGIN})
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "需要登录 / authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = await principal_of(token)
        except jwt.PyJWTError as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, f"令牌无效 / invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        if not principal.roles & self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "无权访问 / forbidden: needs one of operator")
        if in_url and wants_html(request):
            clean = request.url.remove_query_params("access_token")
            raise HTTPException(
                status.HTTP_303_SEE_OTHER,
                "已登录 / logged in",
                headers={
                    "Location": str(clean.path) + (f"?{clean.query}" if clean.query else ""),
                    "Set-Cookie": cookie_header(token, request),
                },
            )
        return principal


def cookie_header(token: str, request: Request, max_age: int = 8 * 3600) -> str:
    """``Set-Cookie`` for the console token: HttpOnly, SameSite=Strict, only under /console."""
    secure = "; Secure" if request.url.scheme == "https" else ""
    return f"{COOKIE}={token}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
