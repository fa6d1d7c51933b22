"""The shape of the code that keeps each change in one place: areas reach shared pieces at the
package root, never into each other's pages; one module speaks htmx; no library's private API."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "crm"
AREAS = sorted(
    path.name
    for path in PACKAGE.iterdir()
    if path.is_dir() and (path / "__init__.py").exists() and path.name != "migrations"
)


def python_files(*folders):
    for folder in folders:
        yield from sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def module_name(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def page_modules():
    """The modules that serve pages: those that register routes on their area's blueprint."""
    found = set()
    for path in python_files(PACKAGE):
        if re.search(r"^@bp\.(route|get|post|before_request)", path.read_text(), re.MULTILINE):
            found.add(module_name(path))
    return found


def imported_modules(path):
    """Every module `path` imports, as dotted names (`from crm.x import y` counts `crm.x.y`
    too, since y may be a module)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def area_of(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "crm" and parts[1] in AREAS else None


def test_no_area_imports_another_areas_pages():
    pages = page_modules()
    assert "crm.leads.page" in pages and "crm.agenda.calendar" in pages
    crossings = []
    for path in python_files(PACKAGE):
        own = area_of(module_name(path))
        for module in imported_modules(path):
            if module in pages and area_of(module) != own:
                crossings.append(f"{module_name(path)} imports {module}")
    assert crossings == []


def test_no_view_renders_another_areas_partial():
    crossings = []
    for area in AREAS:
        for path in python_files(PACKAGE / area):
            for template in re.findall(r"[\"']([a-z_]+)/_[a-z_]+\.html[\"']", path.read_text()):
                if template != area:
                    crossings.append(f"{module_name(path)} renders a partial of {template}")
    assert crossings == []


def test_only_the_htmx_module_speaks_htmx_headers():
    speakers = [
        module_name(path)
        for path in python_files(PACKAGE)
        if "HX-" in path.read_text() and path != PACKAGE / "htmx.py"
    ]
    assert speakers == []


@pytest.mark.parametrize(
    "private",
    [
        "_login_user",  # where Flask-Login keeps the request's user
        "_update_request_context_with_user",
        "_compile_builder",  # Werkzeug's URL builders
        "._converters",  # a Werkzeug rule's converters
    ],
)
def test_no_private_api_of_a_library(private):
    users = [
        module_name(path)
        for path in python_files(PACKAGE, ROOT / "tests", ROOT / "bench")
        if private in path.read_text() and path != Path(__file__).resolve()
    ]
    assert users == []


def test_templates_ask_no_permission_question():
    """Views hand templates plain booleans (crm.access decides); a template never asks."""
    askers = [
        str(path.relative_to(PACKAGE))
        for path in sorted((PACKAGE / "templates").rglob("*.html"))
        if re.search(
            r"\b(may_see|may_change|can_change_activity|manages_the_team)\(", path.read_text()
        )
    ]
    assert askers == []


@pytest.mark.sqlite_only
def test_the_policy_is_not_among_the_templates_globals(app):
    names = set(app.jinja_env.globals)
    with app.test_request_context():
        for processor in app.template_context_processors[None]:
            names |= set(processor())
    assert not names & {
        "access",
        "may_change",
        "may_see",
        "can_change_activity",
        "manages_the_team",
    }
