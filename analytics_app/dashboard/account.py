"""Sign-in, sign-out, and a signed-in user's password change."""

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from ..accounts import users
from ..accounts.passwords import WeakPasswordError
from ..accounts.throttle import SignInThrottledError, throttle
from . import access
from .forms import PasswordChangeForm, SignInForm

bp = Blueprint("account", __name__, url_prefix="/dashboard")


def _home(next_page):
    return redirect(next_page or url_for("dashboard.overview.index"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Show the sign-in form; sign in with a right email and password, unless throttled."""
    next_page = access.safe_next(request.args.get("next"))
    if g.user is not None:
        return _home(next_page)
    form = SignInForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        email = form.email.data
        try:
            attempt = throttle().attempt(email, request.remote_addr)
        except SignInThrottledError as refused:
            error, status, headers = refused.message, refused.status, refused.headers
        else:
            user = users.authenticate(email, form.password.data)
            if user is not None:
                throttle().succeeded(attempt)
                access.sign_in(user)
                return _home(next_page)
            error, status = "Wrong email address or password.", 401
    elif form.is_submitted():
        status = 422
    page = render_template("sign_in.html", form=form, error=error, next_page=next_page)
    return page, status, headers


@bp.post("/sign-out")
def sign_out():
    """End the session on the server and in the browser."""
    access.sign_out()
    flash("You are signed out.")
    return redirect(url_for(".sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@access.login_required
def change_password():
    """Change one's password (the current one first); every other session of the user ends.

    Wrong current passwords count as failed sign-ins, so a borrowed session cannot guess it.
    """
    form = PasswordChangeForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        try:
            attempt = throttle().attempt(g.user.email, request.remote_addr)
            users.change_password(
                g.user, form.current.data, form.new.data, session.get(access.COOKIE_KEY)
            )
        except SignInThrottledError as refused:
            error, status, headers = refused.message, refused.status, refused.headers
        except users.WrongPasswordError:
            form.current.errors.append("This is not your current password.")
            status = 422
        except WeakPasswordError as refused:
            throttle().succeeded(attempt)
            form.new.errors.append(refused.message)
            status = 422
        else:
            throttle().succeeded(attempt)
            flash("Your password is changed. Your other sessions are signed out.")
            return redirect(url_for("dashboard.overview.index"))
    elif form.is_submitted():
        status = 422
    return render_template("change_password.html", form=form, error=error), status, headers
