"""Sign-in and sign-out."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ..accounts import users
from ..accounts.throttle import SignInThrottledError, throttle
from . import access
from .forms import SignInForm

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
        email, address = form.email.data, request.remote_addr
        try:
            throttle().check(email, address)
        except SignInThrottledError as refused:
            error, status, headers = refused.message, refused.status, refused.headers
        else:
            user = users.authenticate(email, form.password.data)
            if user is not None:
                throttle().succeeded(email)
                access.sign_in(user)
                return _home(next_page)
            throttle().failed(email, address)
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
