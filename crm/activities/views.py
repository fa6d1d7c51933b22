"""The activities feed, the second sheet: every contact across leads, newest first."""

from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from flask import request, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import htmx
from crm.access import restricted_to
from crm.activities import bp, queries
from crm.activities.forms import FeedForm, is_quick, set_choices
from crm.args import MAX_ID
from crm.extensions import db
from crm.timezones import day_bounds, local_today, to_local

# What was said is shown whole up to this size; longer notes fold behind "Show all".
EXCERPT_LINES = 3
EXCERPT_CHARS = 240


@dataclass
class FeedRow:
    activity: object
    day: date
    time: str
    excerpt: str
    folded: bool


@dataclass
class FeedDay:
    day: date
    label: str
    rows: list


class BadCursor(ValueError):
    pass


def parse_cursor(args):
    """The "Older" link's position (`before`, `before_id`), or None on the first page."""
    moment, ident = args.get("before", ""), args.get("before_id", "")
    if not moment and not ident:
        return None
    try:
        cursor = queries.Cursor(datetime.fromisoformat(moment).replace(tzinfo=None), int(ident))
    except (TypeError, ValueError):
        raise BadCursor from None
    if not 0 < cursor.id <= MAX_ID:
        raise BadCursor
    return cursor


def excerpt(body):
    """The first lines of what was said, and whether anything was left out."""
    text = (body or "").strip()
    lines = text.splitlines()
    short = "\n".join(lines[:EXCERPT_LINES])
    if len(short) > EXCERPT_CHARS:
        short = short[: EXCERPT_CHARS - 1].rstrip(" .,;:") + "…"
    elif len(lines) > EXCERPT_LINES:
        short = short.rstrip(" .,;:") + "…"
    return short, short != text


def day_label(day, today):
    full = format_date(day, "full")
    if day == today:
        return _("Today, %(date)s", date=full)
    if (today - day).days == 1:
        return _("Yesterday, %(date)s", date=full)
    return full


def feed_days(activities, today):
    """Activities grouped by the user's calendar day, newest first, ready to show."""
    rows = []
    for activity in activities:
        said, folded = excerpt(activity.body)
        # format_time converts from UTC itself; to_local gives the user's calendar day.
        at = format_time(activity.occurred_at, "short")
        rows.append(FeedRow(activity, to_local(activity.occurred_at).date(), at, said, folded))
    return [
        FeedDay(day, day_label(day, today), list(items))
        for day, items in groupby(rows, key=lambda row: row.day)
    ]


def range_label(first, last, today):
    if first == last:
        return day_label(first, today)
    return _(
        "%(first)s – %(last)s",
        first=format_date(first, "medium"),
        last=format_date(last, "medium"),
    )


@bp.route("/")
@login_required
def index():
    """Every contact across leads: the picture of the day, newest first, filtered from the URL."""
    form = FeedForm(formdata=request.args)
    kinds = set_choices(form)
    today = local_today()
    context = {
        "form": form,
        "title": _("Activity log"),
        "active": "activities",
        # An htmx swap of the results also refreshes the dates the feed applied.
        "oob_filters": htmx.is_partial(),
    }
    problems = []
    valid = form.validate()
    if not valid:
        problems = [
            f"{form[name].label.text}: {' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()
        ]
    try:
        cursor = parse_cursor(request.args)
    except BadCursor:
        cursor = None
        problems.append(_("The link to older activities is broken. Start from the newest."))
    if problems:
        if valid:
            form.period(today)
        return htmx.render(
            "activities/index.html",
            "activities/_rows.html",
            status=422,
            problems=problems,
            quick=None,
            **context,
        )

    first, last = form.period(today)
    filters = queries.Filters(
        start=day_bounds(first)[0],
        end=day_bounds(last)[1],
        author_id=form.author.data,
        kind_id=form.kind.data,
        stage_id=form.stage.data,
        pipeline_id=form.pipeline.data,
        restricted_to=restricted_to(current_user),
    )
    activities = db.session.scalars(
        queries.feed_page(filters, before=cursor, limit=queries.PAGE_SIZE)
    ).all()
    older = None
    if len(activities) > queries.PAGE_SIZE:
        activities = activities[: queries.PAGE_SIZE]
        last_row = activities[-1]
        older = feed_url(form, before=last_row.occurred_at.isoformat(), before_id=last_row.id)
    counts = None
    if filters.stage_id is None or (last - first).days < queries.STAGE_COUNT_DAYS:
        counts = [
            (kinds[kind_id], count)
            for kind_id, count in db.session.execute(
                queries.counts_by_kind(filters, limit=queries.COUNT_LIMIT)
            )
            if kind_id in kinds
        ]
        counts.sort(key=lambda pair: (-pair[1], pair[0].position, pair[0].id))
    return htmx.render(
        "activities/index.html",
        "activities/_rows.html",
        problems=[],
        days=feed_days(activities, today),
        counts=counts,
        total=sum(count for _kind, count in counts or ()),
        count_limit=queries.COUNT_LIMIT,
        stage_count_days=queries.STAGE_COUNT_DAYS,
        range_label=range_label(first, last, today),
        quick=is_quick(first, last, today),
        older=older,
        newest=feed_url(form) if cursor else None,
        **context,
    )


def feed_url(form, **extra):
    """This view of the feed as a link: the dates it shows and the filters that are set."""
    params = {"from": form.date_from.data.isoformat(), "to": form.date_to.data.isoformat()}
    for field in (form.author, form.kind, form.stage):
        if field.data is not None:
            params[field.name] = field.data
    return url_for("activities.index", **params, **extra)
