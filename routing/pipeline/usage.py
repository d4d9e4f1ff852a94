"""Token usage for the client when the upstream reports none: the gateway counts it with its
tokenizer (in a thread: building an encoding blocks for a second, counting is CPU work) and
keeps it on the exchange marked estimated, which the request's row records."""

from __future__ import annotations

import asyncio

from routing.core.exchange import Exchange
from routing.streams import tokens
from routing.streams.usage import client_usage


def reported_usage(exchange: Exchange) -> tuple[int, int] | None:
    """The prompt and completion tokens the exchange knows, if any."""
    usage = exchange.usage or {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (prompt, completion) if isinstance(prompt, int) and isinstance(completion, int) else None


def reply_text(exchange: Exchange) -> str:
    """What the model wrote: its reasoning, the text and the arguments of its tool calls."""
    message = exchange.reply.message()
    arguments = [
        (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
        for call in message.get("tool_calls", ())
    ]
    written = [*exchange.reply.reasoning, message["content"], *arguments]
    return "".join(a for a in written if isinstance(a, str))


def count_tokens(exchange: Exchange) -> tuple[int, int]:
    """Prompt and completion tokens by the gateway's tokenizer (blocking: not on the loop)."""
    model = exchange.decision.model
    return tokens.count_prompt(exchange.body, model), tokens.count_text(reply_text(exchange), model)


async def usage_counts(exchange: Exchange) -> tuple[int, int]:
    """The upstream's counts, else the gateway's (counted off the event loop, then kept on
    the exchange as estimated)."""
    if (reported := reported_usage(exchange)) is not None:
        return reported
    prompt, completion = await asyncio.to_thread(count_tokens, exchange)
    exchange.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "estimated": True}
    return prompt, completion


async def fill_usage(exchange: Exchange, data: dict) -> None:
    """Clients expect usage on a whole OpenAI reply: the gateway's count when the upstream
    gave none (the row keeps it marked estimated)."""
    if reported_usage(exchange) is None:
        data["usage"] = client_usage(*await usage_counts(exchange))


def client_asked_for_usage(exchange: Exchange) -> bool:
    """Did the client's stream ask for a usage chunk (`stream_options.include_usage`)?"""
    options = exchange.client_body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True
