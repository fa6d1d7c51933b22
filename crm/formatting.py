"""Template filters: money, dates and "how long ago", in the user's language and zone."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from babel import dates, numbers
from flask_babel import gettext as _
from markupsafe import Markup, escape

from crm import app_settings, custom_fields, lists
from crm.i18n import user_locale
from crm.models import utcnow
from crm.timezones import local_today, to_local


def init_app(app):
    app.add_template_filter(money)
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(ago)
    app.add_template_filter(first_line)
    app.add_template_filter(tel)
    app.add_template_global(next_step_state)
    app.add_template_global(next_step)
    app.add_template_global(compact_hint)
    app.add_template_global(contact_hint)
    app.add_template_global(stage_badge)
    app.add_template_global(call_facts)
    app.add_template_global(currency)
    app.add_template_global(custom_fields.as_text, "field_text")
    app.add_template_global(lists.stage_label)


def currency():
    """The app's currency sign, as set in Settings (empty when none): read once per request."""
    return app_settings.value("currency", "")


# The filters call Babel directly with the request's locale, looked up once: through
# Flask-Babel every call looks it up again, and a board formats some 500 values.


def money(value):
    """An amount grouped in the reader's language: whole, or with its cents."""
    if value is None:
        return ""
    whole = value == int(value)
    locale = str(user_locale())
    if isinstance(value, Decimal | int):
        # What Babel's "#,##0.##" / "#,##0.00" give (a test holds them equal), at a tenth of
        # the cost: Python groups and rounds a Decimal the same way, then the locale's signs.
        return format(value, ",.0f" if whole else ",.2f").translate(number_signs(locale))
    pattern = "#,##0.##" if whole else "#,##0.00"
    return numbers.format_decimal(value, format=pattern, locale=locale)


@lru_cache(maxsize=16)
def number_signs(locale):
    """Python's grouping, decimal and minus signs as `locale` writes them."""
    return str.maketrans(
        {
            ",": numbers.get_group_symbol(locale),
            ".": numbers.get_decimal_symbol(locale),
            "-": numbers.get_minus_sign_symbol(locale),
        }
    )


def tel(phone):
    """A phone as a tel: link dials it: its digits, with the "+" of an international number."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return "+" + digits if (phone or "").strip().startswith("+") else digits


def when(moment):
    """A stored datetime as the user reads it: the date, and the time unless it is midnight."""
    return local_when(to_local(moment))


def local_when(local):
    """`when` of a moment already in the user's zone."""
    if local is None:
        return ""
    locale = str(user_locale())
    day = medium_date(local.date(), locale)
    if local.hour == local.minute == 0:
        return day
    return f"{day} {short_time(local.hour, local.minute, locale)}"


def day(local_day):
    """A date (already the user's local day) as the user reads it."""
    return medium_date(local_day, str(user_locale()))


# A list or a board shows the same few dates and times many times over: each is formatted once.
@lru_cache(maxsize=4096)
def medium_date(day, locale):
    return dates.format_date(day, "medium", locale=locale)


@lru_cache(maxsize=4096)
def short_time(hour, minute, locale):
    # Already in the user's zone: Babel must not convert it again (naive means UTC to Babel).
    moment = datetime(2000, 1, 1, hour, minute)
    return dates.format_time(moment, "short", tzinfo=UTC, locale=locale)


AGO_THRESHOLD = 1.1
# "3 days ago" in each language, by the unit and count it words: a board says it for every card,
# and most cards say one of a few dozen things.
AGO_WORDINGS = {}


def ago(moment):
    """ "3 days ago": how long since a stored datetime."""
    if moment is None:
        return ""
    delta = utcnow() - moment
    locale = str(user_locale())
    key = (locale, *worded_span(delta))
    if key not in AGO_WORDINGS:
        since = dates.format_timedelta(delta, threshold=AGO_THRESHOLD, locale=locale)
        AGO_WORDINGS[key] = _("%(time)s ago", time=since)
    return AGO_WORDINGS[key]


def worded_span(delta):
    """The unit and the whole count Babel's format_timedelta words `delta` in (its own rule)."""
    seconds = abs(delta.total_seconds())
    for unit, size in dates.TIMEDELTA_UNITS:
        value = seconds / size
        if value >= AGO_THRESHOLD or unit == "second":
            return unit, int(round(max(1, value) if unit == "second" and value > 0 else value))
    return "second", 0


def first_line(text, limit=80):
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def next_step_state(moment):
    """overdue, today, later or none: the colour cue of a next step (by the user's calendar)."""
    return local_step_state(to_local(moment))


def local_step_state(local):
    if local is None:
        return "none"
    day = local.date()
    today = local_today()
    if day < today:
        return "overdue"
    return "today" if day == today else "later"


# The widgets every list, board card and agenda row shows (the next step, the last contact, the
# stage badge), written here rather than as Jinja macros: a board draws some 200 of each, and a
# macro call costs more than what it writes.


def next_step_labels():
    return {
        "states": {"overdue": _("Overdue:"), "today": _("Today:")},
        "no_next_step": _("No next step"),
    }


def next_step(lead, labels=None, with_id=True, oob=False, note_line=None):
    """A lead's next step: when, in its colour cue (overdue and today said in words too, for
    screen readers), and the note.

    - labels: the words, looked up once for a page of many steps (as `next_step_labels`).
    - with_id: the stable id (lead-42-next-step) that an out-of-band update replaces; oob=True
      is that update. Off where a lead can be shown twice on a page (the agenda's sections).
    - note_line: the note's first line, at most that many characters, on a line of its own
      after the step, as a narrow table cell shows it; by default the whole note follows " · ".
    """
    at, note = lead.next_step_at, lead.next_step_note
    local = to_local(at)
    state = local_step_state(local)
    labels = labels or next_step_labels()
    html = [f'<span class="next-step next-step-{state}"']
    if with_id:
        html.append(f' id="lead-{int(lead.id)}-next-step"')
    if oob:
        html.append(' hx-swap-oob="true"')
    html.append(">")
    if at:
        said = labels["states"].get(state)
        if said:
            html.append(f'<span class="visually-hidden">{escape(said)} </span>')
        html.append(escape(local_when(local)))
        if note and not note_line:
            html.append(f" · {escape(note)}")
    else:
        html.append(escape(labels["no_next_step"]))
    html.append("</span>")
    if note_line and at and note:
        html.append(f'<span class="next-step-note">{escape(first_line(note, note_line))}</span>')
    return Markup("".join(html))  # noqa: S704 (every value in it was escaped above)


def stage_badge(stage, lead_id=None, oob=False):
    """The coloured stage badge, wherever a stage is named. Colours come from /stages.css, so no
    inline style is needed. Given the lead's id it carries the stable id (lead-42-stage) that
    the out-of-band update after a new activity replaces; oob=True is that update. `stage` is a
    Stage, or a mapping with its id and name (an import's report)."""
    stage_id, name = attribute_or_item(stage, "id"), attribute_or_item(stage, "name")
    html = [f'<span class="badge stage-{escape(stage_id)}"']
    if lead_id is not None:
        html.append(f' id="lead-{escape(lead_id)}-stage"')
    if oob:
        html.append(' hx-swap-oob="true"')
    html.append(f">{escape(lists.stage_label(stage_id, name))}</span>")
    return Markup("".join(html))  # noqa: S704 (every value in it was escaped above)


def call_facts(call):
    """What the phone system told of a call: which way, how long, and its recording as a link
    the browser opens (the server never fetches it; no referrer gives the CRM's address away)."""
    way = _("Incoming call") if call.direction == "in" else _("Outgoing call")
    html = [f'<span class="call-facts">{escape(way)}']
    if call.duration_s is not None:
        minutes, seconds = divmod(int(call.duration_s), 60)
        html.append(f' · <span class="call-duration">{minutes}:{seconds:02d}</span>')
    if call.recording_url:
        html.append(
            f' · <a href="{escape(call.recording_url)}" rel="noreferrer noopener" target="_blank"'
            f' class="call-recording">{escape(_("Recording"))}</a>'
        )
    html.append("</span>")
    return Markup("".join(html))  # noqa: S704 (every value in it was escaped above)


def attribute_or_item(thing, name):
    """`thing.name` as a template reads it: the attribute, or else the item of that name."""
    try:
        return getattr(thing, name)
    except AttributeError:
        return thing[name]


def contact_hint(hint, never_contacted):
    """The last contact with a lead as a table cell shows it: its kind, how long ago (the time
    machine-readable), and the first line of what was said (at most 80 characters); or
    `never_contacted`. A board card or an agenda row says it in one line (`compact_hint`)."""
    if not hint:
        return Markup(f'<span class="empty">{escape(never_contacted)}</span>')  # noqa: S704
    at = hint.occurred_at
    html = (
        f'<span class="contact-hint-head">{escape(hint.kind)} · '
        f'<time datetime="{escape(at.isoformat())}Z">{escape(ago(at))}</time></span>'
    )
    said = first_line(hint.body)
    if said:
        html += f'<span class="contact-hint-text">{escape(said)}</span>'
    return Markup(html)  # noqa: S704 (every value in it was escaped above)


def compact_hint(hint, never_contacted):
    """The last contact with a lead as one line of text (a board card, an agenda row): its
    kind, how long ago, and the first line of what was said; or `never_contacted`."""
    if not hint:
        return never_contacted
    said = first_line(hint.body)
    line = f"{hint.kind}, {ago(hint.occurred_at)}"
    return f"{line}: {said}" if said else line
