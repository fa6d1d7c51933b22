from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from crm.form_base import AppForm
from crm.notifications.inbox import REMINDER_MINUTES

# The digest's hour: every half hour from five in the morning to one in the afternoon.
DIGEST_TIMES = tuple(f"{hour:02d}:{minute:02d}" for hour in range(5, 13) for minute in (0, 30))


class PreferencesForm(AppForm):
    digest = BooleanField(_l("A morning digest on working days"))
    digest_at = SelectField(_l("At"), choices=[SelectChoice(at, at) for at in DIGEST_TIMES])
    reminder = BooleanField(_l("A reminder before each next step that has a time"))
    reminder_minutes = SelectField(
        _l("How long before"), choices=[SelectChoice(str(n), str(n)) for n in REMINDER_MINUTES]
    )
    given = BooleanField(_l("When a lead is given to me"))
    request = BooleanField(_l("When a request comes in through a form of mine"))
    missed_call = BooleanField(_l("When I miss a call from a lead of mine"))
    weekly = BooleanField(_l("A weekly summary of the team on Monday morning"))
    email = BooleanField(_l("Send them by email too, not only here"))

    def chosen(self):
        return {
            "digest": self.digest.data,
            "digest_at": self.digest_at.data,
            "reminder": self.reminder.data,
            "reminder_minutes": int(self.reminder_minutes.data),
            "given": self.given.data,
            "request": self.request.data,
            "missed_call": self.missed_call.data,
            "weekly": self.weekly.data,
            "email": self.email.data,
        }
