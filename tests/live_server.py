"""The app on a real port: a Werkzeug server in a background thread, for the browser tests and
for the API's fuzzing, which talk to it over HTTP as a client would."""

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

from crm.extensions import db


def closing_body(app):
    """`app`, with each response body closed even when the browser drops the connection.

    Werkzeug's development server skips closing the body when the client goes away while a
    file is being sent (the browser moves on mid-stylesheet), and the open file then surfaces
    as a ResourceWarning in whichever test runs next. A generator's `finally` runs when the
    server lets go of it, so the file is closed either way."""

    def serve(environ, start_response):
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            if hasattr(body, "close"):
                body.close()

    return serve


@contextmanager
def serving(app):
    """Serve `app` on a free local port in a background thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, closing_body(app), threaded=True)
    # A short poll interval lets `shutdown` return at once instead of after half a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            # Close pooled SQLite connections now, not in a ResourceWarning at exit.
            db.engine.dispose()
