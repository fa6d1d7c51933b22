"""The secret in a connection's hook address."""

import re
import secrets

TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{20,64}")


def new_token():
    return secrets.token_urlsafe(32)
