"""The funnel board: a column per stage, cards to drag, kept live by a cheap poll.

Open boards ask `changes` every few seconds with the data version they show; when nothing was
written since, the answer is an empty 204. Otherwise only the columns whose signature changed
are drawn again. A move posts to `move`; its answer triggers that same poll at once, so every
way a column changes (a move here, a colleague's move, a cancelled drop) redraws it one way.
"""

from flask import abort, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crm import access, custom_fields, data_version, field_filters, funnel, htmx, lists
from crm.access import lead_by_id_or_404, restricted_to
from crm.analytics import cache as analytics_cache
from crm.args import id_arg, text_arg
from crm.board import bp, queries
from crm.board.cards import Cards
from crm.board.forms import MoveForm
from crm.extensions import db
from crm.formatting import currency, next_step_labels
from crm.forms import attach_error
from crm.models import StageKind, utcnow
from crm.timezones import day_bounds, local_today

OWNER_MINE = "me"
# A moved card's column is redrawn by the poll its answer triggers.
BOARD_CHANGED = "board-changed"
# After a refused move: redraw every column, so the card goes back where it is.
BOARD_RESET = "board-reset"


class BoardView:
    """The board as the URL describes it; every filter lives in the query string."""

    def __init__(self, args, user):
        self.user = user
        # One pipeline at a time: the one asked for, else the one this person saw last.
        # Those this person works in (a salesperson may be limited to some).
        offered = lists.pipelines()
        self.pipelines = [p for p in offered if access.may_use_pipeline(user, p.id)] or offered
        by_id = {pipeline.id: pipeline for pipeline in self.pipelines}
        self.chosen = by_id.get(id_arg(args.get("pipeline")))
        self.pipeline = self.chosen or by_id.get(user.board_pipeline_id) or self.pipelines[0]
        self.q = text_arg(args.get("q"))
        owner = args.get("owner", "")
        self.owner = owner if owner == OWNER_MINE or id_arg(owner) else ""
        self.source = text_arg(args.get("source"), 80)
        self.overdue = args.get("overdue") == "1"
        self.stuck = args.get("stuck") == "1"
        period = id_arg(args.get("period"))
        self.period = period if period in queries.PERIODS else queries.DEFAULT_PERIOD
        # By the team's choice fields, as the lead list writes them (f.gorod=moskva).
        self.args = args
        self.field_filters = field_filters.read(args, field_filters.CHOICE_TYPES)
        self.now = utcnow()

    def filters(self):
        owner_id = self.user.id if self.owner == OWNER_MINE else id_arg(self.owner)
        return queries.BoardFilters(
            owner_id=owner_id,
            search=self.q,
            source=self.source,
            overdue_before=day_bounds(local_today())[0] if self.overdue else None,
            stuck_only=self.stuck,
            period_days=self.period,
            restricted_to=restricted_to(self.user),
            fields=self.field_filters.filters,
        )

    @property
    def several_pipelines(self):
        return len(self.pipelines) > 1

    def stages(self):
        return lists.pipeline_stages(self.pipeline.id)

    def remember_pipeline(self):
        """Keep the pipeline this person chose for their next visit."""
        if self.chosen and self.user.board_pipeline_id != self.chosen.id:
            self.user.board_pipeline_id = self.chosen.id
            db.session.commit()

    def params(self, **changes):
        params = {
            "pipeline": self.pipeline.id if self.several_pipelines else None,
            "q": self.q,
            "owner": self.owner,
            "source": self.source,
            "overdue": "1" if self.overdue else None,
            "stuck": "1" if self.stuck else None,
            "period": self.period if self.period != queries.DEFAULT_PERIOD else None,
            **self.field_filters.params(),
        } | changes
        return {name: value for name, value in params.items() if value not in (None, "")}

    def url(self, endpoint="board.index", **changes):
        return url_for(endpoint, **self.params(**changes))

    @property
    def filter_count(self):
        chosen = (self.owner, self.source, self.overdue, self.stuck)
        return sum(1 for value in chosen if value) + len(self.field_filters)

    def field_controls(self):
        return field_filters.controls(self.field_filters, self.args, field_filters.CHOICE_TYPES)


def read_shown(args):
    """What the page shows of each column, as the poll sends it: `col=<stage>:<cards>:<sig>`
    (0 cards: a closed column folded). {stage id: (cards, signature)}."""
    shown = {}
    for item in args.getlist("col")[:100]:
        stage_id, _sep, rest = item.partition(":")
        cards, _sep, signature = rest.partition(":")
        if id_arg(stage_id) and cards.isdecimal() and cards.isascii():
            shown[int(stage_id)] = (min(int(cards), queries.CARDS_MAX), signature[:200])
    return shown


def build_columns(view, stages, version, shown=None, only=None, changed_only=False):
    """The columns of `stages` (all of them, or the ids in `only`), with their cards; with
    `changed_only`, only those whose signature differs from the one the page has, so a poll
    loads no cards it would throw away.

    `shown` is what the page has ({stage id: (cards, signature)}): a column keeps as many
    cards as it had, and a closed one stays folded or unfolded. A new page shows the first
    cards of the open columns and folds the closed ones.
    """
    shown = shown or {}
    filters = view.filters()
    summaries = shared_summaries(stages, filters, view.now, version)
    columns, wanted = [], {}
    for stage in stages:
        if only is not None and stage.id not in only:
            continue
        count, total, signature = summaries.get(stage.id, (0, 0, "0"))
        if changed_only and shown.get(stage.id, (0, None))[1] == signature:
            continue
        cards = shown.get(stage.id, (queries.CARDS if stage.is_open else 0, ""))[0]
        column = queries.Column(stage, count, total, signature, expanded=bool(cards))
        if stage.is_open:
            cards = max(cards, queries.CARDS)
        if cards:
            wanted[stage.id] = (0, cards)
        columns.append(column)
    ids = queries.card_ids(wanted, filters, stages, view.now)
    cards, hints = queries.load_cards(ids, stages)
    for column in columns:
        column.cards = cards.get(column.stage.id, [])
    return columns, hints


def shared_summaries(stages, filters, now, version):
    """Every column's count, total and signature. After each write every open board asks for
    them, and each would count the open leads again: boards with the same filters share them
    until the data version moves on (read before they are counted, so they are never older
    than it), and for a minute at most, as the closed columns count what closed within the
    period, which moves with the clock."""
    key = (tuple(stage.id for stage in stages), filters, now.replace(second=0, microsecond=0))
    try:
        hash(key)
    except TypeError:
        return queries.summaries(stages, filters, now)
    return analytics_cache.remember(
        "board_summaries", key, lambda: queries.summaries(stages, filters, now), version
    )


def card_labels():
    """What every card says alike, translated once per page rather than once per card."""
    sign = currency()
    return {
        "currency": f" {sign}" if sign else "",
        "stuck": _("Stuck"),
        "stuck_why": _("In this stage, or without contact, longer than the stage allows."),
        "no_contact": _("No contact yet"),
        "move": _("Move"),
        **next_step_labels(),
    }


def card_paths():
    """The start of each card's links: a card adds its number or id (url_for per card costs
    more than the rest of the card)."""
    return {
        "lead": url_for("leads.show", number=0).removesuffix("0"),
        "move": url_for("board.move", lead_id=0).removesuffix("0/move"),
    }


def movable_leads(columns, user):
    """The ids of the cards `user` may move: the others offer no Move and cannot be dragged,
    rather than being refused after the drop."""
    return {lead.id for column in columns for lead in column.cards if access.may_change(lead, user)}


def board_context(view, stages, columns, hints, version):
    """What the board's templates need. `version` is the data version read before the columns:
    on PostgreSQL each statement sees the latest commits, so one read after them could claim a
    move the columns do not show yet, and the board would never ask again."""
    # The team's fields a card shows, when the lead has a value.
    card_fields = [field for field in custom_fields.fields_for(view.pipeline.id) if field.on_card]
    movable_ids = movable_leads(columns, view.user)
    return {
        "view": view,
        "stages": stages,
        "columns": columns,
        "version": version,
        "card": Cards(card_labels(), card_paths(), hints, movable_ids, card_fields, view.now),
    }


@bp.route("/")
@login_required
def index():
    """The whole board; the filter form asks for the columns alone."""
    view = BoardView(request.args, current_user)
    view.remember_pipeline()
    stages = view.stages()
    version = data_version.current(db.session)
    columns, hints = build_columns(view, stages, version)
    return htmx.render(
        "board/index.html",
        "board/_board.html",
        title=_("Board"),
        active="board",
        team=lists.team(),
        sources=queries.sources(),
        periods=queries.PERIODS,
        moves_every_lead=access.manages_the_team(current_user),
        **board_context(view, stages, columns, hints, version),
    )


@bp.route("/changes")
@login_required
def changes():
    """The poll: 204 when nothing changed since `version`, else the changed columns."""
    version = data_version.current(db.session)
    reset = "reset" in request.args
    if request.args.get("version", "") == str(version) and not reset:
        return htmx.no_content()
    view = BoardView(request.args, current_user)
    stages = view.stages()
    shown = read_shown(request.args)
    if set(shown) != {stage.id for stage in stages}:
        # A stage was added or removed: the page's columns no longer fit, load it afresh.
        return htmx.refresh(htmx.no_content())
    columns, hints = build_columns(view, stages, version, shown, changed_only=not reset)
    return updated_version(board_context(view, stages, columns, hints, version))


def updated_version(context):
    response = make_response(render_template("board/_changes.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/columns/<int:stage_id>")
@login_required
def column(stage_id):
    """One column: unfolded or folded (`cards=0`), or with more cards (`cards=N`)."""
    view = BoardView(request.args, current_user)
    stages = view.stages()
    if stage_id not in {stage.id for stage in stages}:
        abort(404)
    cards = request.args.get("cards", "")
    count = min(int(cards), queries.CARDS_MAX) if cards.isdecimal() and cards.isascii() else 0
    version = data_version.current(db.session)
    columns, hints = build_columns(view, stages, version, {stage_id: (count, "")}, only={stage_id})
    context = board_context(view, stages, columns, hints, version)
    return render_template("board/_column.html", column=columns[0], **context)


# Moving a lead


def move_form(stages, reasons, formdata=None):
    """The move dialog's form: every stage, grouped by pipeline when there are several (a lead
    moves to another pipeline from here too)."""
    form = MoveForm(formdata=formdata)
    grouped = len({stage.pipeline_id for stage in stages}) > 1
    form.stage_id.choices = [
        SelectChoice(
            str(s.id),
            s.name,
            render_kw={"data-kind": s.kind},
            optgroup=s.pipeline.name if grouped else None,
        )
        for s in stages
    ]
    form.lost_reason_id.choices = {"": "—"} | {str(r.id): r.name for r in reasons}
    return form


@bp.route("/leads/<int:lead_id>/move", methods=["GET", "POST"])
@login_required
def move(lead_id):
    """Move a lead to another stage: from a drop on a column or from the "Move" dialog.

    A drop that needs more (why it was lost, the final value of a won deal) gets the dialog
    back asking for it; a refused move says why and puts the card back.
    """
    lead = lead_by_id_or_404(lead_id)
    # The pipelines offered: an archived one takes no more leads.
    stages = [
        stage
        for stage in lists.stages_in_order()
        if stage.pipeline.archived_at is None
        and access.may_use_pipeline(current_user, stage.pipeline_id)
    ]
    reasons = lists.lost_reasons()
    if request.method == "GET":
        if not access.may_change(lead, current_user):
            return refused(access.not_allowed_message(), 403)
        form = move_form(
            stages, reasons, formdata=request.args if "stage_id" in request.args else None
        )
        if "stage_id" not in request.args:
            form.stage_id.data = lead.stage_id
        form.from_stage_id.data = form.from_stage_id.data or str(lead.stage_id)
        return dialog(lead, form)
    form = move_form(stages, reasons, formdata=request.form)
    if not form.validate():
        if "stage_id" in form.errors:
            return refused(_("That stage is no longer on the board."), 422)
        return dialog(lead, form, status=422)
    stage = next(s for s in stages if s.id == form.stage_id.data)
    funnel.hold(lead)
    if lead.archived:
        return refused(_("Lead #%(number)d was archived meanwhile.", number=lead.number), 409)
    if id_arg(form.from_stage_id.data) not in (None, lead.stage_id):
        message = _(
            "Lead #%(number)d was moved to %(stage)s meanwhile.",
            number=lead.number,
            stage=lead.stage.name,
        )
        return refused(message, 409)
    if not access.may_change(lead, current_user):
        return refused(access.not_allowed_message(), 403)
    if needs_more(lead, stage, form):
        return dialog(lead, form, asked=True)
    reason = next((r for r in reasons if r.id == form.lost_reason_id.data), None)
    try:
        change = funnel.move_lead(
            lead,
            stage,
            current_user,
            lost_reason=reason,
            lost_note=form.lost_note.data,
            value=form.value.data,
        )
    except funnel.FunnelError as error:
        db.session.rollback()
        attach_error(form, error.field, error.message)
        return dialog(lead, form, status=422)
    db.session.commit()
    return moved(lead, stage, change is not None)


def needs_more(lead, stage, form):
    """A drop on the lost column, or on won for a lead with no value, carries only the stage:
    the dialog asks the rest. From the dialog itself, a missing answer is an error instead."""
    if "lost_reason_id" in request.form or "value" in request.form:
        return False
    if stage.kind == StageKind.LOST:
        return form.lost_reason_id.data is None
    if stage.kind == StageKind.WON:
        return lead.value is None and form.value.data is None
    return False


def dialog(lead, form, status=200, asked=False):
    """The move dialog, sent into the page's dialog (the drop's own request swaps nothing)."""
    body = render_template("board/_move_dialog.html", lead=lead, form=form, asked=asked)
    return htmx.retarget(make_response(body, status), "#move-dialog-body")


def refused(message, status):
    response = make_response(render_template("board/_message.html", message=message), status)
    return htmx.trigger(htmx.to_messages(response), BOARD_RESET)


def moved(lead, stage, changed=True):
    if changed:
        message = _("Lead #%(number)d moved to %(stage)s.", number=lead.number, stage=stage.name)
    else:
        message = _(
            "Lead #%(number)d is already in %(stage)s.", number=lead.number, stage=stage.name
        )
    response = make_response(render_template("board/_message.html", message=message, ok=True))
    return htmx.trigger(htmx.to_messages(response), BOARD_CHANGED)
