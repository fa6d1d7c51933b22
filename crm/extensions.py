"""Flask extensions, created once here and bound to the app in `create_app`."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Set in the session's info while a request sent with an idempotency key runs (crm.idempotency).
HELD = "crm_commits_held"
COMMIT_ASKED = "crm_commit_asked"


class HoldingSession(Session):
    """The app's session. While an idempotent request runs, a commit only flushes (so the
    database checks everything as a commit would), and the real commit waits for the answer
    to be stored with it."""

    def commit(self):
        if self.info.get(HELD):
            self.flush()
            self.info[COMMIT_ASKED] = True
            return
        super().commit()


def commits_held():
    """Whether the app session's commits only flush for now, so what it loaded is not expired."""
    return bool(db.session.info.get(HELD))


db = SQLAlchemy(model_class=Base, session_options={"class_": HoldingSession})
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
