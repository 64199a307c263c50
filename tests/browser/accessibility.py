"""An accessibility check for the browser tests: axe-core, injected into the page under test.

axe-core comes from npm at install time (Makefile: ``npm install --prefix .venv/axe axe-core@<pinned>``).
The page's Content-Security-Policy allows scripts from its own origin only (no inline script, no
eval), so the file is served to the page from a same-origin address that Playwright answers itself
(``page.route``): the policy stays what people get. ``serious_violations`` (Playwright's async API)
and ``serious_violations_sync`` (its sync API) return the rules broken with impact serious or critical,
each with the elements that break it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.support.netns import ROOT

AXE_URL_PATH = "/__test__/axe.min.js"
SERIOUS = ("serious", "critical")
# WCAG 2.1 A and AA plus axe's best practices (landmarks, headings, ...).
RUN_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}

RUN_JS = """async ([options, serious]) => {
  const result = await window.axe.run(document, options);
  return result.violations.filter((v) => serious.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.slice(0, 10).map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 300),
                                             summary: n.failureSummary })),
  }));
}"""
LOADED_JS = "() => typeof window.axe === 'object'"


def axe_source() -> Path:
    """The pinned axe-core: in the venv that runs the tests (sys.prefix), or the project's .venv."""
    for base in (Path(sys.prefix), ROOT / ".venv"):
        path = base / "axe" / "node_modules" / "axe-core" / "axe.min.js"
        if path.is_file():
            return path
    raise FileNotFoundError("axe-core is not installed: npm install --prefix .venv/axe axe-core (make test does it)")


def _fulfil(route: Any) -> Any:
    return route.fulfill(path=str(axe_source()), content_type="text/javascript")


async def serious_violations(page: Any) -> list[dict[str, Any]]:
    """For an async Playwright page: the serious and critical axe violations of what it shows now."""
    if not await page.evaluate(LOADED_JS):
        await page.route(f"**{AXE_URL_PATH}", _fulfil)
        await page.add_script_tag(url=AXE_URL_PATH)
    return await page.evaluate(RUN_JS, [RUN_OPTIONS, list(SERIOUS)])


def serious_violations_sync(page: Any) -> list[dict[str, Any]]:
    """The same for a sync Playwright page (the scenarios in tests/browser run on the sync API)."""
    if not page.evaluate(LOADED_JS):
        page.route(f"**{AXE_URL_PATH}", _fulfil)
        page.add_script_tag(url=AXE_URL_PATH)
    return page.evaluate(RUN_JS, [RUN_OPTIONS, list(SERIOUS)])


def summary(violations: list[dict[str, Any]]) -> str:
    return "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
                     for v in violations)
