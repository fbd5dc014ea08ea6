"""Administration (admins only): dashboard users, and API tokens for services and web apps."""

from flask import Blueprint, flash, g, redirect, render_template, url_for

from ..accounts import tokens, users
from ..accounts.passwords import WeakPasswordError
from .access import admin_required
from .forms import ActionForm, TokenForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/dashboard/admin")


def _users_page(form, status=200):
    page = render_template(
        "admin_users.html", users=users.all_users(), form=form, action=ActionForm()
    )
    return page, status


@bp.get("/users")
@admin_required
def user_list():
    """Every dashboard user, and a form to add one."""
    return _users_page(UserForm(formdata=None))


@bp.post("/users")
@admin_required
def create_user():
    """Add a dashboard user."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = users.create(form.email.data, form.password.data, form.is_admin.data)
        except (users.DuplicateUserError, users.InvalidUserError) as refused:
            form.email.errors.append(refused.message)
        except WeakPasswordError as refused:
            form.password.errors.append(refused.message)
        else:
            flash(f"Added {user.email}.")
            return redirect(url_for(".user_list"))
    return _users_page(form, 422)


def _change_user(change, done):
    try:
        user = change()
    except users.SelfLockoutError as refused:
        flash(refused.message.capitalize() + ".", "error")
    else:
        flash(f"{done} {user.email}.")
    return redirect(url_for(".user_list"))


@bp.post("/users/<id:user_id>/deactivate")
@admin_required
def deactivate_user(user_id):
    """Stop a user from signing in, and end their sessions."""
    return _change_user(lambda: users.set_active(user_id, False, g.user), "Deactivated")


@bp.post("/users/<id:user_id>/activate")
@admin_required
def activate_user(user_id):
    """Let a deactivated user sign in again."""
    return _change_user(lambda: users.set_active(user_id, True, g.user), "Reactivated")


@bp.post("/users/<id:user_id>/delete")
@admin_required
def delete_user(user_id):
    """Delete a user for good."""
    return _change_user(lambda: users.delete(user_id, g.user), "Deleted")


def _tokens_page(form, minted=None, status=200):
    page = render_template(
        "admin_tokens.html",
        tokens=tokens.recent(),
        status=tokens.status,
        form=form,
        minted=minted,
        action=ActionForm(),
    )
    return page, status


@bp.get("/tokens")
@admin_required
def token_list():
    """The minted tokens' records, and a form to mint one."""
    return _tokens_page(TokenForm(formdata=None))


@bp.post("/tokens")
@admin_required
def mint_token():
    """Mint a token and show it, this once: only its record is kept."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, status=422)
    token, record = tokens.mint(
        form.sub.data, form.scopes.data, form.ttl.data, created_by=g.user.email
    )
    minted = {"token": token, "record": record}
    return _tokens_page(TokenForm(formdata=None), minted=minted, status=201)


@bp.post("/tokens/<string(maxlength=64):jti>/revoke")
@admin_required
def revoke_token(jti):
    """Revoke a token: every worker refuses it within seconds."""
    record = tokens.revoke(jti, revoked_by=g.user.email)
    flash(f"Revoked the token {record.jti} of {record.sub}.")
    return redirect(url_for(".token_list"))
