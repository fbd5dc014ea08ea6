"""Password rules: a length, and zxcvbn's estimate of how easily the password is guessed.

zxcvbn (Dropbox's estimator, maintained on PyPI) knows the common passwords, words, names,
keyboard patterns, dates and substitutions; a bundled list would know only the first of these.
"""

from ..errors import AppError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's scores run 0..4; 3 is "safely unguessable: moderate protection from an offline
# slow-hash scenario" (about 10^10 guesses).
MIN_SCORE = 3
# zxcvbn refuses longer input (its work grows with the length); a prefix this long that is
# hard to guess makes the whole password so.
ESTIMATED_PREFIX = 72


class WeakPasswordError(AppError):
    status = 422
    message = "this password is too easy to guess"


def check(password, user_inputs=()):
    """Raise ``WeakPasswordError`` for a password too short, too long or too easy to guess
    (``user_inputs``, such as the email address, count as easy)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    # Imported on first use: its dictionaries take 14 MB, which a web worker that never
    # sets a password need not hold.
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:ESTIMATED_PREFIX], user_inputs=list(user_inputs))
    if estimate["score"] < MIN_SCORE:
        feedback = estimate["feedback"]
        advice = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
        raise WeakPasswordError(
            f"This password is too easy to guess. {advice or 'Add another word or two.'}".strip()
        )
