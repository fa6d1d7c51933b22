from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    StringField,
)
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from crm.form_base import AppForm
from crm.forms import LANGUAGE_CHOICES, PASSWORDS_DIFFER, strong_password, time_zone_field


class SetupForm(AppForm):
    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), strong_password])
    password_again = PasswordField(
        _l("Password again"),
        validators=[InputRequired(), EqualTo("password", message=PASSWORDS_DIFFER)],
    )
    language = RadioField(_l("Interface language"), choices=LANGUAGE_CHOICES, default="en")
    timezone = time_zone_field(_l("The team's time zone"))
    sample_data = BooleanField(_l("Fill with sample data to try things out"))


class LoginForm(AppForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired()])


class ChangePasswordForm(AppForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()])
    password = PasswordField(_l("New password"), validators=[InputRequired(), strong_password])
    password_again = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("password", message=PASSWORDS_DIFFER)],
    )


def one_time_code_field(label):
    """Where a person types the six digits their app shows: a phone offers digits, and the
    browser or a password manager may fill it in."""
    return StringField(
        label,
        filters=[lambda value: value.strip() if value else value],
        validators=[Optional(), Length(max=20)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "maxlength": 20,
            "spellcheck": "false",
        },
    )


def recovery_code_field():
    return StringField(
        _l("Recovery code"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "off", "maxlength": 40, "spellcheck": "false"},
    )


class SignInCodeForm(AppForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = one_time_code_field(_l("Code from your app"))
    recovery_code = recovery_code_field()

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if not (self.code.data or self.recovery_code.data):
            self.code.errors.append(_l("Enter the 6-digit code your app shows."))
            return False
        return True


class TurnOnTwoStepForm(AppForm):
    # The new secret, signed by the server (see crm.auth.two_step): what the QR code shows.
    setup = HiddenField()
    code = one_time_code_field(_l("Code from the app"))

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if not self.code.data:
            self.code.errors.append(_l("Enter the 6-digit code your app shows."))
            return False
        return True


class ConfirmTwoStepForm(AppForm):
    """Turning two-step sign-in off or making new recovery codes: the password or a code."""

    password = PasswordField(_l("Your password"), render_kw={"autocomplete": "current-password"})
    code = one_time_code_field(_l("Or a code from your app"))

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if not (self.password.data or self.code.data):
            self.password.errors.append(_l("Enter your password or a code from your app."))
            return False
        return True
