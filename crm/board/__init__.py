from flask import Blueprint

bp = Blueprint("board", __name__, url_prefix="/board")

from crm.board import views  # noqa: E402,F401
