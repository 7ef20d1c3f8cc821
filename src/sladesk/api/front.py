"""The front door: the interactive API docs served offline, and every response's hardening headers.

The docs page (`/api/docs`) runs Swagger UI from the `swagger-ui-bundle` package's files, served by the
desk itself under `/api/docs/static`: it works on a machine without internet and loads nothing from
elsewhere. Every response carries a Content-Security-Policy (none for JSON, the desk's own scripts and
styles for the docs page and the web pages, no script for the reports' charts), `X-Content-Type-Options:
nosniff` and `Referrer-Policy: no-referrer`; an answer to a request with credentials (an `Authorization`
header) is never stored by a cache. An error
no handler answers is a bare 500 problem document; its traceback goes to the server's log.
"""

from __future__ import annotations

import json
from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/api/docs"
DOCS_STATIC = f"{DOCS_PATH}/static"
DOCS_INIT = f"{DOCS_PATH}/init.js"
# The document as the bundled Swagger UI reads it. swagger-ui-bundle ships Swagger UI 4, which refuses to
# draw a document that says `openapi: 3.1.0` (FastAPI's); the same document labelled 3.0.3 draws every
# operation. The API's own document at /api/openapi.json stays as FastAPI made it.
DOCS_OPENAPI = f"{DOCS_PATH}/openapi.json"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
JSON_PATHS = ("/api/", "/metrics")
# The web pages (`sladesk.web`): the desk's own scripts, styles and images only, no inline script or style,
# forms posted to the desk only, and never framed by another site.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The reports dashboard shows its charts as SVG documents in `<object>` elements (so their bars can be
# clicked): the page's policy with the desk's own objects allowed, and the charts a policy of their own: no
# script, their own inline `<style>`, framed by the desk's own pages only.
REPORTS_PATH = "/reports"
REPORTS_POLICY = PAGE_POLICY.replace("; base-uri", "; object-src 'self'; frame-src 'self'; base-uri")
CHARTS_PATH = "/reports/charts/"
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'self'"
# Swagger UI: its script and style sheet from the desk, the style attributes it sets, its data: icons,
# and requests to the desk's own API (the OpenAPI document, "Try it out").
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def install(app: FastAPI) -> None:
    """Add the offline docs to `app` (made with `docs_url=None`), and the headers middleware."""
    app.mount(DOCS_STATIC, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page(app.title))

    @app.get(DOCS_INIT, include_in_schema=False)
    def docs_init() -> Response:
        return Response(_docs_script(DOCS_OPENAPI), media_type="text/javascript")

    @app.get(DOCS_OPENAPI, include_in_schema=False)
    def docs_openapi() -> Response:
        return Response(json.dumps({**app.openapi(), "openapi": "3.0.3"}), media_type="application/json")

    app.add_middleware(Hardening)


def _docs_page(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{escape(title)} API</title>
<link rel="stylesheet" type="text/css" href="{DOCS_STATIC}/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_STATIC}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS_STATIC}/swagger-ui-bundle.js"></script>
<script src="{DOCS_INIT}"></script>
</body>
</html>
"""


def _docs_script(openapi_url: str) -> str:
    # A script of the desk's own rather than one inline in the page: the page's policy allows no inline script.
    return f"""window.ui = SwaggerUIBundle({{
  url: {json.dumps(openapi_url)},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis],
}});
"""


class Hardening:
    """ASGI middleware: the hardening headers on every response, and a bare 500 for an unhandled error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = _policy_of(path)
        credentials = any(name == b"authorization" for name, _ in scope["headers"])
        started = False

        async def hardened_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _hardened(list(message.get("headers", [])), policy, credentials)
            await send(message)

        try:
            await self.app(scope, receive, hardened_send)
        except Exception:
            if started:
                raise
            body = json.dumps(
                {
                    "type": "about:blank",
                    "title": "Internal server error",
                    "status": 500,
                    "detail": "the desk could not answer this request; the error is in its log",
                }
            ).encode()
            headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
            await hardened_send({"type": "http.response.start", "status": 500, "headers": headers})
            await hardened_send({"type": "http.response.body", "body": body})
            raise  # for the server to log with its traceback; the answer has been sent


def _policy_of(path: str) -> str:
    if path == DOCS_PATH:
        return DOCS_POLICY
    if path.startswith(JSON_PATHS):
        return JSON_POLICY
    if path == REPORTS_PATH:
        return REPORTS_POLICY
    if path.startswith(CHARTS_PATH):
        return CHART_POLICY
    return PAGE_POLICY


def _hardened(headers: list[tuple[bytes, bytes]], policy: str, credentials: bool) -> list[tuple[bytes, bytes]]:
    extra = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if credentials:
        extra.append((b"cache-control", b"no-store"))
    replaced = {name for name, _ in extra}
    return [(name, value) for name, value in headers if name.lower() not in replaced] + extra
