"""The app on a real port: a Werkzeug server in a background thread, for the browser tests and
for the API's fuzzing, which talk to it over HTTP as a client would."""

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

from crm.extensions import db


@contextmanager
def serving(app):
    """Serve `app` on a free local port in a background thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
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
