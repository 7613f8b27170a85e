"""A WSGI application called in-process, its answer captured whole."""


def call(app, environ) -> tuple[str, list, bytes]:
    """(status, headers, body) of `app`'s answer to `environ`."""
    answered: list = []

    def capture(status, headers, exc_info=None):
        answered[:] = [status, list(headers)]
        return lambda data: None

    chunks = app(environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status, headers = answered
    return status, headers, body
