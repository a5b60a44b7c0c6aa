"""Web app benchmark in a real browser (Debian's headless Chromium through Playwright):

- thread list first render with 10,000 threads in the store (goal <= 300 ms), from navigation
  start to the first rows in the DOM (the list reads pages of 100, then 500 as it is scrolled,
  and keeps only the rows on screen in the DOM);
- a 5,000-message transcript (goal <= 1 s), from navigation start to every row read and the first
  ones on screen (the page mounts rows in chunks of 300 as the reader scrolls); and, without a
  goal, the time the jump to the latest message takes to put all 5,000 rows in the DOM;
- page weight of the first load (goal <= 200 KB gzipped): the bytes on the wire of the page, its
  bundle and stylesheet (and the manifest and icon the browser fetches with them).

The server is a real `BridgeServer` over a real SQLite store, in this process (its own loop thread).
The store holds generated rows shaped like the corpus (a mix of kinds). Each figure is the median
of the rounds, each a fresh load of the page in the same tab (a new document,
the app's hashed files from the browser cache as for any return visit); a first, cold load is
dropped. A new tab adds the browser's own renderer start: shown apart, without a goal. With
`--benchmark-disable` (the pyproject default, plain `make test`) it runs one round as a smoke test;
`make bench` runs 5 rounds, prints each figure beside its goal (ratio goal/value: >= 1 is met) and
records them in `benches/results/web.json`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import pytest
from measure import Record, goal_line, goal_ratio

from oa_actors.gateway import GatewaySettings
from oa_actors.store import Store
from tests.support.browser import ServerThread, chromium, ensure_web_built, wait_js

TOKEN = "bench-web-token-0123456789abcdefghij"
THREADS = 10_000
MESSAGES = 5_000
#: Each goal, lower is better: (value, unit).
GOALS = {
    "threadListFirstRenderMs": (300.0, "ms"),
    "transcript5000Ms": (1000.0, "ms"),
    "firstLoadGzipKB": (200.0, "KB"),
}

#: Marks the moment the first thread row and the full transcript are in the DOM (performance.now(),
#: i.e. milliseconds since navigation start), watched by a MutationObserver from before any script.
OBSERVER = """
(() => {
  const mark = (name) => { if (!(name in window.__t)) window.__t[name] = performance.now(); };
  window.__t = {};
  new MutationObserver(() => {
    if (document.querySelector('.trow')) mark('firstRow');
    const page = document.querySelector('.thread-page');
    if (page && page.dataset.loaded === '1' && page.dataset.rows === 'MESSAGES'
        && document.querySelector('article.msg')) mark('transcript');
    if (document.querySelectorAll('article.msg').length === MESSAGES) mark('allRows');
  }).observe(document, {childList: true, subtree: true, attributes: true});
})();
""".replace("MESSAGES", str(MESSAGES))

KINDS = [
    ("user", "message", lambda i: f"Please look at issue {i}: the build fails on **CI** with `make test`."),
    ("assistant", "reason", lambda i: f"Thinking about step {i}: read the failing test first."),
    ("tool", "cmd", lambda i: f"pytest -x tests/test_{i}.py"),
    (
        "assistant",
        "message",
        lambda i: (
            f"Step {i} done.\n\n- fixed `parse()`\n- added a test\n\n```python\nassert parse('{i}')\n```"
        ),
    ),
]


def _message(tid: str, seq: int) -> dict[str, Any]:
    role, kind, text = KINDS[seq % len(KINDS)]
    data = {"command": text(seq), "exitCode": seq % 3, "output": "ok\n" * 8} if kind == "cmd" else None
    return {
        "threadId": tid,
        "key": f"{tid}-{seq:06d}",
        "seq": seq,
        "ts": 1_790_000_000_000 + seq * 1000,
        "role": role,
        "kind": kind,
        "text": text(seq),
        "data": data,
        "turnId": f"turn-{seq // 4}",
    }


def _thread(i: int) -> dict[str, Any]:
    return {
        "threadId": f"thread-{i:05d}",
        "source": ("codex", "claude")[i % 2],
        "title": f"Fix flaky test number {i} in the parser",
        "cwd": f"/home/dev/work/project-{i % 40}",
        "createdAt": 1_790_000_000_000 + i,
        "updatedAt": 1_790_000_000_000 + i * 1000,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    ensure_web_built()
    path = tmp_path_factory.mktemp("bench-web") / "store.sqlite3"
    with Store.open(path) as st:
        threads = [_thread(i) for i in range(THREADS)]
        st.apply_batch(threads=threads)
        st.apply_batch(messages=[_message("thread-big", s) for s in range(MESSAGES)])
        st.apply_batch(
            threads=[
                {
                    "threadId": "thread-big",
                    "source": "codex",
                    "title": "A long session",
                    "createdAt": 1,
                    "updatedAt": 2,
                }
            ]
        )
    settings = GatewaySettings(host="127.0.0.1", port=0, token=TOKEN, close_timeout=1.0)
    with ServerThread(settings, path) as srv:
        yield srv


def _series(ctx: Any, url: str, mark: str, rounds: int, show_all: bool = False) -> list[dict[str, float]]:
    """`rounds` loads of `url` in one tab (after one dropped warm-up load when there are several)."""
    page = ctx.new_page()
    try:
        warmup = 1 if rounds > 1 else 0
        return [_measure(page, url, mark, show_all) for _ in range(rounds + warmup)][warmup:]
    finally:
        page.close()


def _measure(page: Any, url: str, mark: str, show_all: bool) -> dict[str, float]:
    page.goto(url)
    wait_js(page, f"window.__t && '{mark}' in window.__t", 120)
    marks: dict[str, float] = page.evaluate("window.__t")
    if show_all:
        start = page.evaluate("performance.now()")
        page.get_by_role("button", name="Jump to the latest message").click()
        wait_js(page, "window.__t && 'allRows' in window.__t", 120)
        marks["showAll"] = page.evaluate("window.__t.allRows") - start
    return marks


TRANSFERRED = """() => [performance.getEntriesByType('navigation')[0],
                       ...performance.getEntriesByType('resource')]
                      .reduce((n, e) => n + (e.transferSize || 0), 0)"""


def test_bench_web_app_in_the_browser(server: ServerThread, full: bool, record: Record) -> None:
    rounds = 5 if full else 1
    base = server.base
    with chromium() as ctx:
        ctx.add_init_script(OBSERVER)
        page = ctx.new_page()
        page.goto(f"{base}/?token={TOKEN}")  # sign in (and warm the cache of hashed assets)
        page.close()
        lists = _series(ctx, f"{base}/", "firstRow", rounds)
        tabs = []
        for _ in range(rounds):  # the same in a new tab each time (the renderer process starts too)
            tab = ctx.new_page()
            tabs.append(_measure(tab, f"{base}/", "firstRow", False))
            tab.close()
        talks = _series(ctx, f"{base}/t/thread-big", "transcript", rounds, show_all=True)
    with chromium() as fresh:  # a first load: an empty cache, every byte on the wire
        page = fresh.new_page()
        page.goto(f"{base}/?token={TOKEN}")
        page.wait_for_selector(".trow", timeout=120_000)
        first_bytes = float(page.evaluate(TRANSFERRED))
    figures = {
        "threadListFirstRenderMs": statistics.median(m["firstRow"] for m in lists),
        "threadListNewTabMs": statistics.median(m["firstRow"] for m in tabs),
        "transcript5000Ms": statistics.median(m["transcript"] for m in talks),
        "transcriptJumpToEnd5000Ms": statistics.median(m["showAll"] for m in talks),
        "firstLoadGzipKB": first_bytes / 1024,
    }
    lines = [
        goal_line(name, figures[name], goal, unit, higher_is_better=False)
        for name, (goal, unit) in GOALS.items()
    ]
    lines += [f"{name}: {figures[name]:,.0f} (no goal)" for name in figures if name not in GOALS]
    print(f"\nweb app in Chromium, median of {rounds} round(s):\n  " + "\n  ".join(lines))
    assert first_bytes > 10_000  # the figures measured something
    assert all(v > 0 for v in figures.values())
    ratios = {f"{name}Ratio": goal_ratio(figures[name], goal, False) for name, (goal, _) in GOALS.items()}
    record({"rounds": rounds, **figures, **ratios})
