"""The funnel board over HTTP: columns, cards, filters, moves, and the live poll."""

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from crm import data_version, funnel
from crm.extensions import db
from crm.models import Lead, LostReason, Role, StageChange, utcnow
from tests import factories
from tests.querycount import count_queries

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def board(client, url="/board/"):
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return response.text


def column(html, stage):
    """The HTML of one column."""
    start = html.index(f'id="column-{stage.id}"')
    end = html.find('<section class="board-column', start)
    return html[start : end if end != -1 else len(html)]


def cards(html, stage):
    return [int(n) for n in re.findall(r'id="card-(\d+)"', column(html, stage))]


class Cards(HTMLParser):
    """What each card on a page offers: {lead id: {"class": {...}, "move_url": ..., "move":
    whether it has a Move button, "stuck": the stuck marker's text, or None}}."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.cards = {}
        self._card = None
        self._in_stuck = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if tag == "li" and "board-card" in classes:
            self._card = {
                "class": classes,
                "move_url": attrs.get("data-move-url"),
                "move": False,
                "stuck": None,
            }
            self.cards[int(attrs["data-lead"])] = self._card
        elif self._card is not None and "card-move" in classes:
            self._card["move"] = True
        elif self._card is not None and "stuck-mark" in classes:
            self._card["stuck"] = ""
            self._in_stuck = True

    def handle_endtag(self, tag):
        if tag == "li":
            self._card = None
        elif tag == "span":
            self._in_stuck = False

    def handle_data(self, data):
        if self._in_stuck:
            self._card["stuck"] += data


def count_text(html, stage):
    return re.search(r'class="column-count">([^<]*)<', column(html, stage)).group(1)


def reload(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id)


def move(client, lead, stage, from_stage=None, **fields):
    data = {"stage_id": stage.id, "from_stage_id": (from_stage or lead.stage).id} | fields
    return client.post(f"/board/leads/{lead.id}/move", data=data, headers=HTMX)


def poll_url(html, **extra):
    """The poll the page would send: its version and what each column shows."""
    version = re.search(r'id="board-version" hidden data-version="(\d+)"', html).group(1)
    params = [("version", version)]
    for stage_id, signature, expanded in re.findall(
        r'id="column-(\d+)"\s+data-stage="\d+" data-kind="\w+" data-signature="([^"]*)"\s+'
        r'data-expanded="(\w+)"',
        html,
    ):
        params.append(("col", f"{stage_id}:{25 if expanded == 'true' else 0}:{signature}"))
    params.extend(extra.items())
    return "/board/changes?" + urlencode(params)


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


# What the board shows


def test_board_needs_login(client, admin):
    assert client.get("/board/").status_code in (302, 303)


def test_columns_in_funnel_order_with_counts_and_totals(logged_in, admin, stages):
    factories.lead("Acme", owner=admin, stage=stages[0], value=Decimal("1000"))
    factories.lead("Globex", owner=admin, stage=stages[0], value=Decimal("250.50"))
    factories.lead("Initech", owner=admin, stage=stages[1], value=None)
    html = board(logged_in)
    positions = [html.index(f'id="column-{stage.id}"') for stage in stages]
    assert positions == sorted(positions)
    assert count_text(html, stages[0]) == "2 leads"
    assert "1,250.50" in column(html, stages[0])
    assert count_text(html, stages[1]) == "1 lead"
    assert count_text(html, stages[2]) == "0 leads"


def test_won_and_lost_columns_are_folded_and_count_the_period(logged_in, admin, stages):
    won, lost = stages[-2], stages[-1]
    recent = factories.lead("Recent win", owner=admin, stage=won)
    old = factories.lead("Old win", owner=admin, stage=won)
    old.stage_changed_at = utcnow() - timedelta(days=40)
    db.session.commit()
    html = board(logged_in)
    assert count_text(html, won) == "1 lead"
    assert cards(html, won) == []
    assert "Show cards" in column(html, won)
    assert count_text(board(logged_in, "/board/?period=90"), won) == "2 leads"
    unfolded = board(logged_in, f"/board/columns/{won.id}?cards=25")
    assert f'id="card-{recent.id}"' in unfolded
    assert f'id="card-{old.id}"' not in unfolded
    assert count_text(html, lost) == "0 leads"


def test_card_shows_value_owner_last_contact_and_next_step(logged_in, admin, stages):
    lead = factories.lead(
        "Acme", owner=admin, stage=stages[0], value=Decimal("5000"),
        next_step_at=utcnow() - timedelta(days=1), next_step_note="Send the offer",
    )  # fmt: skip
    # An email that came in by itself: the overdue step stays for someone to answer.
    factories.activity(
        lead, body="Asked for the price list\nand more", kind_code="email",
        occurred_at=utcnow() - timedelta(hours=3),
    )  # fmt: skip
    quiet = factories.lead("Quiet", owner=None, stage=stages[0])
    html = board(logged_in)
    card = column(html, stages[0])
    assert f"#{lead.number} Acme" in card
    assert "5,000" in card
    assert 'title="Ada Admin">AA<' in card
    assert "Email, 3 hours ago: Asked for the price list<" in card
    assert "next-step-overdue" in card and "Send the offer" in card
    quiet_card = card[card.index(f'id="card-{quiet.id}"') :]
    assert "No contact yet" in quiet_card and "next-step-none" in quiet_card


def test_stuck_marker_after_the_stage_threshold(logged_in, admin, stages):
    # "Interested" is stuck after 14 days, in the stage or without contact.
    fresh = factories.lead("Fresh", owner=admin, stage=stages[1])
    stuck = factories.lead("Stuck", owner=admin, stage=stages[1])
    stuck.stage_changed_at = stuck.created_at = utcnow() - timedelta(days=14, minutes=1)
    db.session.commit()
    found = Cards(column(board(logged_in), stages[1])).cards
    # A badge of its own that says so, not a coloured edge alone.
    assert found[stuck.id]["stuck"] == "Stuck"
    assert found[fresh.id]["stuck"] is None
    only_stuck = board(logged_in, "/board/?stuck=1")
    assert cards(only_stuck, stages[1]) == [stuck.id]


def test_cards_order_by_next_step_then_longest_without_contact(logged_in, admin, stages):
    now = utcnow()
    later = factories.lead("Later", owner=admin, stage=stages[0], next_step_at=now + timedelta(2))
    due = factories.lead("Due", owner=admin, stage=stages[0], next_step_at=now - timedelta(1))
    none = factories.lead("Nothing planned", owner=admin, stage=stages[0])
    assert cards(board(logged_in), stages[0]) == [due.id, later.id, none.id]


def test_filters_owner_search_source_overdue(logged_in, admin, seller, stages):
    now = utcnow()
    mine = factories.lead("Acme", owner=admin, stage=stages[0], source="Website")
    theirs = factories.lead("Globex", owner=seller, stage=stages[0], source="Referral")
    overdue = factories.lead(
        "Initech", owner=seller, stage=stages[0], next_step_at=now - timedelta(days=2)
    )
    assert set(cards(board(logged_in), stages[0])) == {mine.id, theirs.id, overdue.id}
    assert cards(board(logged_in, "/board/?owner=me"), stages[0]) == [mine.id]
    assert cards(board(logged_in, f"/board/?owner={seller.id}&q=glob"), stages[0]) == [theirs.id]
    assert cards(board(logged_in, "/board/?source=Referral"), stages[0]) == [theirs.id]
    assert cards(board(logged_in, "/board/?overdue=1"), stages[0]) == [overdue.id]
    filtered = board(logged_in, "/board/?source=Referral")
    assert count_text(filtered, stages[0]) == "1 lead"
    assert '<option value="Referral" selected>' in filtered


@pytest.mark.parametrize(
    "query",
    ["owner=x", "owner=99999999999", "period=7", "source=%00", "q=" + "x" * 500, "stuck=maybe"],
)
def test_tampered_board_urls_never_fail(logged_in, admin, stages, query):
    factories.lead("Acme", owner=admin, stage=stages[0])
    assert logged_in.get(f"/board/?{query}").status_code == 200


def test_a_big_column_shows_25_cards_and_more_on_demand(logged_in, admin, stages):
    for n in range(30):
        funnel.create_lead(admin, stage=stages[0], title=f"Lead {n}")
    db.session.commit()
    html = board(logged_in)
    assert len(cards(html, stages[0])) == 25
    assert count_text(html, stages[0]) == "30 leads"
    assert "Show more" in column(html, stages[0])
    more = board(logged_in, f"/board/columns/{stages[0].id}?cards=50")
    assert len(re.findall(r'id="card-\d+"', more)) == 30
    assert "Show more" not in more
    assert logged_in.get("/board/columns/99999").status_code == 404


def test_board_query_count_does_not_grow_with_the_leads(logged_in, admin, stages):
    def make(count):
        for n in range(count):
            lead = funnel.create_lead(admin, stage=stages[n % 7], title=f"Lead {n}")
            db.session.flush()
            funnel.log_activity(lead, admin, factories.kind("call"), "Called", no_next_step=True)
        db.session.commit()

    make(7)
    few = count_queries(logged_in, "/board/")
    make(60)
    assert count_queries(logged_in, "/board/") == few


# Moving


def test_move_to_the_next_stage(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    response = move(logged_in, lead, stages[1])
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "board-changed"
    assert f"Lead #{lead.number} moved to Interested." in response.text
    assert reload(lead).stage_id == stages[1].id
    change = db.session.scalars(select(StageChange).where(StageChange.lead_id == lead.id)).all()
    assert [(c.from_stage_id, c.to_stage_id) for c in change][-1] == (stages[0].id, stages[1].id)
    html = board(logged_in)
    assert cards(html, stages[1]) == [lead.id]
    assert count_text(html, stages[0]) == "0 leads"


def test_moving_to_the_stage_it_is_in_changes_nothing(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[1])
    response = move(logged_in, lead, stages[1])
    assert response.status_code == 200
    assert f"Lead #{lead.number} is already in Interested." in response.text
    changes = db.session.scalar(select(func.count()).select_from(StageChange))
    assert changes == 1


def test_move_to_lost_asks_why_then_moves(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[2])
    lost = stages[-1]
    asked = move(logged_in, lead, lost)
    assert asked.status_code == 200
    assert asked.headers["HX-Retarget"] == "#move-dialog-body"
    assert "Why lost" in asked.text
    assert reload(lead).stage_id == stages[2].id
    unanswered = move(logged_in, lead, lost, lost_reason_id="", lost_note="")
    assert unanswered.status_code == 422
    assert "Say why the lead was lost." in unanswered.text
    reason = db.session.scalars(select(LostReason)).first()
    done = move(logged_in, lead, lost, lost_reason_id=reason.id, lost_note="Too pricey")
    assert done.headers["HX-Trigger"] == "board-changed"
    lead = reload(lead)
    assert (lead.stage_id, lead.lost_reason_id, lead.lost_note) == (
        lost.id,
        reason.id,
        "Too pricey",
    )


def test_move_to_won_asks_for_the_value_when_there_is_none(logged_in, admin, stages):
    won = stages[-2]
    lead = factories.lead("Acme", owner=admin, stage=stages[5], value=None)
    asked = move(logged_in, lead, won)
    assert "Final value" in asked.text and asked.headers["HX-Retarget"] == "#move-dialog-body"
    bad = move(logged_in, lead, won, value="-5")
    assert bad.status_code == 422
    assert reload(lead).stage_id == stages[5].id
    move(logged_in, lead, won, value="12000")
    lead = reload(lead)
    assert (lead.stage_id, lead.value) == (won.id, Decimal("12000"))
    valued = factories.lead("Valued", owner=admin, stage=stages[5], value=Decimal("10"))
    assert move(logged_in, valued, won).headers["HX-Trigger"] == "board-changed"


def test_move_to_a_removed_stage_is_refused(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    response = logged_in.post(
        f"/board/leads/{lead.id}/move",
        data={"stage_id": "99999", "from_stage_id": stages[0].id},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert response.headers["HX-Trigger"] == "board-reset"
    assert "no longer on the board" in response.text
    assert reload(lead).stage_id == stages[0].id


def test_a_salesperson_cannot_move_a_colleagues_lead(client, auth, admin, seller, stages):
    colleagues = factories.lead("Not mine", owner=admin, stage=stages[0])
    own = factories.lead("Mine", owner=seller, stage=stages[0])
    auth.login(seller.email)
    refused = move(client, colleagues, stages[1])
    assert refused.status_code == 403
    assert refused.headers["HX-Trigger"] == "board-reset"
    assert "someone else&#39;s" in refused.text
    assert reload(colleagues).stage_id == stages[0].id
    assert move(client, own, stages[1]).status_code == 200
    assert reload(own).stage_id == stages[1].id


def test_a_salesperson_is_offered_only_the_moves_they_may_make(client, auth, admin, seller, stages):
    colleagues = factories.lead("Not mine", owner=admin, stage=stages[0])
    own = factories.lead("Mine", owner=seller, stage=stages[0])
    unclaimed = factories.lead("Nobody's", owner=None, stage=stages[1])
    auth.login(seller.email)
    html = board(client)
    found = Cards(html).cards
    # A colleague's card: shown, but with no Move and nothing to drag.
    assert found[colleagues.id]["move"] is False
    assert found[colleagues.id]["move_url"] is None
    assert "movable" not in found[colleagues.id]["class"]
    for lead in (own, unclaimed):
        assert found[lead.id]["move"] is True
        assert found[lead.id]["move_url"] == f"/board/leads/{lead.id}/move"
        assert "movable" in found[lead.id]["class"]
    assert "Drag one of your cards or an unclaimed one" in html
    # The dialog's own address still refuses, whoever asks it directly.
    assert client.get(f"/board/leads/{colleagues.id}/move", headers=HTMX).status_code == 403
    # A column drawn again, by "show more" or by the poll, offers the same.
    one_column = Cards(board(client, f"/board/columns/{stages[0].id}?cards=50")).cards
    assert (one_column[colleagues.id]["move"], one_column[own.id]["move"]) == (False, True)
    polled = client.get(poll_url(html, reset="1"), headers=HTMX).text
    assert Cards(polled).cards[colleagues.id]["move_url"] is None


def test_a_manager_is_offered_every_move(client, auth, admin, seller, stages):
    manager = factories.user(role=Role.MANAGER)
    leads = [
        factories.lead("Theirs", owner=seller, stage=stages[0]),
        factories.lead("Nobody's", owner=None, stage=stages[0]),
    ]
    auth.login(manager.email)
    html = board(client)
    assert all(Cards(html).cards[lead.id]["move"] for lead in leads)
    assert "Drag a card to another column, or press ⇄ on it." in html


def test_a_salespersons_board_query_count_does_not_grow(client, auth, admin, seller, stages):
    auth.login(seller.email)
    for n in range(3):
        factories.lead(f"Theirs {n}", owner=admin, stage=stages[n])
    few = count_queries(client, "/board/")
    for n in range(20):
        factories.lead(f"Mine {n}", owner=seller if n % 2 else admin, stage=stages[n % 7])
    assert count_queries(client, "/board/") == few


def test_a_manager_can_move_anyones_lead(client, auth, admin, stages):
    manager = factories.user(role=Role.MANAGER)
    lead = factories.lead("Theirs", owner=admin, stage=stages[0])
    auth.login(manager.email)
    assert move(client, lead, stages[1]).status_code == 200


def test_a_stale_board_does_not_move_a_lead_moved_meanwhile(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    funnel.move_lead(lead, stages[2], admin)
    db.session.commit()
    response = move(logged_in, lead, stages[1], from_stage=stages[0])
    assert response.status_code == 409
    assert "was moved to Estimate requested meanwhile" in response.text
    assert response.headers["HX-Trigger"] == "board-reset"
    assert reload(lead).stage_id == stages[2].id


def test_an_archived_lead_is_not_moved(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    funnel.archive_lead(lead, admin)
    db.session.commit()
    assert move(logged_in, lead, stages[1]).status_code == 409
    assert reload(lead).stage_id == stages[0].id


def test_move_dialog_offers_every_stage(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    dialog = logged_in.get(f"/board/leads/{lead.id}/move", headers=HTMX)
    assert dialog.status_code == 200
    assert '<label for="stage_id">Move to</label>' in dialog.text
    for stage in stages:
        assert f">{stage.name}</option>" in dialog.text
    assert logged_in.get("/board/leads/99999/move").status_code == 404


# The live poll


def test_poll_is_empty_while_nothing_changes(logged_in, admin, stages):
    factories.lead("Acme", owner=admin, stage=stages[0])
    html = board(logged_in)
    response = logged_in.get(poll_url(html), headers=HTMX)
    assert response.status_code == 204
    assert response.data == b""


def test_poll_sends_only_the_columns_that_changed(logged_in, admin, seller, stages):
    lead = factories.lead("Acme", owner=seller, stage=stages[0])
    factories.lead("Globex", owner=admin, stage=stages[3])
    html = board(logged_in)
    # A colleague moves a lead.
    funnel.move_lead(lead, stages[1], seller)
    db.session.commit()
    response = logged_in.get(poll_url(html), headers=HTMX)
    assert response.status_code == 200
    targets = re.findall(r'<hx-partial hx-target="#column-(\d+)"', response.text)
    assert sorted(map(int, targets)) == sorted([stages[0].id, stages[1].id])
    assert f'id="card-{lead.id}"' in response.text
    assert f'data-version="{data_version.current(db.session)}"' in response.text


def test_poll_reset_redraws_every_column(logged_in, admin, stages):
    factories.lead("Acme", owner=admin, stage=stages[0])
    html = board(logged_in)
    response = logged_in.get(poll_url(html, reset="1"), headers=HTMX)
    targets = re.findall(r'<hx-partial hx-target="#column-(\d+)"', response.text)
    assert sorted(map(int, targets)) == sorted(stage.id for stage in stages)


def test_poll_reloads_the_page_when_the_stages_changed(logged_in, admin, stages):
    html = board(logged_in)
    stages[2].name = "Renamed"
    db.session.commit()
    changed = logged_in.get(poll_url(html).replace(f"col={stages[0].id}", "col=99999"))
    assert changed.headers.get("HX-Refresh") == "true"


def test_an_unchanged_poll_costs_a_few_queries(logged_in, admin, stages):
    html = board(logged_in)
    # The session's user and the data version (and SQLite's BEGIN).
    assert count_queries(logged_in, poll_url(html), status=204) <= 3


def test_every_write_moves_the_data_version_and_reads_do_not(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    before = data_version.current(db.session)
    board(logged_in)
    assert data_version.current(db.session) == before
    factories.activity(lead, admin)
    after_log = data_version.current(db.session)
    assert after_log > before
    stages[0].name = "Cold leads"
    db.session.commit()
    assert data_version.current(db.session) > after_log


def test_salesperson_cannot_log_on_a_colleagues_lead(client, auth, admin, seller, stages):
    lead = factories.lead("Not mine", owner=admin, stage=stages[0])
    auth.login(seller.email)
    page = client.get(f"/leads/{lead.number}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {
        "kind_id": factories.kind("call").id,
        "occurred_at": utcnow().strftime("%Y-%m-%dT%H:%M"),
        "body": "Called",
        "stage_id": stages[0].id,
    }
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post(f"/leads/{lead.number}/log", data=data, headers=HTMX)
    assert response.status_code == 422
    assert "someone else&#39;s" in response.text or "someone else's" in response.text
    count = db.session.scalar(select(func.count()).select_from(StageChange))
    assert count == 1


def test_mine_is_one_click_away(logged_in, admin, seller, stages):
    mine = factories.lead("Acme", owner=admin, stage=stages[0])
    factories.lead("Globex", owner=seller, stage=stages[0])
    html = board(logged_in)
    link = re.search(r'<a href="([^"]+)">Show only my leads</a>', html).group(1)
    only_mine = board(logged_in, link.replace("&amp;", "&"))
    assert cards(only_mine, stages[0]) == [mine.id]
    assert "Show everyone's leads" in only_mine


def test_the_board_in_russian(client, auth, stages):
    russian = factories.user(name="Иван Петров", role=Role.MANAGER, locale="ru")
    factories.lead("Ромашка", owner=russian, stage=stages[0])
    auth.login(russian.email)
    html = board(client)
    assert "Переместить" in html
    assert "1 лид" in html


def test_boards_share_their_column_counts_until_the_next_write(logged_in, admin, stages):
    """Open boards asking after a write count the leads once between them, and a write
    shows at once: the counts are kept for the data version they were read at."""
    funnel.create_lead(admin, stage=stages[0], title="Baltic Timber")
    db.session.commit()
    first = count_queries(logged_in, "/board/")
    assert count_queries(logged_in, "/board/") < first
    funnel.create_lead(admin, stage=stages[0], title="Volga Glass")
    db.session.commit()
    page = logged_in.get("/board/").text
    column = page[page.index(f'id="column-{stages[0].id}"') :]
    assert "2 leads" in column[: column.index("</header>")]
