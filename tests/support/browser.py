"""A real headless Chromium for the console's browser tests: Debian's build driven by
Playwright, axe-core's check of each page, and a full-page screenshot of each as an artifact.

The browser is `/usr/bin/chromium` (`CHROMIUM` names another; `scripts/infra.py --chromium`
installs it), never one Playwright downloads. Screenshots go to the artifacts directory;
`UPDATE_SCREENSHOTS=1` also copies them into docs/screenshots/, which the README shows."""

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    FloatRect,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.support.launcher import ROOT

# A loaded machine runs several launched systems at once: an assertion waits as long as an action.
expect.set_options(timeout=20_000)

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# As root on a closed network: no sandbox (it needs user namespaces root is refused), no GPU,
# and none of the background calls home that would only time out here.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "axe" / "axe.min.js"  # axe-core 4.14.1, see axe/README.md
DOCS = ROOT / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
# A long page (a case's timeline, many escalations) is photographed down to this height.
MAX_HEIGHT = 2400
# What fails a page; moderate and minor findings are kept in the report only.
BLOCKING = ("serious", "critical")


def installed() -> Path:
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: run `python scripts/infra.py --chromium` (make test does)"
        )
    return CHROMIUM


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    executable = installed()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(executable), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_person(browser: Browser, base_url: str) -> BrowserContext:
    """One person's browser: its own cookies, a desktop-sized window, English by default."""
    context = await browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-GB")
    context.set_default_timeout(20_000)
    return context


def describe(violations: list[dict[str, Any]]) -> str:
    """axe's findings as a person reads them: rule, impact, what it asks, and where."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  <{v['helpUrl']}>")
        for node in v["nodes"][:8]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


@dataclass
class Pages:
    """Each page visited: checked by axe-core and photographed into `directory`."""

    directory: Path
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def check(self, page: Page, name: str) -> None:
        """axe on the page as it is now (no serious or critical violation), then a full-page
        screenshot `<name>.png`; every finding is written to axe-report.json beside them."""
        await page.wait_for_load_state("load")
        if not await page.evaluate("() => typeof window.axe === 'object'"):
            await page.add_script_tag(path=str(AXE))
        result = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        violations: list[dict[str, Any]] = result["violations"]
        self.findings[name] = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "targets": [n["target"] for n in v["nodes"]],
            }
            for v in violations
        ]
        self.directory.mkdir(parents=True, exist_ok=True)
        await shoot(page, self.directory / f"{name}.png")
        (self.directory / "axe-report.json").write_text(json.dumps(self.findings, indent=2))
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, (
            f"axe-core finds serious accessibility violations on {name} ({page.url}):\n"
            + describe(blocking)
        )

    async def keep_failure(self, page: Page, name: str) -> None:
        """What the page showed when a step failed, beside the others."""
        self.directory.mkdir(parents=True, exist_ok=True)
        await shoot(page, self.directory / f"failed-{name}.png")

    def publish(self) -> None:
        """With UPDATE_SCREENSHOTS=1, the screenshots become the README's (docs/screenshots)."""
        if os.environ.get("UPDATE_SCREENSHOTS") != "1":
            return
        DOCS.mkdir(parents=True, exist_ok=True)
        for shot in sorted(self.directory.glob("[0-9]*.png")):
            shutil.copyfile(shot, DOCS / shot.name)


async def shoot(page: Page, path: Path) -> None:
    """The whole page at the window's width, at most MAX_HEIGHT pixels of it."""
    height = await page.evaluate("() => document.documentElement.scrollHeight")
    clip: FloatRect = {
        "x": 0,
        "y": 0,
        "width": VIEWPORT["width"],
        "height": min(height, MAX_HEIGHT),
    }
    await page.screenshot(path=str(path), full_page=True, clip=clip)


async def tab_to(page: Page, selector: str, presses: int = 40) -> None:
    """Tab through the page, as a keyboard user does, until `selector` has the focus."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{presses} presses of Tab never reached {selector} on {page.url}")
