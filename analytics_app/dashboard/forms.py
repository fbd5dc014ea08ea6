"""Forms (WTForms through Flask-WTF): sign-in, password change, the filter bar, users and
tokens."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    ValidationError,
)
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ..accounts.tokens import lifetimes
from ..auth import SCOPES
from ..reports.periods import UnknownTimeZoneError, zone
from ..reports.range import DATES_SENTENCE, EARLIEST_DATE, LATEST_DATE


def _no_nul(form, field):
    """Refuse NUL: no stored text holds one, and PostgreSQL cannot compare text with it."""
    if field.data and "\x00" in field.data:
        raise ValidationError("Must not contain NUL characters.")


class SignInForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=255), _no_nul])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


def _new_password(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=f"A password has at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new = _new_password("New password")
    repeat = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _known_zone(form, field):
    if field.data:
        try:
            zone(field.data)
        except UnknownTimeZoneError:
            raise ValidationError(f"{field.data!r} is not an IANA time zone") from None


def _reportable_date(form, field):
    if field.data and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(DATES_SENTENCE)


class FilterForm(Form):
    """The range and filter bar, read from the query string (a GET: no CSRF token)."""

    start = DateField("From", validators=[Optional(), _reportable_date])
    end = DateField("To", validators=[Optional(), _reportable_date])
    tz = StringField("Time zone", validators=[Optional(), Length(max=64), _known_zone])
    type = SelectField("Type", validators=[Optional()], validate_choice=True)
    src = StringField("Source", validators=[Optional(), Length(max=64), _no_nul])
    user_id = StringField("User", validators=[Optional(), Length(max=255), _no_nul])
    compare = StringField("Compare", validators=[Optional(), AnyOf(["previous"])])

    def __init__(self, formdata, event_types):
        super().__init__(formdata)
        self.type.choices = [SelectChoice("", "All types")]
        self.type.choices += [SelectChoice(name) for name in sorted(event_types)]


class UserForm(FlaskForm):
    email = StringField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=255),
            Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an email address."),
            _no_nul,
        ],
    )
    password = _new_password("Password")
    is_admin = BooleanField("Administrator")


class TokenForm(FlaskForm):
    sub = StringField(
        "Subject",
        validators=[
            DataRequired(),
            Length(max=255),
            Regexp(r"^[A-Za-z0-9._:@/-]+$", message="Letters, digits and . _ : @ / - only."),
        ],
        description="The service or web app the token is for, e.g. billing-service.",
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(scope) for scope in SCOPES],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description="None: ingest only (safe to embed in a web page).",
    )
    ttl = SelectField("Lifetime")

    def __init__(self, *args, **kwargs):
        """Offer the lifetimes within ``TOKEN_MAX_TTL``."""
        super().__init__(*args, **kwargs)
        offered, default = lifetimes()
        self.ttl.choices = [SelectChoice(code, label) for code, label in offered.items()]
        if not self.ttl.raw_data:  # a fresh form, or none chosen
            self.ttl.data = default
