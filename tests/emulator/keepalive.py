"""HTTP/1.1 keep-alive for werkzeug's development server, which the emulator serves with:
AWS's endpoints keep connections open, and the SDKs' connection pools expect them to.
"""

import socket

import werkzeug.serving
from werkzeug.serving import WSGIRequestHandler, make_server


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler with HTTP/1.1 keep-alive, as AWS's endpoints have it.
    werkzeug closes every connection because http.server cannot skip a request body the
    application left unread, and after each response it reads whatever the client sends
    within 10 ms (which would swallow the next request of a kept-alive connection). Gate
    reads every body whole (read_body), so after a response the stream stands at the next
    request line: that read is switched off (_NoDrain) and the connection stays open. A
    request whose body is chunked (no Content-Length for read_body) still closes it."""

    def setup(self) -> None:
        """No Nagle delay: on a kept-alive connection the response's small writes would
        otherwise wait for the client's delayed ACK (about 40 ms a request)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_header(self, keyword: str, value: str) -> None:
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if keyword.lower() == "connection" and value.lower() == "close" and not chunked:
            return
        super().send_header(keyword, value)


class _NoDrain:
    """Stands in for the selectors module in werkzeug.serving, whose only use is the read
    after a response described in KeepAliveHandler: the selector never reports data."""

    EVENT_READ = 1

    class DefaultSelector:
        def register(self, *_args) -> None:
            pass

        def select(self, timeout=None) -> list:
            return []

        def close(self) -> None:
            pass


def serve(host: str, port: int, app):
    """A threaded werkzeug server of `app` on host:port (0: any free port), with keep-alive."""
    werkzeug.serving.selectors = _NoDrain
    return make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
