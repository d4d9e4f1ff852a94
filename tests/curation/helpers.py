"""Known conversations for the curation tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from recording.capture import digest
from recording.models import Alternative, Conversation

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def conversation(
    prompt: str = "Hi",
    reply: str | dict = "Hello",
    workflow: str = "support",
    minutes: int = 0,
    finish: str = "stop",
    tokens: int | None = 5,
    system: str = "",
    tools: list | None = None,
    **fields: object,
) -> Conversation:
    reply = reply if isinstance(reply, dict) else {"role": "assistant", "content": reply}
    head = [{"role": "system", "content": system}] if system else []
    messages = [*head, {"role": "user", "content": prompt}, reply]
    return Conversation.objects.create(
        request_id=fields.pop("request_id", None) or _request_id(),
        workflow=workflow,
        model="small",
        model_in="small",
        created_at=T0 + timedelta(minutes=minutes),
        messages=messages,
        tools=tools,
        finish_reason=finish,
        prompt_tokens=3,
        completion_tokens=tokens,
        digest=digest(messages),
        **fields,
    )


def alternative(conv: Conversation, model: str, content: str, tokens: int = 7) -> Alternative:
    return Alternative.objects.create(
        conversation=conv,
        model=model,
        model_used=model,
        message={"role": "assistant", "content": content},
        finish_reason="stop",
        completion_tokens=tokens,
        created_at=timezone.now(),
    )


def _request_id():
    from routing.core.exchange import new_request_id

    return new_request_id()
