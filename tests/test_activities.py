"""The activities feed: every contact across leads, filtered by dates, author, kind and stage."""

import re
from datetime import datetime, time, timedelta

import pytest

from crm.activities import queries
from crm.extensions import db
from crm.models import Role, utcnow
from tests import factories
from tests.querycount import count_queries


def row_ids(html):
    """Activity ids in the order the feed shows them."""
    return [int(n) for n in re.findall(r'<li id="activity-(\d+)"', html)]


def today_at(hour, minute=0, days_ago=0):
    """A stored (UTC) moment on today's date, or `days_ago` before, in UTC (the default zone)."""
    day = utcnow().date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute))


def earlier_today(minutes):
    """A moment today (UTC) that is already past, `minutes` before now or at midnight."""
    now = utcnow()
    return max(now - timedelta(minutes=minutes), datetime.combine(now.date(), time(0, 0)))


@pytest.fixture
def lead(app, admin, stages):
    return factories.lead(title="Acme windows", owner=admin)


def test_default_is_today_only_newest_first(logged_in, admin, lead):
    first = factories.activity(lead, admin, body="Morning call", occurred_at=earlier_today(30))
    second = factories.activity(lead, admin, body="Later call", occurred_at=earlier_today(1))
    old = factories.activity(lead, admin, body="Yesterday's call", occurred_at=today_at(12, 0, 1))

    response = logged_in.get("/activities/")

    assert response.status_code == 200
    assert "<html" in response.text
    ids = row_ids(response.text)
    assert ids[:2] == [second.id, first.id] or (
        # Both at midnight when the suite runs just after it: the later id comes first.
        ids == sorted([first.id, second.id], reverse=True)
    )
    assert old.id not in ids
    assert "Acme windows" in response.text
    assert f'href="/leads/{lead.number}"' in response.text
    assert "Today, " in response.text


def test_rows_show_kind_author_said_and_the_stage_produced(logged_in, admin, lead, stages):
    interested = stages[1]
    moved = factories.activity(
        lead, admin, kind_code="meeting", body="Wants a quote", stage=interested
    )
    plain = factories.activity(lead, admin, kind_code="email", body="Sent the brochure")
    for record in (moved, plain):
        record.occurred_at = earlier_today(5)
    db.session.commit()

    page = logged_in.get("/activities/").text

    moved_row = page[page.index(f'id="activity-{moved.id}"') :]
    moved_row = moved_row[: moved_row.index("</li>")]
    assert f'class="feed-item stage-{interested.id}"' in page
    assert f'<span class="badge stage-{interested.id}">Interested</span>' in moved_row
    assert "Meeting" in moved_row and "Ada Admin" in moved_row and "Wants a quote" in moved_row
    plain_row = page[page.index(f'id="activity-{plain.id}"') :]
    plain_row = plain_row[: plain_row.index("</li>")]
    assert 'class="feed-item"' in plain_row
    assert "badge" not in plain_row
    assert 'style="' not in page  # the CSP forbids inline styles


def test_long_notes_fold_behind_details(logged_in, admin, lead):
    body = "First line\nSecond\nThird\nFourth line, only when unfolded"
    factories.activity(lead, admin, body=body, occurred_at=earlier_today(2))
    short = factories.activity(lead, admin, body="Short note", occurred_at=earlier_today(3))

    page = logged_in.get("/activities/").text

    assert "<details" in page
    assert "Fourth line, only when unfolded" in page
    row = page[page.index(f'id="activity-{short.id}"') :]
    assert "<details" not in row[: row.index("</li>")]


def test_counts_per_kind_in_the_range(logged_in, admin, lead):
    for code in ("call", "call", "meeting"):
        factories.activity(lead, admin, kind_code=code, occurred_at=earlier_today(4))
    factories.activity(lead, admin, kind_code="call", occurred_at=today_at(12, 0, 3))

    page = logged_in.get("/activities/").text

    counts = page[page.index('id="feed-counts"') :]
    counts = counts[: counts.index("</p>")]
    assert "3 activities" in counts
    assert re.search(r"Call</span> <strong>2</strong>", counts)
    assert re.search(r"Meeting</span> <strong>1</strong>", counts)


def test_counts_stop_at_the_limit(logged_in, admin, lead, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_LIMIT", 2)
    for _ in range(3):
        factories.activity(lead, admin, occurred_at=earlier_today(4))

    page = logged_in.get("/activities/").text

    assert "More than 2 activities" in page
    assert len(row_ids(page)) == 3


def test_filters_by_author_kind_and_stage(logged_in, admin, lead, stages):
    # A manager: salespeople log only on their own leads.
    seller = factories.user(name="Sam Seller", role=Role.MANAGER)
    by_admin = factories.activity(lead, admin, kind_code="call", occurred_at=earlier_today(9))
    by_seller = factories.activity(lead, seller, kind_code="email", occurred_at=earlier_today(8))
    moved = factories.activity(
        lead, seller, kind_code="call", stage=stages[2], occurred_at=earlier_today(7)
    )
    call, email = factories.kind("call"), factories.kind("email")

    assert set(row_ids(logged_in.get(f"/activities/?author={seller.id}").text)) == {
        by_seller.id,
        moved.id,
    }
    assert set(row_ids(logged_in.get(f"/activities/?kind={call.id}").text)) == {
        by_admin.id,
        moved.id,
    }
    assert row_ids(logged_in.get(f"/activities/?kind={email.id}").text) == [by_seller.id]
    assert row_ids(logged_in.get(f"/activities/?stage={stages[2].id}").text) == [moved.id]
    both = logged_in.get(f"/activities/?author={seller.id}&kind={call.id}").text
    assert row_ids(both) == [moved.id]
    # The filters show what they are set to.
    assert f'<option selected value="{seller.id}">Sam Seller</option>' in both


def test_date_range_and_quick_ranges(logged_in, admin, lead):
    today = utcnow().date()
    now = factories.activity(lead, admin, occurred_at=earlier_today(1))
    yesterday = factories.activity(lead, admin, occurred_at=today_at(10, 0, 1))
    five_days = factories.activity(lead, admin, occurred_at=today_at(10, 0, 5))
    ten_days = factories.activity(lead, admin, occurred_at=today_at(10, 0, 10))

    def shown(query):
        return set(row_ids(logged_in.get(f"/activities/?{query}").text))

    day = (today - timedelta(days=1)).isoformat()
    assert shown(f"from={day}&to={day}") == {yesterday.id}
    assert shown(f"from={(today - timedelta(days=10)).isoformat()}") == {
        now.id,
        yesterday.id,
        five_days.id,
        ten_days.id,
    }
    assert shown("range=yesterday") == {yesterday.id}
    assert shown("range=week") == {now.id, yesterday.id, five_days.id}
    # A quick range wins over dates left in the form.
    assert shown(f"from={day}&to={day}&range=today") == {now.id}
    page = logged_in.get("/activities/?range=yesterday").text
    assert f'value="{day}"' in page
    assert 'id="range-yesterday" class="chip" aria-current="true"' in page


def test_deleted_activities_are_hidden(logged_in, admin, lead):
    kept = factories.activity(lead, admin, occurred_at=earlier_today(3))
    gone = factories.activity(lead, admin, occurred_at=earlier_today(2))
    gone.deleted_at = utcnow()
    db.session.commit()

    page = logged_in.get("/activities/").text

    assert row_ids(page) == [kept.id]
    assert "1 activity" in page


def test_archived_leads_activities_still_show(logged_in, admin, lead):
    record = factories.activity(lead, admin, occurred_at=earlier_today(3))
    lead.archived = True
    db.session.commit()

    page = logged_in.get("/activities/").text

    assert row_ids(page) == [record.id]
    assert "archived" in page


def test_keyset_pages_neither_repeat_nor_skip(logged_in, admin, lead, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    moment = earlier_today(30)
    made = []
    # Several at the very same moment: the id settles their order across a page break.
    for n in range(11):
        at = moment if n % 2 else earlier_today(30 + n)
        made.append((at, factories.activity(lead, admin, occurred_at=at).id))

    seen, url, pages = [], "/activities/", 0
    while url:
        page = logged_in.get(url).text
        seen.extend(row_ids(page))
        pages += 1
        found = re.search(r'<a href="([^"]+)" hx-get="[^"]+" [^>]*rel="next">Older</a>', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 11
    assert seen == [ident for _at, ident in sorted(made, reverse=True)]


def test_a_later_page_links_back_to_the_newest(logged_in, admin, lead, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 1)
    for minutes in (3, 2):
        factories.activity(lead, admin, occurred_at=earlier_today(minutes))
    first = logged_in.get("/activities/").text
    older = re.search(r'<a href="([^"]+)"[^>]*rel="next">', first).group(1).replace("&amp;", "&")

    second = logged_in.get(older).text

    assert ">Newest</a>" in second
    assert "before=" in older and "before_id=" in older


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def test_htmx_gets_the_rows_partial_and_the_applied_dates(hx, admin, lead):
    log_in(hx, admin)
    record = factories.activity(lead, admin, occurred_at=earlier_today(3))

    response = hx.get("/activities/?range=today")

    assert response.status_code == 200
    assert "<html" not in response.text
    assert row_ids(response.text) == [record.id]
    assert 'id="feed-dates" class="feed-dates" hx-swap-oob="outerMorph"' in response.text
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-45",
        "to=abc",
        "from=0001-01-01",
        "from=9999-12-31&to=9999-12-31",
        "from=2026-03-07&to=2026-03-01",
        "author=abc",
        "author=99999999999",
        "kind=-1",
        "stage=1.5",
        "range=decade",
        "before=yesterday&before_id=4",
        "before=2026-03-01T10:00:00&before_id=99999999999",
        "before_id=12",
        "from=%00",
    ],
)
def test_bad_query_strings_get_a_clear_message(logged_in, hx, query):
    response = logged_in.get(f"/activities/?{query}")

    assert response.status_code == 422
    assert "<html" in response.text
    assert 'role="alert"' in response.text
    assert "Show today's activities" in response.text
    assert row_ids(response.text) == []


def test_invalid_dates_say_what_to_type(logged_in):
    page = logged_in.get("/activities/?from=2026-13-45&to=abc").text

    assert page.count("Enter a date as year-month-day, for example 2026-03-07.") >= 2
    assert 'aria-invalid="true"' in page
    assert (
        "The end date is before the start date."
        in logged_in.get("/activities/?from=2026-03-07&to=2026-03-01").text
    )


def test_htmx_bad_dates_return_the_message_into_the_results(hx, admin):
    log_in(hx, admin)

    response = hx.get("/activities/?from=2026-13-45")

    assert response.status_code == 422
    assert "<html" not in response.text
    assert "Enter a date as year-month-day" in response.text


def add_activities(lead, people, count):
    for n in range(count):
        factories.activity(
            lead,
            people[n % len(people)],
            kind_code=("call", "email", "meeting")[n % 3],
            occurred_at=earlier_today(n % 50 + 1),
        )


def test_query_count_does_not_grow_with_the_activities(logged_in, admin, stages):
    people = [admin, factories.user(role=Role.MANAGER), factories.user(role=Role.MANAGER)]
    leads = [factories.lead(owner=admin) for _ in range(3)]
    add_activities(leads[0], people, 10)
    small = count_queries(logged_in, "/activities/")

    for lead in leads:
        add_activities(lead, people, 63)
    factories.activity(leads[2], people[1], stage=stages[3], occurred_at=earlier_today(2))
    leads[1].archived = True
    db.session.commit()
    many = count_queries(logged_in, "/activities/")

    assert small == many
    assert count_queries(logged_in, "/activities/?range=week") == small


def test_the_users_time_zone_decides_the_day(logged_in, admin, lead):
    admin.timezone = "Europe/Moscow"  # UTC+3 all year
    db.session.commit()
    # 22:30 UTC yesterday is 01:30 today in Moscow, 23:30 UTC the day before yesterday
    # is 02:30 yesterday there.
    moscow_today = (utcnow() + timedelta(hours=3)).date()
    late = datetime.combine(moscow_today - timedelta(days=1), time(22, 30))
    record = factories.activity(lead, admin, occurred_at=late)
    before = factories.activity(lead, admin, occurred_at=late - timedelta(days=1))

    today_page = logged_in.get("/activities/").text
    assert row_ids(today_page) == [record.id]
    assert re.search(r"T22:30:00Z\">1:30\W*AM</time>", today_page)
    day = moscow_today.isoformat()
    assert row_ids(logged_in.get(f"/activities/?from={day}&to={day}").text) == [record.id]
    yesterday = (moscow_today - timedelta(days=1)).isoformat()
    assert row_ids(logged_in.get(f"/activities/?from={yesterday}&to={yesterday}").text) == [
        before.id
    ]


def test_anonymous_is_sent_to_login(client, admin):
    response = client.get("/activities/")

    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_counts_with_a_stage_only_for_short_ranges(logged_in, admin, lead, stages):
    factories.activity(lead, admin, stage=stages[1], occurred_at=earlier_today(3))
    today = utcnow().date()
    long_ago = (today - timedelta(days=queries.STAGE_COUNT_DAYS)).isoformat()

    short = logged_in.get(f"/activities/?stage={stages[1].id}").text
    long = logged_in.get(f"/activities/?stage={stages[1].id}&from={long_ago}").text

    assert "1 activity" in short
    assert "1 activity" not in long
    assert "counts are shown for up to 31 days" in long
    assert len(row_ids(long)) == 1
