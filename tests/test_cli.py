"""The operators' command line."""

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Role, Stage, User


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
