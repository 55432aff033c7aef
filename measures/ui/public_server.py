"""The public site's hardening, applied inside each Streamlit server (and, the same values, by the proxy).

`python -m measures serve --public` runs `streamlit run deploy/public_app.py`, which serves the
dashboard through Streamlit's own `st.App` (1.67's ASGI entry point) with `PublicHardening` in front
of Streamlit's routes. Whether or not HAProxy is in front too (`--replicas N`), the server itself:

- refuses every upload (`/_stcore/upload_file/...`, any method: 403) and every method but GET and
  HEAD (405), so nothing a visitor sends is stored;
- does not serve `/_stcore/metrics` (internal function names) or the agent API (404);
- refuses request bodies and header blocks over `MAX_REQUEST_BYTES` (413 / 431);
- drops developer messages arriving on the WebSocket: a visitor's `clear_cache` would empty every
  visitor's caches, `load_git_info` would send the repository's details, `file_urls_request` asks
  for upload addresses; only what the public pages need passes (`ALLOWED_BACKMSGS`);
- adds `SECURITY_HEADERS` to every HTTP answer: a Content-Security-Policy allowing only the site
  itself, no framing, no MIME sniffing, no referrer.

The proxy template (deploy/haproxy.cfg.template) gets the same headers and limits from here
(`serve.proxy_config`), so there is one list of them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import streamlit
from google.protobuf.message import DecodeError
from streamlit.proto.BackMsg_pb2 import BackMsg

from measures.paths import REPO_ROOT

# The routes and message names below are streamlit 1.67's (web/server/starlette/*_routes.py,
# proto/BackMsg.proto); a new Streamlit may add routes or messages, so check them when the pin moves.
STREAMLIT_VERSION = "1.67.0"
DASHBOARD = REPO_ROOT / "dashboard.py"
LAUNCHER = REPO_ROOT / "deploy" / "public_app.py"


def inline_script_hashes(index_html: Path = Path(streamlit.__file__).parent / "static" / "index.html") -> list[str]:
    """CSP sources for the inline scripts of Streamlit's page (one line setting window.prerenderReady),
    hashed from the installed file so that no other inline script runs."""
    scripts = re.findall(r"<script>(.*?)</script>", index_html.read_text(), re.S)
    return ["'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'" for body in scripts]


# Chromium loading every page with this policy reports no violation (tests/test_public_hardening.py).
# Streamlit's protobuf decoder compiles WebAssembly ('wasm-unsafe-eval', not 'unsafe-eval'); its
# bundle needs inline styles (emotion) and style attributes; charts draw with data: and blob: images;
# web workers come from blob:. The same-origin WebSocket (/_stcore/stream) is 'self' in CSP level 3.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    " ".join(["script-src 'self' 'wasm-unsafe-eval'", *inline_script_hashes()]),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # for browsers without CSP frame-ancestors
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # addresses carry area and period choices: not for other sites
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

MAX_REQUEST_BYTES = 16 * 1024  # a request's headers, or its body: the public site needs no more than a few KiB
ALLOWED_METHODS = frozenset({"GET", "HEAD"})
# Path prefixes never served publicly, with the status they get.
REFUSED_PATHS: dict[str, int] = {
    "/_stcore/upload_file": 403,  # the uploader's endpoint: the public site takes no files at all
    "/_stcore/metrics": 404,  # cache and session statistics naming internal functions
    "/_stcore/agent": 404,  # 1.67's agent API (interact, schema, MCP) answers even when switched off
}
# BackMsg types a public page needs: run a page (arrival, navigation, a filter change), keep the
# connection alive, stop its own run; `backend_operation_request` only for dataframe chunks and
# deferred downloads (not the skills installer). Everything else from a visitor is dropped.
ALLOWED_BACKMSGS = frozenset({"rerun_script", "app_heartbeat", "stop_script", "backend_operation_request"})
ALLOWED_BACKEND_OPERATIONS = frozenset({"dataframe_chunk", "deferred_file"})
# The largest frame a visitor may send (MB, Streamlit's option): a rerun with widget state and the
# hashes of the elements the browser holds is a few KiB.
MAX_CLIENT_MESSAGE_MB = 1
# Streamlit uses one option for the largest element it sends and the largest frame uvicorn reads
# before Streamlit's own 1 MB check: the largest element measured is 0.35 MB (a map on
# /area-profile), so 16 MB leaves room for bigger maps and bounds a visitor's frame (default 200).
MAX_SERVER_MESSAGE_MB = 16

_LOG = logging.getLogger("measures.public_server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def refusal(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, str] | None:
    """The status and reason the public site refuses this request with, or None to let it through."""
    for prefix, status in REFUSED_PATHS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return status, "not available on the public site"
    if method not in ALLOWED_METHODS:
        return 405, f"{method} is not accepted on the public site"
    size = 0
    for name, value in headers:
        size += len(name) + len(value) + 4
        if name.lower() == b"content-length" and value.strip() not in (b"", b"0"):
            return 413, "requests with a body are not accepted on the public site"
        if name.lower() == b"transfer-encoding":
            return 413, "requests with a body are not accepted on the public site"
    if size > MAX_REQUEST_BYTES:
        return 431, "request headers too large"
    return None


def visitor_message_allowed(data: bytes) -> tuple[bool, str]:
    """Whether a WebSocket frame from a visitor may reach Streamlit, and its message type.

    A frame that is not a BackMsg, or is over the size limit, passes unread: Streamlit itself closes
    the connection on it (1002, 1009)."""
    if len(data) > MAX_CLIENT_MESSAGE_MB * 1_000_000:
        return True, "(over the size limit)"
    message = BackMsg()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return True, "(not a BackMsg)"
    kind = message.WhichOneof("type") or "(empty)"
    if kind == "backend_operation_request":
        payload = message.backend_operation_request.WhichOneof("payload") or "(empty)"
        return payload in ALLOWED_BACKEND_OPERATIONS, f"{kind}.{payload}"
    return kind in ALLOWED_BACKMSGS, kind


class PublicHardening:
    """ASGI middleware in front of Streamlit's routes (st.App(middleware=...)); see the module's text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
        self.dropped = 0  # visitor messages dropped since start (logged as they happen)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = refusal(scope["method"], scope["path"], scope.get("headers", []))
            if refused is not None:
                await self.refuse(send, *refused)
                return
            await self.app(scope, receive, self.with_headers(send))
        elif scope["type"] == "websocket":
            await self.app(scope, self.filtered(receive), send)
        else:  # lifespan
            await self.app(scope, receive, send)

    def with_headers(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers}
                message["headers"] = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message["headers"] += self.headers
            await send(message)
        return sending

    async def refuse(self, send: Send, status: int, reason: str) -> None:
        body = reason.encode() + b"\n"
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"), *self.headers]
        if status == 405:
            headers.append((b"allow", b"GET, HEAD"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def filtered(self, receive: Receive) -> Receive:
        async def receiving() -> Message:
            while True:
                message = await receive()
                data = message.get("bytes") if message["type"] == "websocket.receive" else None
                if data is None:
                    return message
                allowed, kind = visitor_message_allowed(data)
                if allowed:
                    return message
                self.dropped += 1
                _LOG.warning("public site: dropped a visitor's %s message (%d so far)", kind, self.dropped)
        return receiving


def proxy_rules() -> str:
    """The same refusals and headers for HAProxy's frontend (deploy/haproxy.cfg.template's $public_rules).

    Paths are matched percent-decoded, as the server routes them; refusals come in the server's order
    (paths, then methods, then bodies); http-after-response also covers the proxy's own answers."""
    lines = ["    # public site: the refusals and headers each server applies too (measures/ui/public_server.py)"]
    for prefix, status in REFUSED_PATHS.items():
        lines.append(f"    http-request deny deny_status {status} if {{ path,url_dec -m str {prefix} }} "
                     f"|| {{ path,url_dec -m beg {prefix}/ }}")
    lines.append("    http-request deny deny_status 405 unless METH_GET  # GET and HEAD")
    lines.append("    http-request deny deny_status 413 if { req.hdr_cnt(transfer-encoding) gt 0 } "
                 "|| { req.hdr_val(content-length) gt 0 }")
    for name, value in SECURITY_HEADERS.items():
        lines.append(f'    http-after-response set-header {name} "{value}"')
    return "\n".join(lines)


def check_streamlit_version() -> None:
    """Refuse to start on a Streamlit whose routes and messages were not checked against the lists above."""
    if streamlit.__version__ != STREAMLIT_VERSION:
        raise RuntimeError(f"measures/ui/public_server.py was checked against streamlit {STREAMLIT_VERSION}, "
                           f"not {streamlit.__version__}: review REFUSED_PATHS and ALLOWED_BACKMSGS, then the pin")
