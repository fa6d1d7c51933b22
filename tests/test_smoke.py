def test_healthz(client):
    assert client.get("/healthz").data == b"ok"
