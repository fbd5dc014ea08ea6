"""Public ids: what a URL and an answer show of a row whose database id would be guessable.

128 random bits, URL-safe base64 without padding: 22 characters of ``[A-Za-z0-9_-]``.
"""

import secrets

BYTES = 16
PATTERN = "[A-Za-z0-9_-]{22}"


def new_public_id():
    """A fresh public id."""
    return secrets.token_urlsafe(BYTES)
