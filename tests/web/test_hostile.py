"""Bad input in a real browser: `<script>` and event handlers in agent text, a 10 MB command output
(cut, with a way to see more), broken Markdown, unknown row kinds and malformed row data (shown raw,
never a blank page). And the usage page against a bridge that answers `usage.summary`.

These rows cannot come out of the parser (it cuts outputs to an excerpt and knows every kind), so
they are written straight into a real SQLite store, served by a real `BridgeServer` in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from oa_actors.gateway import ClientInfo, GatewaySettings, VerbHandler
from oa_actors.gateway.protocol import PUBLIC_VERBS
from oa_actors.store import Store
from oa_actors.verbs.registry import Args, Object, Verb
from tests.support.browser import ServerThread, chromium, ensure_web_built, wait_js, wait_until
from tests.web.conftest import LOAD_TIMEOUT_MS
from tests.web.test_pages import shot

TOKEN = "hostile-test-token-0123456789abcdefghij"
TEN_MB = 10 * 1024 * 1024
EVIL_MD = """Here is **bold and *unclosed emphasis
<script>window.__pwned = "script"</script>
<img src="x" onerror="window.__pwned = 'img'">
<a href="javascript:window.__pwned='link'">a raw link</a> and [a md link](javascript:window.__pwned='md')
```python
def never_closed_fence():
| a | table | without | separator
<iframe src="https://example.com"></iframe><style>body{display:none}</style>
"""


def row(tid: str, seq: int, role: str, kind: str, text: str | None, data: Any = None) -> dict[str, Any]:
    return {
        "threadId": tid,
        "key": f"{tid}-{seq:04d}",
        "seq": seq,
        "ts": 1_760_000_000_000 + seq,
        "role": role,
        "kind": kind,
        "text": text,
        "data": data,
        "turnId": None,
    }


class UsageArgs(Args):
    by: str | None = None
    since: int | None = None


USAGE_REPLY = {
    "total": {
        "inputTokens": 1_500_000,
        "cachedInputTokens": 400_000,
        "outputTokens": 90_000,
        "reasoningTokens": 12_000,
        "totalTokens": 1_590_000,
        "costUsd": 4.3125,
    },
    "groups": [
        {
            "key": "gpt-5.5",
            "inputTokens": 1_000_000,
            "outputTokens": 60_000,
            "totalTokens": 1_060_000,
            "costUsd": 4.3125,
        },
        {
            "key": "claude-opus-4",
            "inputTokens": 500_000,
            "outputTokens": 30_000,
            "totalTokens": 530_000,
            "costUsd": None,
        },
    ],
}


class UsageHandler(VerbHandler):
    """Answers `usage.summary` with the shape the CLI issue defines (recording the arguments)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def handle(self, verb: str, args: dict[str, Any], client: ClientInfo) -> dict[str, Any] | None:
        self.calls.append(args)
        return USAGE_REPLY


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, UsageHandler]]:
    ensure_web_built()
    path = tmp_path_factory.mktemp("hostile") / "store.sqlite3"
    big = "".join(f"line {i:08d} of a very long build log\n" for i in range(TEN_MB // 37 + 1))[:TEN_MB]
    with Store.open(path) as st:
        st.apply_batch(
            threads=[
                {
                    "threadId": "evil",
                    "source": "codex",
                    "title": "<script>window.__pwned='title'</script>",
                    "createdAt": 1,
                    "updatedAt": 2,
                }
            ],
            messages=[
                row("evil", 0, "user", "message", "<script>window.__pwned = 'user'</script> please"),
                row("evil", 1, "assistant", "message", EVIL_MD),
                row(
                    "evil",
                    2,
                    "tool",
                    "cmd",
                    "make",
                    {"command": "make <b>all</b>", "exitCode": 2, "output": big},
                ),
                row("evil", 3, "assistant", "hologram", "a kind from the future", {"depth": 3}),
                row("evil", 4, "tool", "todo", "broken", {"items": "not a list"}),
                row(
                    "evil",
                    5,
                    "tool",
                    "file",
                    None,
                    {"changes": [{"path": "<img src=x onerror=alert(1)>", "kind": "weird", "diff": 7}]},
                ),
                row("evil", 6, "assistant", "message", "The end."),
            ],
        )
    usage = Verb("usage.summary", UsageArgs, Object, "backend", "usage and cost (test declaration)")
    handler = UsageHandler()
    settings = GatewaySettings(host="127.0.0.1", port=0, token=TOKEN, close_timeout=1.0, max_frame=1 << 20)
    srv = ServerThread(settings, path, handler, verbs={**PUBLIC_VERBS, "usage.summary": usage})
    with srv:
        yield srv, handler


@pytest.fixture(scope="module")
def tab(server: tuple[ServerThread, UsageHandler]) -> Iterator[Any]:
    srv, _ = server
    with chromium() as ctx:
        page = ctx.new_page()
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        page.goto(f"{srv.base}/?token={TOKEN}")
        yield page


def test_hostile_rows_render_as_text(server: tuple[ServerThread, UsageHandler], tab: Any) -> None:
    srv, _ = server
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto(f"{srv.base}/t/evil")
    tab.wait_for_selector('.thread-page[data-loaded="1"]')
    tab.wait_for_selector("article[id='m-evil-0006']")
    assert tab.locator(".thread-page").get_attribute("data-rows") == "7"
    # Nothing ran: no script, handler or javascript: URL from the agent's text.
    assert tab.evaluate("window.__pwned") is None and not dialogs
    transcript = tab.locator(".transcript")
    assert transcript.locator("script, iframe, style, img[onerror], [onerror]").count() == 0
    assert transcript.locator("a[href^='javascript']").count() == 0
    assert "<script>window.__pwned = 'user'</script> please" in tab.locator("#m-evil-0000").inner_text()
    assert "display:none" not in (tab.evaluate("getComputedStyle(document.body).display") or "")
    # Broken Markdown still shows its words (the unclosed fence and emphasis do not eat the row).
    md = tab.locator("#m-evil-0001 .msg-body").inner_text()
    for words in ("Here is", "bold and", "a raw link", "never_closed_fence", "without"):
        assert words in md, words
    assert tab.locator("#m-evil-0006").inner_text().endswith("The end.")


def test_ten_megabyte_output_is_cut_with_a_way_to_see_more(
    server: tuple[ServerThread, UsageHandler], tab: Any
) -> None:
    srv, _ = server
    tab.goto(f"{srv.base}/t/evil#m-evil-0002")
    cmd = tab.locator("#m-evil-0002")
    cmd.wait_for()
    assert cmd.locator(".badge", has_text="exit 2").count() == 1
    assert "make <b>all</b>" in cmd.locator(".cmdline").inner_text()
    fold = cmd.locator("details.fold")
    assert fold.get_attribute("open") is None  # long output starts folded
    fold.locator("summary").click()
    pre = cmd.locator("pre.text")
    shown = len(pre.inner_text())
    assert 10_000 < shown <= 20_001, shown
    more = cmd.locator(".more")
    assert f"of {TEN_MB:,} characters" in more.inner_text()
    more.get_by_role("button", name="Show more").click()
    wait_js(tab, f"document.querySelector('#m-evil-0002 pre.text').textContent.length > {shown}")
    assert len(pre.inner_text()) > shown
    more.get_by_role("button", name="Show all").click()
    wait_js(tab, f"document.querySelector('#m-evil-0002 pre.text').textContent.length === {TEN_MB}")
    assert cmd.locator(".more").count() == 0


def test_unknown_kinds_and_malformed_rows_are_shown_raw(
    server: tuple[ServerThread, UsageHandler], tab: Any
) -> None:
    srv, _ = server
    tab.goto(f"{srv.base}/t/evil")
    tab.wait_for_selector("#m-evil-0003")
    unknown = tab.locator("#m-evil-0003").inner_text()
    assert (
        'Unknown row kind "hologram"' in unknown
        and "a kind from the future" in unknown
        and '"depth": 3' in unknown
    )
    assert "broken" in tab.locator("#m-evil-0004").inner_text()  # todo items not a list: its text
    weird = tab.locator("#m-evil-0005")
    assert "<img src=x onerror=alert(1)>" in weird.inner_text()
    assert weird.locator("img").count() == 0


def test_usage_page_shows_totals_and_groups(server: tuple[ServerThread, UsageHandler], tab: Any) -> None:
    srv, handler = server
    tab.goto(f"{srv.base}/usage?by=model&since=2026-11-01")
    tab.wait_for_selector('.usage-page[data-state="ok"]')
    assert handler.calls[-1]["by"] == "model"
    assert handler.calls[-1]["since"] == int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
    total = tab.locator(".usage-total").inner_text()
    assert "1,590,000" in total and "$4.31" in total
    table = tab.locator("table.usage-groups").inner_text()
    assert "gpt-5.5" in table and "claude-opus-4" in table and "unpriced" in table
    assert tab.locator("svg.bars rect").count() >= 2
    shot(tab, "usage")
    # Changing the grouping asks again and keeps it in the URL.
    tab.get_by_label("Group by").select_option("day")
    tab.wait_for_url("**by=day**")
    wait_until(lambda: any(c.get("by") == "day" for c in handler.calls))
