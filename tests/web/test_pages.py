"""Every row kind of the corpus renders in a real browser (never raw, never blank), the other pages
render with live data, and screenshots of the main pages are saved: under target/screenshots in a
plain run (so `make test` leaves the checkout clean), into docs/screenshots (linked from the README)
by `make screenshots`, which sets OA_SCREENSHOTS_DIR."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.support.browser import wait_js, wait_until
from tests.web.conftest import MACHINE, App

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("OA_SCREENSHOTS_DIR") or ROOT / "target" / "screenshots")
#: What each kind must show (a selector inside its article): proof it used its own view.
KIND_VIEW = {
    "message": ".msg-body",
    "reason": "details.reason",
    "cmd": ".cmd-head .badge",
    "file": ".diff-files",
    "search": ".badge:text('web search')",
    "mcp": ".badge:text('MCP')",
    "todo": "ul.todo li",
    "tool": ".badge:text('tool')",
    "error": ".error-text",
    "context": "details.fold",
    "compaction": "details.fold",
    "aborted": ".muted:text('Turn interrupted')",
    "usage": ".usage-row",
}


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def kinds_in_store(app: App) -> dict[str, tuple[str, str]]:
    """Each row kind in the store: one (threadId, key) of it (the corpus, mirrored by the tailer)."""
    with app.sup.store() as st:
        found: dict[str, tuple[str, str]] = {}
        for m in st.iter_messages():
            found.setdefault(m["kind"], (m["threadId"], m["key"]))
        return found


def test_every_row_kind_of_the_corpus_renders(app: App, page: Any) -> None:
    # The backfill of the corpus is finished when the store stops growing.
    seen: list[int] = []

    def settled() -> bool:
        with app.sup.store() as st:
            seen.append(st.count("messages"))
        return len(seen) > 5 and seen[-1] > 0 and seen[-1] == seen[-6]

    wait_until(settled, timeout=120, step=0.5)
    kinds = kinds_in_store(app)
    assert set(kinds) >= {"message", "reason", "cmd", "file", "todo", "mcp", "tool", "error"}, kinds
    assert set(kinds) <= set(KIND_VIEW), f"a kind without a view: {set(kinds) - set(KIND_VIEW)}"
    for kind, (tid, key) in sorted(kinds.items()):
        page.goto(f"{app.base}/t/{tid}#m-{key}")
        page.wait_for_selector('.thread-page[data-loaded="1"]')
        article = page.locator(f'article[id="m-{key}"]')
        article.wait_for()
        assert f"kind-{kind}" in (article.get_attribute("class") or "")
        assert article.locator(KIND_VIEW[kind]).count() >= 1, kind
        assert article.locator(".msg-body").inner_text().strip() or kind in ("reason", "context"), kind
        # No row of the thread fell back to the raw view.
        raw = page.locator(".msg-body", has_text="shown as stored").count()
        assert raw == 0, f"{kind}: {raw} rows shown raw in {tid}"


def test_main_pages_render_and_are_saved_as_screenshots(app: App, page: Any) -> None:
    page.set_viewport_size({"width": 1100, "height": 800})
    page.goto(f"{app.base}/")
    page.wait_for_selector(".trow .count:not(:text('…'))")
    # The header names the desktop the bridge runs on (bridge.hello's `machine`).
    assert MACHINE in page.locator(".conn .machine").inner_text()
    shot(page, "threads")
    # The richest transcript: the thread with the most kinds.
    with app.sup.store() as st:
        by_thread: dict[str, set[str]] = {}
        for m in st.iter_messages():
            by_thread.setdefault(m["threadId"], set()).add(m["kind"])
    tid = max(by_thread, key=lambda t: (len(by_thread[t]), t))
    page.goto(f"{app.base}/t/{tid}")
    page.wait_for_selector('.thread-page[data-loaded="1"] article.msg')
    shot(page, "transcript")
    page.goto(f"{app.base}/search?q=hello")
    page.wait_for_selector(".hit mark")
    shot(page, "search")
    page.goto(f"{app.base}/status")
    page.wait_for_selector("table.actors tr[data-actor='ws_gateway']")
    # A few live samples (status.watch pushes one every 2 s): the charts have lines.
    wait_js(page, "Number(document.querySelector('.status-page')?.dataset.samples) >= 3")
    assert page.locator(".spark polyline[points*=' ']").count() >= 1
    shot(page, "status")
    page.goto(f"{app.base}/projects")
    page.wait_for_selector(".projects-page")
    shot(page, "projects")
    # The usage page against this bridge: `usage.summary` answers (docs/usage.md).
    page.goto(f"{app.base}/usage")
    page.wait_for_selector('.usage-page[data-state="ok"]')
    # A phone-sized viewport: the list still fits (no horizontal scroll).
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{app.base}/")
    page.wait_for_selector(".trow")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    shot(page, "threads-phone")
    page.goto(f"{app.base}/t/{tid}")
    page.wait_for_selector('.thread-page[data-loaded="1"] article.msg')
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    shot(page, "transcript-phone")


def test_a_project_is_created_edited_and_deleted_from_the_page(app: App, page: Any) -> None:
    """The same validated `project.save` / `project.delete` path as the apps; the file on disk follows."""
    work = app.tmp / "web-project"
    work.mkdir(exist_ok=True)
    projects = app.sup.home / "projects"
    page.on("dialog", lambda d: d.accept())  # the delete confirmation
    page.goto(f"{app.base}/projects/new")
    form = page.locator("form.project-form")
    form.locator("input[name=name]").fill("Web Project")
    form.locator("input[name=workingDir]").fill("relative/not/allowed")
    form.get_by_role("button", name="Create").click()
    form.locator(".error-text").wait_for()  # refused by the validation, shown in the form
    form.locator("input[name=workingDir]").fill(str(work))
    form.get_by_role("button", name="Create").click()
    page.wait_for_url("**/projects/web-project")
    saved = wait_until(lambda: next(projects.rglob("PROJECT.md"), None), timeout=30)
    assert "Web Project" in saved.read_text()
    form.locator("input[name=model]").fill("gpt-5.5")
    form.get_by_role("button", name="Save").click()
    form.locator(".ok-text").wait_for()
    wait_until(lambda: "gpt-5.5" in saved.read_text(), timeout=30)
    page.goto(f"{app.base}/projects")
    page.locator(".cards a", has_text="Web Project").wait_for()
    page.locator(".cards a", has_text="Web Project").click()
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{app.base}/projects")
    wait_until(lambda: not saved.exists(), timeout=30)
    page.locator(".cards a", has_text="Web Project").wait_for(state="detached")
