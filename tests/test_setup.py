"""The one-time setup page that creates the first administrator."""

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from crm import i18n, timezones
from crm.extensions import db
from crm.models import ActivityKind, AppSetting, Lead, LostReason, Role, Stage, StageKind, User

GOOD = {
    "name": "Olga Owner",
    "email": "Olga@Example.com",
    "password": "a long and unusual password",
    "password_again": "a long and unusual password",
    "language": "en",
    "timezone": "Europe/Moscow",
}


def test_every_page_leads_to_setup_before_the_first_account(client):
    for path in ("/", "/leads/", "/board/", "/settings/", "/login"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.location.endswith("/setup")


def test_setup_creates_admin_funnel_and_logs_in(client):
    response = client.post("/setup", data=GOOD, follow_redirects=True)
    assert response.status_code == 200
    assert b"Welcome!" in response.data
    assert response.request.path == "/agenda/"

    user = db.session.scalar(select(User))
    assert user.email == "olga@example.com"
    assert user.role == Role.ADMIN
    assert user.locale == "en"
    stages = db.session.scalars(Stage.in_funnel_order()).all()
    assert [s.name for s in stages] == [
        "Cold",
        "Interested",
        "Estimate requested",
        "Estimate made",
        "Discussing the task",
        "Discussing terms",
        "Signing the contract",
        "Work!",
        "Lost",
    ]
    assert [s.kind for s in stages][-2:] == [StageKind.WON, StageKind.LOST]
    assert len({s.colour for s in stages}) == len(stages)
    codes = db.session.scalars(select(ActivityKind.code).order_by(ActivityKind.position)).all()
    assert codes == ["call", "email", "meeting", "message", "note"]
    assert db.session.scalar(select(func.count()).select_from(LostReason)) >= 3
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_setup_in_russian_names_the_funnel_in_russian(client):
    client.post("/setup", data=GOOD | {"language": "ru"})
    names = db.session.scalars(select(Stage.name).order_by(Stage.position)).all()
    assert names[0] == "Холодный"
    assert names[-1] == "Упущен"
    page = client.get("/agenda/")
    assert '<html lang="ru">' in page.text


def test_setup_is_gone_for_good_afterwards(client):
    client.post("/setup", data=GOOD)
    assert client.get("/setup").status_code == 404
    client.post("/logout")
    assert client.get("/setup").status_code == 404
    second = GOOD | {"email": "mallory@example.com"}
    assert client.post("/setup", data=second).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_setup_refuses_bad_input_and_saves_nothing(client):
    bad = GOOD | {"password": "short", "password_again": "other", "email": "not-an-email"}
    response = client.post("/setup", data=bad)
    assert response.status_code == 422
    assert "Use at least 10 characters." in response.text
    assert "The two passwords differ." in response.text
    assert "Invalid email address." in response.text
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Stage)) == 0


def test_setup_refuses_common_password(client):
    common = GOOD | {"password": "qwertyuiop", "password_again": "qwertyuiop"}
    response = client.post("/setup", data=common)
    assert response.status_code == 422
    assert "too easy to guess" in response.text


def test_setup_with_sample_data_fills_a_demo(client):
    client.post("/setup", data=GOOD | {"sample_data": "y"})
    assert 50 <= db.session.scalar(select(func.count()).select_from(Lead)) <= 80

    # The new administrator's own leads, shown on their agenda and board.
    admin = db.session.scalar(select(User))
    assert db.session.scalars(select(Lead.owner_id).distinct()).all() == [admin.id]
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    open_lead = db.session.scalar(
        select(Lead).join(Lead.stage).where(Stage.kind == StageKind.OPEN).limit(1)
    )
    assert client.get("/agenda/").status_code == 200
    board = client.get("/board/")
    assert board.status_code == 200
    assert escape(open_lead.title) in board.text


def test_no_default_account_exists(client):
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    response = client.post("/login", data={"email": "admin@example.com", "password": "admin"})
    assert response.status_code == 303
    assert response.location.endswith("/setup")


def test_a_name_of_nothing_but_invisible_characters_is_refused(client):
    response = client.post("/setup", data=GOOD | {"name": "\x00"})
    assert response.status_code == 422
    assert "Enter the person&#39;s name." in response.text


# The team's zone and language


def test_setup_stores_the_team_zone_and_language_for_new_accounts(client):
    client.post("/setup", data=GOOD | {"language": "ru", "timezone": "asia/vladivostok"})
    boss = db.session.scalar(select(User))
    assert (boss.locale, boss.timezone) == ("ru", "Asia/Vladivostok")
    assert timezones.team_zone() == "Asia/Vladivostok"
    assert i18n.team_language() == "ru"
    users = client.get("/settings/users").text
    assert '<option selected value="Asia/Vladivostok">' in users
    assert '<option selected value="ru">' in users


def test_setup_chooses_a_zone_the_browser_may_replace(client):
    """Without JavaScript the choice stands: Moscow for a Russian page, else the configured
    zone; zones.js replaces it with the browser's own, on the first visit only."""
    russian = client.get("/setup", headers={"Accept-Language": "ru-RU,ru"}).text
    assert '<option selected value="Europe/Moscow">' in russian
    assert "data-browser-zone" in russian and "js/zones.js" in russian
    english = client.get("/setup", headers={"Accept-Language": "en-GB"}).text
    assert '<option selected value="UTC">' in english
    refused = client.post("/setup", data=GOOD | {"password": "short", "timezone": "Asia/Tokyo"})
    assert refused.status_code == 422
    assert '<option selected value="Asia/Tokyo">' in refused.text
    assert "data-browser-zone" not in refused.text


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus_Mons", "There is no such time zone."),
        ("<script>", "There is no such time zone."),
        ("Europe/", "There is no such time zone."),
        ("", "This field is required."),
    ],
)
def test_setup_refuses_an_unknown_zone_and_saves_nothing(client, zone, message):
    response = client.post("/setup", data=GOOD | {"timezone": zone})
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(AppSetting)) == 0
