"""Which sites may send an intake form from a browser: origins as browsers write them."""

from urllib.parse import urlsplit

ANY = "*"
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(text):
    """An origin ("https://example.com") as a browser's Origin header has it, or None when
    `text` is not one. A trailing slash is forgiven; a path, a query or a login is not."""
    text = text.strip()
    if text == ANY:
        return ANY
    try:
        parts = urlsplit(text.rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme.lower() not in DEFAULT_PORTS
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed(form, origin):
    """Whether a browser on `origin` may send the form."""
    listed = form.origins
    if ANY in listed:
        return True
    return normalise(origin) in listed if origin else False
