"""Live pages in a real browser: rollouts written on disk reach an open transcript and the thread
list through the tailer, the store and the subscriptions (no polling, no reload); search from the
page; a run of the real Codex CLI (against the mock model) started, streamed and interrupted."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from oa_actors.jsonl import _pytail
from tests.support.browser import wait_js
from tests.web.conftest import CORPUS, App

LIVE_TIMEOUT_MS = 30_000  # generous (shared, loaded machine): "shows up", never "within N ms"


def parsed(lines: list[bytes]) -> list[dict[str, Any]]:
    """The rows the parser makes of these rollout lines (what the page must end up showing)."""
    return list(_pytail.JsonlTail("x").feed(b"".join(lines), final=True).messages)


def renamed_rollout(src: Path) -> tuple[str, list[bytes]]:
    """A corpus rollout under a fresh session id (a thread the store has never seen)."""
    old = re.search(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$", src.name)
    assert old
    new = str(uuid.uuid4())
    lines = [line.replace(old.group(1).encode(), new.encode()) for line in src.read_bytes().splitlines(True)]
    return new, lines


def multiturn_rollout() -> Path:
    """The corpus rollout with the most user turns (its second half holds new replies)."""
    best = max(
        (CORPUS / "codex-0.169.0" / "sessions").rglob("*.jsonl"),
        key=lambda p: sum(
            1
            for m in parsed(p.read_bytes().splitlines(True))
            if m["role"] == "user" and m["kind"] == "message"
        ),
    )
    return best


def test_appended_rollout_shows_in_open_transcript_and_thread_list(app: App, page: Any) -> None:
    src = multiturn_rollout()
    tid, lines = renamed_rollout(src)
    rows = parsed(lines)
    users = [i for i, m in enumerate(rows) if m["role"] == "user" and m["kind"] == "message"]
    assert len(users) >= 2, src
    # Split the file after the line that makes the first reply: the rest comes while the page is open.
    cut = next(i for i in range(1, len(lines)) if len(parsed(lines[:i])) > users[1])
    first_rows = parsed(lines[:cut])
    later = [m for m in rows if m["key"] not in {r["key"] for r in first_rows} and m["kind"] == "message"]
    assert later, "the second half of the rollout adds no message"
    day = app.sessions / "2026" / "12" / "05"
    day.mkdir(parents=True, exist_ok=True)
    path = day / f"rollout-2026-12-05T10-00-00-{tid}.jsonl"

    # The list, filtered to this thread id (a link), is empty until the file appears.
    page.goto(f"{app.base}/?q={tid}")
    page.wait_for_selector("text=No threads yet.")
    with path.open("wb") as f:
        f.writelines(lines[:cut])
    page.wait_for_selector(f'.trow[data-thread="{tid}"]', timeout=LIVE_TIMEOUT_MS)

    # An open transcript receives the rest of the file.
    tab = page.context.new_page()
    try:
        tab.goto(f"{app.base}/t/{tid}")
        tab.wait_for_selector('.thread-page[data-loaded="1"]')
        before = int(tab.locator(".thread-page").get_attribute("data-rows") or 0)
        assert before == len(first_rows)
        with path.open("ab") as f:
            f.writelines(lines[cut:])
        last = later[-1]
        tab.wait_for_selector(f'article[id="m-{last["key"]}"]', timeout=LIVE_TIMEOUT_MS)
        wait_js(
            tab,
            f"document.querySelector('.thread-page').dataset.rows === '{len(rows)}'",
            LIVE_TIMEOUT_MS / 1000,
        )
        body = tab.locator(f'article[id="m-{last["key"]}"] .msg-body').inner_text()
        assert (last["text"] or "").strip().split("\n")[0][:40] in body
        assert tab.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
    finally:
        tab.close()
    # The list's message count followed too (threads.counts, live).
    page.wait_for_selector(
        f'.trow[data-thread="{tid}"] .count:text("{len(rows)} msg")', timeout=LIVE_TIMEOUT_MS
    )


def test_search_from_the_page_finds_a_known_message(app: App, page: Any) -> None:
    page.goto(f"{app.base}/search")
    box = page.get_by_role("searchbox").first
    box.fill("plain assistant reply")
    box.press("Enter")
    hit = page.locator(".hit").first
    hit.wait_for()
    assert "plain assistant reply" in hit.inner_text().lower()
    assert page.locator(".hit mark").count() >= 1
    assert "q=plain" in page.url  # the query is in the URL: a search is a link
    hit.locator("a").first.click()
    page.wait_for_url(re.compile(r"/t/[^#]+#m-"))
    target = page.locator("article.target")
    target.wait_for()
    assert "plain assistant reply" in target.inner_text()


def test_run_from_the_page_streams_and_can_be_interrupted(app: App, page: Any) -> None:
    thread = f"web-run-{uuid.uuid4().hex[:8]}"
    page.goto(f"{app.base}/t/{thread}")
    page.wait_for_selector('.thread-page[data-loaded="1"]')
    box = page.locator("#run-text")
    box.fill("Say hello [scenario:plain]")
    page.get_by_role("button", name="Send").click()
    status = page.locator(".run-status")
    status.filter(has_text="run done").wait_for(timeout=120_000)
    out = page.locator(".run-output pre").inner_text()
    assert "thread.started" in out and "turn.completed" in out, out
    # A slow turn: its output streams while it runs, and Stop interrupts it.
    first_run = status.get_attribute("data-run")
    box.fill("Take your time [scenario:slow]")
    page.get_by_role("button", name="Send").click()
    # The box follows the new run (its output starts afresh) before its lines are read.
    page.locator(f'.run-status:not([data-run="{first_run}"])').wait_for(timeout=120_000)
    page.locator(".run-output pre", has_text="turn.started").wait_for(timeout=120_000)
    streamed = page.locator(".run-output pre").inner_text()
    assert "turn.completed" not in streamed  # seen mid-turn: stdout streams while the run goes on
    assert "running" in status.inner_text()
    page.get_by_role("button", name="Stop").click()
    status.filter(has_text="interrupted").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Stop").count() == 0
