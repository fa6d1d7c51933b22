import pytest

pytestmark = pytest.mark.sqlite_only


def test_healthz(client):
    assert client.get("/healthz").data == b"ok"
