"""Keyed hashing of user ids, so stored ids cannot be reversed with a dictionary of guesses."""

import hashlib
import hmac


def hash_user_id(key, user_id):
    """Return the HMAC-SHA256 of a user id under the deployment's secret key, as hex."""
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def anonymize(key, user_ids):
    """Hash every user id of a batch column."""
    key = key.encode("utf-8")
    return [hash_user_id(key, user_id) for user_id in user_ids]
