"""A browserless Streamlit client: asks for a page over `/_stcore/stream` as the browser does.

Used by the load benchmark (`bench/load.py --protocol`) and the replica test. What the browser
does (streamlit 1.67's frontend, read from its bundle and `starlette_websocket.py`):

1. GET the page's address (`/recorded-crime?area=...`): the HTML, and any cookie a proxy sets
   (the replica's sticky cookie), then `/_stcore/health` and `/_stcore/host-config`;
2. open the WebSocket with the cookies, an Origin equal to the host, and the subprotocols
   `streamlit, <xsrf token>`;
3. send BackMsg `rerun_script` with the ClientState: `page_name` is the address path and
   `page_script_hash` empty on arrival; on a click in the navigation `page_script_hash` is the
   page's hash and `page_name` empty; `cached_message_hashes` lists the large elements it already
   holds, which the server then sends as `ref_hash` references;
4. read ForwardMsgs (new_session, delta ..., script_finished) until `script_finished` says the
   run finished successfully: messages arrive in order, so the last element has arrived too.

Loopback only: the client refuses any other host, so it cannot be pointed at someone's site.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
REPLICA_HEADER = "X-Measures-Replica"  # set by the proxy (deploy/haproxy.cfg.template): which replica answered


class ProtocolError(Exception):
    """The server answered, but not as it answers a browser (HTTP error, page not found, a compile error)."""


@dataclass
class PageRun:
    """One page as a visitor got it."""

    page: str
    seconds: float = 0.0  # from the request to script_finished
    first_element_s: float | None = None  # until the first delta arrived
    elements: int = 0  # deltas received (references included)
    references: int = 0  # of which ref_hash references to elements already held
    exceptions: int = 0  # st.exception elements: the page failed on the server
    bytes_received: int = 0
    replica: str | None = None  # the proxy's header on the WebSocket handshake, if any
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.exceptions == 0


@dataclass
class Session:
    """One visitor: a cookie jar, one WebSocket, and the elements it has cached (like a browser tab)."""

    base: str  # http://127.0.0.1:PORT
    cookies: dict[str, str] = field(default_factory=dict)
    cache: dict[str, ForwardMsg] = field(default_factory=dict)  # hash -> cacheable message
    pages: dict[str, str] = field(default_factory=dict)  # url_pathname -> page_script_hash, from `navigation`
    socket: ClientConnection | None = None
    replica: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK or parts.port is None:
            raise ValueError(f"loopback http://127.0.0.1:PORT only, not {self.base!r}")
        self.host, self.port = parts.hostname, parts.port

    # ------------------------------------------------------------------ HTTP, as the browser's page load

    async def get(self, target: str) -> tuple[int, dict[str, str]]:
        """GET one address with the session's cookies; keeps the cookies the answer sets.
        (HTTP/1.1 with Connection: close on loopback: a few lines, and no thread per request.)"""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            request = [f"GET {target} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close",
                       "Accept: text/html,*/*", "User-Agent: measures-stream-client"]
            if self.cookies:
                request.append("Cookie: " + self.cookie_header())
            writer.write(("\r\n".join(request) + "\r\n\r\n").encode())
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            await reader.read()  # the body: read to the end, as the browser does
        finally:
            writer.close()
        status = int(head[0].split()[1])
        headers: dict[str, str] = {}
        for line in head[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                if name.lower() == "set-cookie":
                    for morsel in SimpleCookie(value.strip()).values():
                        self.cookies[morsel.key] = morsel.value
                headers[name.lower()] = value.strip()
        return status, headers

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    # ------------------------------------------------------------------ the WebSocket

    async def open(self, path: str = "", query: str = "") -> PageRun:
        """Arrive on a page: load its address, open the WebSocket, run the page."""
        started = time.monotonic()
        await self.connect(path, query)
        return await self.run(path.strip("/"), "", query, started)

    async def connect(self, path: str = "", query: str = "") -> None:
        """Load the page's address and open the WebSocket (no page runs until `run` asks)."""
        target = "/" + path.strip("/") + (f"?{query}" if query else "")
        status, headers = await self.get(target)
        if status != 200:
            raise ProtocolError(f"GET {target}: HTTP {status}")
        self.replica = headers.get(REPLICA_HEADER.lower())
        for extra in ("/_stcore/health", "/_stcore/host-config"):
            await self.get(extra)
        subprotocols = [Subprotocol("streamlit")]
        if "_streamlit_xsrf" in self.cookies:  # the browser passes the XSRF token in the subprotocol list
            subprotocols.append(Subprotocol(self.cookies["_streamlit_xsrf"]))
        origin = Origin(f"http://{self.host}:{self.port}")
        self.socket = await connect(
            f"ws://{self.host}:{self.port}/_stcore/stream", origin=origin,
            subprotocols=subprotocols,
            additional_headers={"Cookie": self.cookie_header()} if self.cookies else None,
            proxy=None,  # never an HTTP proxy from the environment: loopback only
            max_size=None, open_timeout=60, ping_interval=None)  # pages with maps send several MB
        response = self.socket.response
        if response is not None and response.headers.get(REPLICA_HEADER):
            self.replica = response.headers[REPLICA_HEADER]

    async def navigate(self, path: str) -> PageRun:
        """Click a page in the navigation: the same WebSocket, the page's hash, the cached elements."""
        if path not in self.pages:
            raise ProtocolError(f"the navigation lists no page {path!r} (it lists {sorted(self.pages)})")
        return await self.run("", self.pages[path], "", time.monotonic(), label=path or "(overview)")

    async def run(self, page_name: str, page_hash: str, query: str, started: float, label: str | None = None) -> PageRun:
        if self.socket is None:
            raise ProtocolError("the session has no WebSocket open")
        request = BackMsg()
        state = request.rerun_script
        state.query_string = query
        state.page_name = page_name
        state.page_script_hash = page_hash
        state.cached_message_hashes.extend(self.cache)
        state.context_info.timezone = "Europe/London"
        state.context_info.locale = "en-GB"
        state.context_info.url = f"http://{self.host}:{self.port}/{page_name}" + (f"?{query}" if query else "")
        await self.socket.send(request.SerializeToString())
        result = PageRun(page=label if label is not None else (page_name or "(overview)"), replica=self.replica)
        while True:
            data = await self.socket.recv()
            if isinstance(data, str):
                raise ProtocolError("a text frame: Streamlit sends binary protobufs only")
            result.bytes_received += len(data)
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "ref_hash":  # an element this client said it holds
                if message.ref_hash not in self.cache:
                    raise ProtocolError(f"a reference to an element never received: {message.ref_hash}")
                result.references += 1
                message = self.cache[message.ref_hash]
                kind = message.WhichOneof("type")
            if kind == "delta":
                if result.first_element_s is None:
                    result.first_element_s = time.monotonic() - started
                result.elements += 1
                if message.metadata.cacheable and message.hash:
                    self.cache[message.hash] = message
                element = message.delta.new_element if message.delta.WhichOneof("type") == "new_element" else None
                if element is not None and element.WhichOneof("type") == "exception":
                    result.exceptions += 1
            elif kind == "navigation":
                self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
            elif kind == "page_not_found":
                result.error = f"page not found: {message.page_not_found.page_name!r}"
            elif kind == "session_event" and message.session_event.WhichOneof("type") == "script_compilation_exception":
                result.error = "the script did not compile"
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # st.rerun(): another run follows on the same request
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    result.error = "the script did not compile"
                result.seconds = time.monotonic() - started
                return result

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

