"""The verbs the gateway answers itself (owner `gateway` in oa_actors/verbs/catalog.py): live queries
on the local store, `unsubscribe`, `bridge.status`, `ping`.

They run synchronously on the event loop, so registering a subscription, reading the page and
queueing the reply happen with no `publish_rows` in between: the reply always precedes the first
event of its subscription, and no committed row falls between the two (a row may appear in both;
clients merge threads by `threadId` and messages by `key`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from oa_actors.gateway.errors import Busy, UnknownVerb
from oa_actors.gateway.protocol import PROTOCOL_VERSION, Request
from oa_actors.store.search import SearchQuery
from oa_actors.verbs import catalog as c
from oa_actors.verbs.registry import Args, NoArgs, Reply, Verb

if TYPE_CHECKING:
    from oa_actors.gateway.clients import Client
    from oa_actors.gateway.server import BridgeServer

MAX_THREAD_SUBSCRIPTIONS = 256  # per client

A = TypeVar("A", bound=Args)
R = TypeVar("R", bound=Reply)
Answer = Callable[["LocalVerbs", "Client", A], R]
_ANSWERS: dict[str, Callable[[LocalVerbs, Client, Any], Reply]] = {}


def answers(verb: Verb[A, R]) -> Callable[[Answer[A, R]], Answer[A, R]]:
    """Register the decorated method as the answer to a local verb."""
    if not verb.local:
        raise ValueError(f"{verb.name} is served by {verb.owner}, not by the gateway")

    def register(fn: Answer[A, R]) -> Answer[A, R]:
        _ANSWERS[verb.name] = fn
        return fn

    return register


def local_verbs_answered() -> frozenset[str]:
    """The names of the local verbs that have an answer here."""
    return frozenset(_ANSWERS)


class LocalVerbs:
    """Answers the local verbs of one server."""

    def __init__(self, server: BridgeServer) -> None:
        self.server = server

    def answer(self, client: Client, req: Request) -> Reply:
        fn = _ANSWERS.get(req.verb.name)
        if fn is None:
            raise UnknownVerb(f"{req.verb.name} is not answered by the gateway")
        return fn(self, client, req.args)

    @answers(c.THREADS_LIST)
    def _threads_list(self, client: Client, args: c.ThreadsList) -> c.ThreadsPage:
        s = self.server.settings
        limit = min(args.limit or s.threads_page_default, s.threads_page_max)
        if args.subscribe:
            self.server.subscribe_threads(client, True)
        page = self.server.queries.threads_page(limit, args.beforeUpdatedAt)
        return c.ThreadsPage(**page, subscribed=client.threads_sub)

    def route(self, req: Request) -> Verb[Any, Any] | None:
        """The verb to ask another actor for instead of answering a local request here: `search` in
        mode semantic or hybrid goes to the indexer (`search.semantic`, same arguments), which holds
        the model. Mode keyword (or none: the apps' default) is answered here."""
        if req.verb.name == c.SEARCH.name and getattr(req.args, "mode", None) not in (None, "keyword"):
            return c.SEARCH_SEMANTIC
        return None

    @answers(c.SEARCH)
    def _search(self, client: Client, args: c.Search) -> c.SearchResults:
        query = SearchQuery.from_verb_args(args)
        page = self.server.queries.search(query)
        return msgspec.convert(page.to_json(), c.SearchResults)

    @answers(c.USAGE_SUMMARY)
    def _usage_summary(self, client: Client, args: c.UsageSummaryArgs) -> c.UsageSummary:
        return msgspec.convert(self.server.queries.usage(args.by, args.since), c.UsageSummary)

    @answers(c.MESSAGES_FOR_THREAD)
    def _messages_for_thread(self, client: Client, args: c.MessagesForThread) -> c.MessagesPage:
        s = self.server.settings
        thread_id = args.threadId
        limit = min(args.limit or s.messages_page_default, s.messages_page_max)
        if args.subscribe and thread_id not in client.thread_subs:
            if len(client.thread_subs) >= MAX_THREAD_SUBSCRIPTIONS:
                raise Busy(f"at most {MAX_THREAD_SUBSCRIPTIONS} thread subscriptions per client")
            self.server.subscribe_thread(client, thread_id)
        after: int | float = -1 if args.afterSeq is None else args.afterSeq
        if isinstance(after, float) and after.is_integer():
            after = int(after)  # seqs are integers unless a row was placed between two (docs/rows.md)
        page = self.server.queries.messages_page(thread_id, after, limit)
        return c.MessagesPage(**page, subscribed=thread_id in client.thread_subs)

    @answers(c.THREADS_COUNTS)
    def _threads_counts(self, client: Client, args: c.ThreadsCounts) -> c.ThreadCounts:
        return c.ThreadCounts(counts=self.server.queries.message_counts(args.threadIds))

    @answers(c.STATUS_WATCH)
    def _status_watch(self, client: Client, args: c.StatusWatch) -> c.StatusHistory:
        feed = self.server.status_feed
        feed.watch(client, args.subscribe)
        return c.StatusHistory(
            intervalMs=int(feed.interval * 1000),
            samples=list(feed.samples),
            subscribed=client in feed.watchers,
        )

    @answers(c.UNSUBSCRIBE)
    def _unsubscribe(self, client: Client, args: c.Unsubscribe) -> c.Unsubscribed:
        removed = 0
        if args.query == "threads.list":
            removed = int(client.threads_sub)
            self.server.subscribe_threads(client, False)
        elif args.threadId is not None:
            removed = int(self.server.unsubscribe_thread(client, args.threadId))
        else:
            for tid in list(client.thread_subs):
                removed += int(self.server.unsubscribe_thread(client, tid))
        return c.Unsubscribed(query=args.query, threadId=args.threadId, removed=removed)

    def status(self) -> c.ServerStatus:
        """The server's state (`bridge.status` without `you`)."""
        server, s = self.server, self.server.settings
        started = server.started_at
        threads, message_threads = server.subscription_counts()
        return c.ServerStatus(
            protocol=PROTOCOL_VERSION,
            clients=server.clients,
            startedAt=int(started * 1000),
            uptimeMs=int((time.time() - started) * 1000) if started else 0,
            subscriptions=c.Subscriptions(threads=threads, messageThreads=message_threads),
            counters=dict(server.counters),
            store=c.StoreState(available=server.queries.available),
            limits=c.Limits(
                maxClients=s.max_clients,
                maxFrame=s.max_frame,
                maxRequest=s.max_request,
                sendQueue=s.send_queue,
                maxInflight=s.max_inflight,
            ),
        )

    @answers(c.BRIDGE_STATUS)
    def _bridge_status(self, client: Client, args: NoArgs) -> c.BridgeStatus:
        you = c.You(
            clientId=client.info.id, threads=client.threads_sub, messageThreads=sorted(client.thread_subs)
        )
        return c.BridgeStatus(**msgspec.structs.asdict(self.status()), you=you)

    @answers(c.PING)
    def _ping(self, client: Client, args: NoArgs) -> c.Pong:
        return c.Pong(pong=True, serverTime=int(time.time() * 1000))
