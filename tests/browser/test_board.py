"""The funnel board in Chromium: drag a card, the move dialog, the keyboard, and the live poll."""

from datetime import timedelta
from decimal import Decimal

import pytest

from crm import funnel
from crm.extensions import db
from crm.models import Role, Stage, utcnow
from tests import factories
from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_NAME,
    ADMIN_PASSWORD,
    TIMEOUT_MS,
    build_app,
    serving,
    stored,
)
from tests.browser.pages import expect, log_in

MANAGER_EMAIL = "mona@example.com"
SELLER_EMAIL = "sam@example.com"
PHONE = {"width": 375, "height": 800}
LAPTOP = {"width": 1366, "height": 800}


@pytest.fixture
def board(tmp_path):
    """A CRM of this test's own, so the column counts are exact: three leads in the first
    stage, none anywhere else, a manager besides the administrator, and a salesperson
    (SELLER_EMAIL) whose colleague's leads these are.

    Returns (base URL, {stage name: id}, [lead ids], the app)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel()
        admin = factories.admin(name=ADMIN_NAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        factories.user(name="Mona Manager", email=MANAGER_EMAIL, role=Role.MANAGER)
        factories.user(name="Sam Seller", email=SELLER_EMAIL)
        leads = [
            factories.lead(title=title, owner=admin, stage=stages[0], value=Decimal(value))
            for title, value in (
                ("Baltic Timber", "1000"),
                ("Volga Glass", "2000"),
                ("Oka Mill", "500"),
            )
        ]
        # A long next step: the card has to wrap it, not grow wider than its column.
        funnel.update_lead(
            leads[1],
            admin,
            next_step_at=utcnow() + timedelta(days=1),
            next_step_note="Send the signed estimate and agree on a date for the kick-off",
        )
        db.session.commit()
        found = ({s.name: s.id for s in stages}, [lead.id for lead in leads])
        db.session.remove()
    with serving(app) as url:
        yield url, *found, app


def column(page, stage_id):
    return page.locator(f"#column-{stage_id}")


def count(page, stage_id):
    return column(page, stage_id).locator(".column-count")


def card(page, lead_id):
    return page.locator(f"#card-{lead_id}")


def stage_of(app, lead_id):
    return stored(app, lead_id, "stage_id")


def open_board(page, base, email=ADMIN_EMAIL):
    # Every account here has the factories' password.
    log_in(page, base, email, factories.PASSWORD)
    page.goto(base + "/board/")
    expect(page.locator("#board ol.cards").first).to_be_visible()


def cards_draggable(page):
    """Wait until board.js has made every list sortable: a redrawn column's list is new."""
    expect(page.locator("#board ol.cards[data-sortable]").first).to_be_attached()
    expect(page.locator("#board ol.cards:not([data-sortable])")).to_have_count(0)


def drag(page, source, target):
    """Drag `source` onto `target` with the mouse, in small steps, as a hand would."""
    cards_draggable(page)
    source.scroll_into_view_if_needed()
    # By its plain text: pressed on the title, the browser would drag the link instead.
    box = source.locator(".card-hint").bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 15, box["y"] + box["height"] / 2 + 5, steps=5)
    target.scroll_into_view_if_needed()
    end = target.bounding_box()
    x, y = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    page.mouse.move(x, y, steps=20)
    # Sortable ignores the pointer for a moment after each reordering it does on the way:
    # linger over the target, as a hand does, before letting go.
    page.wait_for_timeout(100)
    page.mouse.move(x + 2, y + 2, steps=2)
    page.mouse.up()


def test_drag_a_card_to_the_next_column(page, board):
    base, stages, leads, app = board
    cold, interested = stages["Cold"], stages["Interested"]
    open_board(page, base)
    expect(count(page, cold)).to_have_text("3 leads")
    expect(count(page, interested)).to_have_text("0 leads")

    drag(page, card(page, leads[0]), column(page, interested).locator("ol.cards"))

    expect(count(page, cold)).to_have_text("2 leads")
    expect(count(page, interested)).to_have_text("1 lead")
    expect(column(page, interested).locator(f"#card-{leads[0]}")).to_be_visible()
    expect(column(page, cold).locator(f"#card-{leads[0]}")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("moved to Interested")

    page.reload()
    expect(column(page, interested).locator(f"#card-{leads[0]}")).to_be_visible()
    expect(count(page, cold)).to_have_text("2 leads")
    assert stage_of(app, leads[0]) == interested


def dialog(page):
    return page.locator("dialog#move-dialog")


def test_a_drop_on_lost_asks_why_and_cancel_puts_the_card_back(page, board):
    base, stages, leads, app = board
    cold, lost = stages["Cold"], stages["Lost"]
    # Wide enough to show the first and the last column side by side.
    page.set_viewport_size({"width": 2600, "height": 800})
    open_board(page, base)
    lost_cards = column(page, lost).locator("ol.cards")
    expect(column(page, lost).get_by_role("button", name="Show cards")).to_be_visible()
    expect(count(page, lost)).to_have_text("0 leads")

    drag(page, card(page, leads[1]), lost_cards)

    expect(dialog(page)).to_be_visible()
    expect(dialog(page)).to_contain_text("Moving this lead needs a little more:")
    expect(dialog(page).get_by_label("Move to")).to_have_value(str(lost))
    expect(dialog(page).get_by_label("Why lost")).to_be_focused()
    dialog(page).get_by_role("button", name="Cancel").click()

    expect(dialog(page)).to_be_hidden()
    expect(column(page, cold).locator(f"#card-{leads[1]}")).to_be_visible()
    expect(lost_cards.locator(".board-card")).to_have_count(0)
    expect(count(page, cold)).to_have_text("3 leads")
    expect(count(page, lost)).to_have_text("0 leads")
    assert stage_of(app, leads[1]) == cold

    drag(page, card(page, leads[1]), lost_cards)
    expect(dialog(page)).to_be_visible()
    dialog(page).get_by_label("Why lost").select_option(label="Chose a competitor")
    dialog(page).get_by_label("Details").fill("Went with the cheaper mill")
    dialog(page).get_by_role("button", name="Move").click()

    expect(dialog(page)).to_be_hidden()
    expect(count(page, lost)).to_have_text("1 lead")
    expect(count(page, cold)).to_have_text("2 leads")
    expect(column(page, cold).locator(f"#card-{leads[1]}")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("moved to Lost")
    assert stage_of(app, leads[1]) == lost


def test_move_a_card_with_the_keyboard(page, board):
    base, stages, leads, app = board
    cold, interested = stages["Cold"], stages["Interested"]
    open_board(page, base)
    move_button = card(page, leads[2]).get_by_role("button", name="Move")

    move_button.focus()
    page.keyboard.press("Enter")
    expect(dialog(page)).to_be_visible()
    stage_select = dialog(page).get_by_label("Move to")
    expect(stage_select).to_be_focused()
    expect(stage_select).to_have_value(str(cold))
    page.keyboard.press("ArrowDown")
    expect(stage_select).to_have_value(str(interested))
    # The lost and won fields are hidden: the next stop is the Move button.
    page.keyboard.press("Tab")
    expect(dialog(page).get_by_role("button", name="Move")).to_be_focused()
    page.keyboard.press("Enter")

    expect(dialog(page)).to_be_hidden()
    expect(column(page, interested).locator(f"#card-{leads[2]}")).to_be_visible()
    expect(count(page, interested)).to_have_text("1 lead")
    expect(count(page, cold)).to_have_text("2 leads")
    expect(column(page, interested).locator(f"#card-{leads[2]} .card-move")).to_be_focused()
    assert stage_of(app, leads[2]) == interested


def test_the_dialog_asks_for_the_reason_a_lead_was_lost(page, page_errors, board):
    base, stages, leads, app = board
    cold, lost = stages["Cold"], stages["Lost"]
    page_errors.allow_http_status(422, f"/board/leads/{leads[0]}/move")
    open_board(page, base)
    card(page, leads[0]).get_by_role("button", name="Move").click()
    reason = dialog(page).get_by_label("Why lost")
    expect(reason).to_be_hidden()
    dialog(page).get_by_label("Move to").select_option(label="Lost")
    expect(reason).to_be_visible()

    dialog(page).get_by_role("button", name="Move").click()

    expect(dialog(page)).to_contain_text("Say why the lead was lost.")
    expect(dialog(page)).to_be_visible()
    expect(reason).to_be_focused()
    expect(column(page, cold).locator(f"#card-{leads[0]}")).to_be_visible()
    assert stage_of(app, leads[0]) == cold

    reason.select_option(label="No budget")
    dialog(page).get_by_role("button", name="Move").click()
    expect(dialog(page)).to_be_hidden()
    expect(count(page, lost)).to_have_text("1 lead")
    expect(count(page, cold)).to_have_text("2 leads")
    assert stage_of(app, leads[0]) == lost


# Holds back the answer to the first poll, so that a move is made while it is on its way.
SLOW_FIRST_POLL = """
    const realFetch = window.fetch;
    window.fetch = function (input, init) {
        const answer = realFetch.apply(this, arguments);
        if (!String(input && input.url || input).includes("/board/changes")) {
            return answer;
        }
        window.pollsSent = (window.pollsSent || 0) + 1;
        if (window.pollsSent > 1) {
            return answer;
        }
        const later = (response) => new Promise((done) => setTimeout(done, 1500, response));
        return answer.then(later);
    };
"""


def test_a_move_made_while_a_poll_is_on_its_way_shows_at_once(page, board):
    base, stages, leads, app = board
    cold, interested = stages["Cold"], stages["Interested"]
    page.add_init_script(SLOW_FIRST_POLL)
    open_board(page, base)
    # The timer's first poll goes out after 4 seconds, and its answer takes 1.5 more.
    page.wait_for_function("() => window.pollsSent === 1", timeout=6_000)

    card(page, leads[0]).get_by_role("button", name="Move").click()
    dialog(page).get_by_label("Move to").select_option(label="Interested")
    dialog(page).get_by_role("button", name="Move").click()

    # Not at the next tick, 4 seconds on: right after the slow answer is in.
    moved = column(page, interested).locator(f"#card-{leads[0]}")
    expect(moved).to_be_visible(timeout=2_500)
    expect(count(page, cold)).to_have_text("2 leads")
    expect(moved.get_by_role("button", name="Move")).to_be_focused()


def page_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


def new_page(browser, page_errors, **options):
    """Another browser window (own cookies), whose errors fail the test like the main page's."""
    context = browser.new_context(**({"locale": "en-GB"} | options))
    context.set_default_timeout(TIMEOUT_MS)
    other = context.new_page()
    other.on("console", page_errors.on_console)
    other.on("pageerror", page_errors.on_page_error)
    return other


def test_a_colleagues_move_shows_without_a_reload(page, browser, page_errors, board):
    base, stages, leads, app = board
    cold, interested = stages["Cold"], stages["Interested"]
    open_board(page, base)
    page.evaluate("window.stillTheSamePage = true")

    colleague = new_page(browser, page_errors, viewport={"width": 1280, "height": 800})
    try:
        log_in(colleague, base, MANAGER_EMAIL, factories.PASSWORD)
        colleague.goto(base + "/board/")
        card(colleague, leads[0]).get_by_role("button", name="Move").click()
        dialog(colleague).get_by_label("Move to").select_option(label="Interested")
        dialog(colleague).get_by_role("button", name="Move").click()
        expect(column(colleague, interested).locator(f"#card-{leads[0]}")).to_be_visible()
    finally:
        colleague.context.close()

    # The board polls every 4 seconds.
    expect(column(page, interested).locator(f"#card-{leads[0]}")).to_be_visible(timeout=5_000)
    expect(count(page, interested)).to_have_text("1 lead")
    expect(count(page, cold)).to_have_text("2 leads")
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_board_on_a_phone(browser, page_errors, board, tmp_path):
    base, stages, leads, app = board
    cold, far = stages["Cold"], stages["Estimate made"]
    phone = new_page(
        browser, page_errors, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        open_board(phone, base)
        # The columns scroll sideways inside the board, the page itself does not.
        assert phone.locator("#board").evaluate("e => e.scrollWidth > e.clientWidth")
        assert page_width(phone) <= PHONE["width"]
        column_width = column(phone, cold).bounding_box()["width"]
        assert column_width < PHONE["width"]
        assert card(phone, leads[1]).bounding_box()["width"] < column_width
        # One column at a time, the next one only peeking in at the screen's right edge.
        assert column_width >= 0.85 * PHONE["width"]
        assert column(phone, stages["Interested"]).bounding_box()["x"] >= 0.9 * PHONE["width"]
        # The filters wait behind their button, so the board starts on the first screen.
        expect(phone.locator("#board-filters")).to_be_hidden()
        assert phone.locator("#board").bounding_box()["y"] < PHONE["height"] / 2
        phone.get_by_text("Filters", exact=True).tap()
        expect(phone.get_by_label("Search")).to_be_visible()
        phone.get_by_text("Filters", exact=True).tap()
        # A stage picked above the board brings its column into view.
        pickers = phone.get_by_role("navigation", name="Stages")
        pickers.get_by_role("link", name="Estimate made").tap()
        expect(column(phone, far)).to_be_in_viewport(ratio=0.9)
        assert page_width(phone) <= PHONE["width"]
        pickers.get_by_role("link", name="Cold").tap()
        expect(column(phone, cold)).to_be_in_viewport(ratio=0.9)

        card(phone, leads[0]).get_by_role("button", name="Move").tap()
        expect(dialog(phone)).to_be_visible()
        assert dialog(phone).bounding_box()["width"] <= PHONE["width"]
        dialog(phone).get_by_label("Move to").select_option(label="Estimate made")
        dialog(phone).get_by_role("button", name="Move").tap()

        expect(dialog(phone)).to_be_hidden()
        expect(column(phone, far).locator(f"#card-{leads[0]}")).to_be_attached()
        expect(count(phone, far)).to_have_text("1 lead")
        expect(count(phone, cold)).to_have_text("2 leads")
        # A card in a column far off screen still does not widen the page.
        assert page_width(phone) <= PHONE["width"]
        phone.screenshot(path=tmp_path / "board-phone.png")
    finally:
        phone.context.close()
    assert page_errors.unexpected() == []


# What a salesperson may move


def test_a_colleagues_card_cannot_be_dragged_nor_moved(page, board):
    base, stages, leads, app = board
    cold, interested = stages["Cold"], stages["Interested"]
    with app.app_context():
        unclaimed = factories.lead("Kama Bricks", owner=None, stage=db.session.get(Stage, cold))
        unclaimed = unclaimed.id
        db.session.remove()
    open_board(page, base, SELLER_EMAIL)
    colleagues = card(page, leads[0])
    expect(colleagues.get_by_role("button", name="Move")).to_have_count(0)
    expect(card(page, unclaimed).get_by_role("button", name="Move")).to_have_count(1)
    moves = []
    page.on("request", lambda request: "/move" in request.url and moves.append(request.url))

    drag(page, colleagues, column(page, interested).locator("ol.cards"))

    # Nothing was picked up, so nothing was asked of the server (which would have said 403).
    page.wait_for_timeout(300)
    assert moves == []
    expect(column(page, cold).locator(f"#card-{leads[0]}")).to_be_visible()
    expect(count(page, interested)).to_have_text("0 leads")
    assert stage_of(app, leads[0]) == cold

    # An unclaimed lead is the salesperson's to take and move.
    drag(page, card(page, unclaimed), column(page, interested).locator("ol.cards"))
    expect(column(page, interested).locator(f"#card-{unclaimed}")).to_be_visible()
    expect(count(page, interested)).to_have_text("1 lead")
    assert stage_of(app, unclaimed) == interested


# The whole funnel on a laptop screen


@pytest.fixture
def russian_board(tmp_path):
    """A Russian team's CRM with eight leads in each open stage and some won and lost: the
    longest stage names, and columns taller than the screen.

    Returns (base URL, [(stage id, its badge colour)] in funnel order)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel("ru")
        admin = factories.admin(
            name="Анна Админ", email=ADMIN_EMAIL, password=ADMIN_PASSWORD, locale="ru"
        )
        for stage in stages:
            for n in range(8 if stage.is_open else 2):
                factories.lead(f"ООО «Ромашка-{n}»", owner=admin, stage=stage, value=Decimal(n))
        found = [(stage.id, stage.badge_colour) for stage in stages]
        db.session.remove()
    with serving(app) as url:
        yield url, found


def rgb(colour):
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def box(locator):
    found = locator.bounding_box()
    return found["x"], found["y"], found["x"] + found["width"], found["y"] + found["height"]


def in_view(locator, viewport):
    left, top, right, bottom = box(locator)
    return left >= 0 and top >= 0 and right <= viewport["width"] and bottom <= viewport["height"]


def head(page, stage_id):
    return column(page, stage_id).locator(".column-head")


def test_a_laptop_screen_shows_every_stage_in_its_colour(browser, page_errors, russian_board):
    base, stages = russian_board
    # The administrator's account speaks Russian: so does the board.
    laptop = new_page(browser, page_errors, viewport=LAPTOP)
    try:
        open_board(laptop, base)
        board = laptop.locator("#board")
        for stage_id, colour in stages:
            assert in_view(head(laptop, stage_id), LAPTOP), stage_id
            expect(head(laptop, stage_id)).to_have_css("background-color", rgb(colour))
        # Several cards of each open column, whole, under the heads.
        for stage_id, _colour in stages[:-2]:
            cards_shown = column(laptop, stage_id).locator(".board-card").all()[:3]
            assert all(in_view(one, LAPTOP) for one in cards_shown), stage_id
        # The board scrolls inside the window: its foot, and any scrollbar, are in view.
        assert box(board)[3] <= LAPTOP["height"]
        assert laptop.evaluate("document.documentElement.scrollHeight") <= LAPTOP["height"]

        # Scrolled down, the heads stay at the top of the board.
        top_before = box(head(laptop, stages[0][0]))[1]
        board.evaluate("element => { element.scrollTop = 400; }")
        assert board.evaluate("element => element.scrollTop") > 0
        assert box(head(laptop, stages[0][0]))[1] == top_before

        # Won and Lost, folded at the end, open where they are.
        won, lost = stages[-2][0], stages[-1][0]
        column(laptop, lost).get_by_role("button", name="Показать карточки").click()
        expect(column(laptop, lost).locator(".board-card")).to_have_count(2)
        assert in_view(head(laptop, lost), LAPTOP) and in_view(head(laptop, won), LAPTOP)

        # Move after move, each says so above the board, which keeps its height.
        first, interested = stages[0][0], stages[1][0]
        moving = column(laptop, first).locator(".board-card").all()[:2]
        heights = []
        for lead_id in [one.get_attribute("data-lead") for one in moving]:
            card(laptop, lead_id).locator(".card-move").click()
            dialog(laptop).locator("select[name=stage_id]").select_option(str(interested))
            dialog(laptop).locator("button[type=submit]").click()
            expect(column(laptop, interested).locator(f"#card-{lead_id}")).to_be_attached()
            heights.append(box(board)[3] - box(board)[1])
        expect(laptop.locator("#messages .message")).to_have_count(2)
        expect(laptop.locator("#messages .message:visible")).to_have_count(1)
        assert heights[0] == heights[1]
        assert box(board)[3] <= LAPTOP["height"]
    finally:
        laptop.context.close()


def test_a_narrower_window_reaches_every_head_by_the_boards_own_scroll(
    browser, page_errors, russian_board
):
    base, stages = russian_board
    window = {"width": 1024, "height": 700}
    small = new_page(browser, page_errors, viewport=window)
    try:
        open_board(small, base)
        board = small.locator("#board")
        assert board.evaluate("element => element.scrollWidth > element.clientWidth")
        # The sideways scrollbar is at the window's foot, not at the end of the longest column.
        assert box(board)[3] <= window["height"]
        assert small.evaluate("document.documentElement.scrollWidth") <= window["width"]
        lost = stages[-1][0]
        assert not in_view(head(small, lost), window)
        board.evaluate("element => { element.scrollLeft = element.scrollWidth; }")
        expect(head(small, lost)).to_be_in_viewport()
        assert in_view(head(small, lost), window)
    finally:
        small.context.close()
