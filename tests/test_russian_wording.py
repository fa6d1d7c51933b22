"""A Russian team's pages call each thing by one name: the activity log is «Журнал» (not
«Контакты», which a Russian CRM keeps for people), a lead is #10 (never №10), a role has one
name on every page, and a date that ends a sentence ends it with its own «г.»."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm import demo
from crm.extensions import db
from crm.models import Lead, Role, StageKind
from tests import factories

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
MAIN_PAGES = [
    "/agenda/",
    "/agenda/calendar",
    "/agenda/missed",
    "/leads/",
    "/activities/",
    "/board/",
    "/analytics/funnel",
    "/analytics/time-in-stage",
    "/analytics/won-lost",
    "/analytics/activity",
    "/analytics/sources",
    "/settings/",
    "/settings/users",
    "/settings/audit",
]
ROLES = {
    Role.SALESPERSON: ("Менеджер по продажам", "Менеджеры по продажам"),
    Role.MANAGER: ("Руководитель", "Руководители"),
    Role.ADMIN: ("Администратор", "Администраторы"),
}


@pytest.fixture
def russian_sample(app, client, auth):
    """The sample setup fills in, in Russian, for a Russian administrator in Moscow, who is
    logged in; returns the leads in number order."""
    boss = factories.admin(
        name="Анна Админова", email="anna@example.com", locale="ru", timezone="Europe/Moscow"
    )
    demo.generate("ru", owner=boss, **demo.SAMPLE)
    db.session.commit()
    auth.login(boss.email)
    return db.session.scalars(select(Lead).order_by(Lead.number)).all()


def moscow_today():
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


def page_text(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.text


def test_the_activity_log_is_called_a_log_in_the_menu_and_on_its_page(client, russian_sample):
    html = page_text(client, "/activities/")
    menu = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group()
    assert '<a href="/activities/" aria-current="page">Журнал</a>' in menu
    assert "Контакты" not in menu
    assert "<h1>Журнал</h1>" in html
    assert "<title>Журнал · " in html


def test_the_activity_log_is_called_a_log_in_english_too(logged_in):
    html = logged_in.get("/activities/").text
    assert '<a href="/activities/" aria-current="page">Activity log</a>' in html
    assert "<h1>Activity log</h1>" in html


def test_a_lead_number_is_written_with_a_hash_everywhere(client, russian_sample):
    lead = russian_sample[0]
    pages = [
        *MAIN_PAGES,
        f"/leads/{lead.number}",
        f"/analytics/funnel/leads?outcome=now&stage={lead.stage_id}",
    ]
    for url in pages:
        assert "№" not in page_text(client, url), url
    assert f"#{lead.number}" in page_text(client, f"/leads/{lead.number}")
    created = client.post(
        "/leads/new", data={"title": "Кооператив «Полярная звезда» 4417"}, follow_redirects=True
    )
    assert re.search(r"Лид #\d+ создан\.", created.text)


def test_no_message_in_russian_writes_a_number_sign():
    from babel.messages.pofile import read_po

    from tests.test_i18n import CATALOGUE

    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    with_sign = [message.id for message in catalogue if "№" in str(message.string)]
    assert with_sign == []


def test_each_role_has_one_name_on_every_page(client, russian_sample):
    factories.user(name="Борис Руководов", role=Role.MANAGER)
    factories.user(name="Вера Продажина", role=Role.SALESPERSON)
    users = page_text(client, "/settings/users")
    listed = set(
        re.findall(
            r'<tr id="user-\d+">\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>', users
        )
    )
    picker = re.search(r'<select[^>]*name="role".*?</select>', users, re.S).group()
    offered = re.findall(r"<option[^>]*>([^<]*)</option>", picker)
    owner_filter = re.search(
        r'<select id="report-owner".*?</select>', page_text(client, "/analytics/funnel"), re.S
    ).group()
    groups = re.findall(r'<optgroup label="([^"]*)">', owner_filter)

    one = {name for name, _group in ROLES.values()}
    assert listed == one
    assert set(offered) == one
    assert groups == [group for _name, group in ROLES.values()]
    for url in ("/settings/", "/settings/general", "/settings/users", "/analytics/funnel"):
        assert "Продав" not in page_text(client, url), url


def test_the_owner_filter_groups_people_under_their_role(client, russian_sample):
    manager = factories.user(name="Борис Руководов", role=Role.MANAGER)
    seller = factories.user(name="Вера Продажина", role=Role.SALESPERSON)
    html = page_text(client, f"/analytics/funnel?owner={seller.id}")
    owner_filter = re.search(r'<select id="report-owner".*?</select>', html, re.S).group()
    groups = dict(re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', owner_filter, re.S))
    assert (
        f'<option value="{seller.id}" selected>Вера Продажина</option>'
        in groups["Менеджеры по продажам"]
    )
    assert f'<option value="{manager.id}">Борис Руководов</option>' in groups["Руководители"]
    assert "Анна Админова" in groups["Администраторы"]


def test_no_date_is_followed_by_a_second_full_stop(client, russian_sample):
    lead = next(
        lead for lead in russian_sample if lead.stage.kind == StageKind.OPEN and lead.next_step_at
    )
    pages = [
        *MAIN_PAGES,
        f"/leads/{lead.number}",
        f"/agenda/calendar/day?date={moscow_today()}",
        "/settings/general",
    ]
    texts = {url: page_text(client, url) for url in pages}
    assert any("г." in text for text in texts.values())
    assert [url for url, text in texts.items() if "г.." in text] == []


def test_a_next_step_moved_to_a_date_ends_its_sentence_once(client, russian_sample):
    lead = next(
        lead for lead in russian_sample if lead.stage.kind == StageKind.OPEN and lead.next_step_at
    )
    response = client.post(f"/agenda/leads/{lead.id}/reschedule", data={"days": "3"}, headers=HTMX)
    assert response.status_code == 200
    assert re.search(rf"Следующий шаг #{lead.number} перенесён на [^<]*\sг\.<", response.text)
    assert "г.." not in response.text

    day = moscow_today() + timedelta(days=5)
    data = {"date": day.isoformat(), "view": "month", "anchor": day.isoformat(), "owner": "me"}
    response = client.post(f"/agenda/calendar/leads/{lead.id}/reschedule", data=data, headers=HTMX)
    assert response.status_code == 200
    assert re.search(rf"Лид #{lead.number}: следующий шаг перенесён на [^<]*\sг\.<", response.text)
    assert "г.." not in response.text
