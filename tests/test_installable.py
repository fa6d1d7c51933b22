"""The installable app: the manifest, the service worker's script, and what logging out clears."""

import json
import shutil
from types import SimpleNamespace

from crm import installable
from tests import factories


def test_the_manifest_installs_the_app_on_the_agenda(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["start_url"] == "/agenda/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#1d4ed8"
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    assert icons[("192x192", "any")] == "/static/icons/icon-192.png"
    assert icons[("512x512", "any")] == "/static/icons/icon-512.png"
    assert icons[("512x512", "maskable")] == "/static/icons/maskable-512.png"
    assert icons[("any", "any")] == "/static/favicon.svg"
    for src in icons.values():
        icon = client.get(src)
        assert icon.status_code == 200
        icon.close()


def test_the_manifest_speaks_the_browsers_language(client):
    response = client.get("/manifest.webmanifest", headers={"Accept-Language": "ru"})
    assert "Accept-Language" in response.headers["Vary"]
    assert response.get_json(force=True)["description"] == (
        "Лиды, контакты и воронка продаж вашей команды."
    )


def test_the_icons_are_the_sizes_they_say(client):
    for name, size in [("icon-192", 192), ("icon-512", 512), ("maskable-512", 512)]:
        png = client.get(f"/static/icons/{name}.png")
        assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = (int.from_bytes(png.data[i : i + 4], "big") for i in (16, 20))
        assert (width, height) == (size, size)
        png.close()


def shell_of(script):
    first_line = script.split("\n", 1)[0]
    assert first_line.startswith("self.SHELL = ")
    return json.loads(first_line.removeprefix("self.SHELL = ").removesuffix(";"))


def test_the_service_worker_keeps_the_static_files_and_nothing_else(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    # Checked on every visit, so a release reaches phones at once.
    assert response.headers["Cache-Control"] == "no-cache"
    shell = shell_of(response.text)
    assert {"/static/css/app.css", "/static/js/offline.js", "/static/vendor/htmx-4.0.1.min.js"} <= (
        set(shell["files"])
    )
    assert all(path.startswith("/static/") for path in shell["files"])
    assert "/static/sw.js" not in shell["files"]
    assert 'addEventListener("fetch"' in response.text


def test_the_service_workers_version_follows_the_static_files(app, tmp_path):
    version = shell_of(app.test_client().get("/sw.js").text)["version"]
    assert shell_of(installable.service_worker_script(app))["version"] == version

    # A release that changes one static file gives browsers a new worker.
    copy = shutil.copytree(app.static_folder, tmp_path / "static")
    (copy / "css" / "app.css").write_text("body { color: red; }\n")
    released = SimpleNamespace(static_folder=str(copy), static_url_path=app.static_url_path)
    assert shell_of(installable.service_worker_script(released))["version"] != version


def test_the_service_worker_is_served_before_setup(client):
    # Nobody has set the CRM up yet: the worker and the manifest still load, not the setup page.
    assert client.get("/sw.js").status_code == 200
    assert client.get("/manifest.webmanifest").status_code == 200


def test_pages_link_the_manifest_and_the_worker(client, auth, admin):
    auth.login(admin.email)
    page = client.get("/agenda/").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<meta name="theme-color" content="#1d4ed8">' in page
    assert 'data-service-worker="/sw.js"' in page
    assert 'id="offline-queue"' in page


def test_logging_out_clears_what_the_browser_kept(client, auth, admin):
    auth.login(admin.email, factories.PASSWORD)
    response = auth.logout()
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
