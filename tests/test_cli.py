"""The operators' command line."""

from sqlalchemy import func, select

from crm import i18n, timezones
from crm.extensions import db
from crm.models import ApiToken, AppSetting, Role, Stage, User


def test_create_user_reads_password_from_stdin(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "Boss@Example.com",
            "--name",
            "Big Boss",
            "--admin",
            "--password-stdin",
        ],
        input="a very secret passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(User.by_email("boss@example.com"))
    assert user.role == Role.ADMIN
    assert user.check_password("a very secret passphrase")
    # A first account made here also gets the default funnel, and setup is over.
    assert db.session.scalar(select(func.count()).select_from(Stage)) == 9


def test_create_user_prompts_for_password(runner):
    result = runner.invoke(
        args=["create-user", "seller@example.com", "--name", "Seller", "--language", "ru"],
        input="a very secret passphrase\na very secret passphrase\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(User.by_email("seller@example.com"))
    assert (user.role, user.locale) == (Role.SALESPERSON, "ru")


def test_create_user_refuses_weak_password_and_duplicates(runner):
    weak = runner.invoke(
        args=["create-user", "a@example.com", "--name", "A", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code != 0
    assert "at least 10 characters" in weak.output
    ok = ["create-user", "a@example.com", "--name", "A", "--password-stdin"]
    assert runner.invoke(args=ok, input="a very secret passphrase\n").exit_code == 0
    again = runner.invoke(args=ok, input="a very secret passphrase\n")
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_after_cli_user_the_setup_page_is_gone(client, runner):
    runner.invoke(
        args=["create-user", "a@example.com", "--name", "A", "--password-stdin"],
        input="a very secret passphrase\n",
    )
    assert client.get("/setup").status_code == 404


def create(runner, *options, email="zoe@example.com"):
    return runner.invoke(
        args=["create-user", email, "--name", "Zoe", "--password-stdin", *options],
        input="a very secret passphrase\n",
    )


def test_create_user_takes_a_zone(runner):
    result = create(runner, "--timezone", "asia/vladivostok")
    assert result.exit_code == 0, result.output
    assert "in Asia/Vladivostok" in result.output
    user = db.session.scalar(User.by_email("zoe@example.com"))
    assert user.timezone == "Asia/Vladivostok"


def test_create_user_refuses_an_unknown_zone_clearly(runner):
    result = create(runner, "--timezone", "Mars/Olympus_Mons")
    assert result.exit_code == 2
    assert "Invalid value for --timezone: unknown time zone 'Mars/Olympus_Mons'" in result.output
    assert "such as Europe/Moscow" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(AppSetting)) == 0


def test_the_first_account_sets_the_team_language_and_zone(runner):
    first = create(runner, "--language", "ru", "--timezone", "Europe/Moscow", "--admin")
    assert first.exit_code == 0, first.output
    assert (i18n.team_language(), timezones.team_zone()) == ("ru", "Europe/Moscow")
    # Later accounts start in them, and change neither.
    assert create(runner, email="ivan@example.com").exit_code == 0
    ivan = db.session.scalar(User.by_email("ivan@example.com"))
    assert (ivan.locale, ivan.timezone) == ("ru", "Europe/Moscow")
    other = create(runner, "--language", "en", "--timezone", "UTC", email="uma@example.com")
    assert other.exit_code == 0
    assert (i18n.team_language(), timezones.team_zone()) == ("ru", "Europe/Moscow")


def test_api_token_prints_a_working_token_once(runner, client, admin):
    result = runner.invoke(args=["api-token", "ADA@example.com", "--name", "Monitoring"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("crm_")
    answer = client.get("/api/v1/pipelines", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    # Only its hash is kept, under the name given.
    stored = db.session.execute(select(ApiToken.name, ApiToken.token_hash)).one()
    assert stored.name == "Monitoring" and token not in stored.token_hash


def test_api_token_refuses_an_unknown_account_or_no_name(runner, admin):
    unknown = runner.invoke(args=["api-token", "nobody@example.com", "--name", "x"])
    assert unknown.exit_code != 0 and "no active account" in unknown.output
    unnamed = runner.invoke(args=["api-token", "ada@example.com", "--name", " "])
    assert unnamed.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
