"""axe-core, the accessibility checker, run inside a page the tests opened.

The checker is vendored from npm (tests/browser/vendor, with its licence) and used only by the
tests; it is given to the page through the browser's own evaluation, which the page's Content
Security Policy does not govern, so the page is checked exactly as it is served.
"""

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
# What the project promises: nothing serious or critical (axe's own impact levels).
BLOCKING = ("serious", "critical")

RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
  }));
}"""


def violations(page, impacts=BLOCKING):
    """The rules the page breaks at `impacts`, each with up to five of the elements."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    return [v for v in page.evaluate(RUN) if v["impact"] in impacts]


def described(found):
    """The violations as lines a failing test can show."""
    lines = []
    for violation in found:
        lines.append(f"{violation['impact']}: {violation['id']} ({violation['help']})")
        lines.extend(f"    {node}" for node in violation["nodes"])
    return "\n".join(lines)
