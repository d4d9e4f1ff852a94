"""Relabelling: a stronger model answers captured prompts again, as alternative replies.

Requests go through the gateway's own routing in this process: the rules the
gateway would load (routes, mappings, targets, DEFAULT_UPSTREAM), the same upstream
client, retries and fallback, and the route's transforms; only intake (keys, rate
limits) and recording are left out, so relabelling neither needs a running gateway
nor adds its own answers to the captured traffic.

Each answer is stored as soon as it arrives, one row per (conversation, model): a
run that was killed continues where it stopped, and never asks again for what it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import IntegrityError
from django.db.models import Exists, OuterRef
from django.utils import timezone

from recording.models import Alternative, Conversation
from routing.config.current import current_rules
from routing.core.errors import GatewayError
from routing.core.exchange import Exchange
from routing.pipeline import calls as pipeline
from routing.rules.engine import RuleSet, decide
from routing.streams.chunks import CHAT
from routing.streams.transforms import add_no_think_to_messages
from routing.upstreams.client import close_clients

CLIENT = "127.0.0.1"  # routes that match on the client address see the gateway's own host
PAGE = 100


@dataclass
class RelabelSummary:
    relabelled: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, for the report

    def line(self) -> str:
        return (
            f"relabelled {self.relabelled}, skipped {self.skipped} already done, "
            f"{self.failed} failed"
        )


def prompt_of(messages: list[dict]) -> list[dict]:
    """The conversation minus its final assistant reply."""
    if messages and messages[-1].get("role") == "assistant":
        return messages[:-1]
    return messages


def without_alternative(conversations, model: str):
    done = Alternative.objects.filter(conversation=OuterRef("pk"), model=model)
    return conversations.exclude(Exists(done))


def upstream_body(decision_model: str, messages: list[dict], tools: list | None) -> dict:
    body: dict = {"model": decision_model, "messages": messages, "stream": False}
    if tools:
        body["tools"] = tools
    return body


async def ask(rules: RuleSet, model: str, messages: list[dict], tools: list | None) -> Exchange:
    """Send one prompt as the gateway would; the exchange holds the reply and its usage."""
    decision = decide(rules, model, CLIENT)
    if decision.transforms.no_think:
        messages = add_no_think_to_messages(messages)
    exchange = Exchange(
        service="openai",
        endpoint=pipeline.UPSTREAM_PATHS[CHAT],
        kind=CHAT,
        client=CLIENT,
        model_in=model,
        decision=decision,
        stream=False,
        body=upstream_body(decision.model, messages, tools),
    )
    await pipeline.complete(exchange)
    return exchange


def store(conversation_id: int, model: str, exchange: Exchange) -> bool:
    """Keep an answer; False when another run stored one for this model first."""
    usage = exchange.usage or {}
    try:
        Alternative.objects.create(
            conversation_id=conversation_id,
            model=model[:200],
            model_used=exchange.decision.model[:200],
            message=exchange.reply.message(),
            finish_reason=(exchange.reply.finish_reason or "")[:32],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            created_at=timezone.now(),
        )
    except IntegrityError:  # the unique (conversation, model) pair
        return False
    return True


def next_page(conversations, model: str, after: int, size: int) -> list[tuple]:
    rows = without_alternative(conversations.filter(pk__gt=after), model).order_by("pk")
    return list(rows.values_list("pk", "messages", "tools")[:size])


class Relabeller:
    def __init__(self, conversations, model: str, limit: int | None, concurrency: int) -> None:
        self.conversations, self.model = conversations, model
        self.limit, self.concurrency = limit, concurrency
        self.summary = RelabelSummary()
        self.done = 0

    def pending(self) -> int:
        """How many this run will ask (and count the ones done before as skipped)."""
        waiting = without_alternative(self.conversations, self.model).count()
        self.summary.skipped = self.conversations.count() - waiting
        return waiting if self.limit is None else min(waiting, self.limit)

    async def run(self, progress: Callable[[int], None] | None = None) -> RelabelSummary:
        rules = await current_rules()
        queue: asyncio.Queue = asyncio.Queue(self.concurrency * 2)
        workers = [
            asyncio.create_task(self.work(rules, queue, progress)) for _ in range(self.concurrency)
        ]
        try:
            await asyncio.gather(self.feed(queue), *workers)
        finally:
            for worker in workers:
                worker.cancel()
            await close_clients()
        return self.summary

    async def feed(self, queue: asyncio.Queue) -> None:
        after, left = 0, self.limit
        while left is None or left > 0:
            size = PAGE if left is None else min(PAGE, left)
            page = await sync_to_async(next_page)(self.conversations, self.model, after, size)
            if not page:
                break
            for row in page:
                await queue.put(row)
            after = page[-1][0]
            left = None if left is None else left - len(page)
        for _ in range(self.concurrency):
            await queue.put(None)  # one stop sign per worker

    async def work(self, rules: RuleSet, queue: asyncio.Queue, progress) -> None:
        while (row := await queue.get()) is not None:
            pk, messages, tools = row
            try:
                exchange = await ask(rules, self.model, prompt_of(messages), tools)
            except GatewayError as exc:
                self.summary.failed += 1
                if len(self.summary.errors) < 3:
                    self.summary.errors.append(f"conversation {pk}: {exc.message}")
            else:
                if await sync_to_async(store)(pk, self.model, exchange):
                    self.summary.relabelled += 1
                else:
                    self.summary.skipped += 1
            self.done += 1
            if progress:
                progress(self.done)


def relabel(
    workflow: str,
    model: str,
    limit: int | None = None,
    concurrency: int = 4,
    progress_for: Callable[[int], Callable[[int], None]] | None = None,
) -> RelabelSummary:
    """Relabel a workflow's conversations that have no answer from `model` yet.

    `progress_for(total)` makes the progress callback once the total is known.
    """
    relabeller = Relabeller(
        Conversation.objects.filter(workflow=workflow), model, limit, concurrency
    )
    total = relabeller.pending()
    progress = progress_for(total) if progress_for else None
    return asyncio.run(relabeller.run(progress))
