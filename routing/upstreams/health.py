"""Health of the upstreams: failures put one in cooldown (skipped while another target can
answer), then one request probes it; an upstream that asks for a pause (429 or 503 with
Retry-After) rests that long, and no request is sent to it meanwhile.

Only signs that an upstream is unwell count as failures: no connection, silence, 502, 503,
504. One that answers a 500 or a 4xx is alive (llama.cpp's server answers 500 to some
client mistakes), and so counts as a success.

Each process keeps the state of the upstreams it talks to. With REDIS_URL cooldowns and
rests are also written to Redis, and every process reads those of the others once a
second, so a dead server is skipped by every worker and node, not learnt by each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import httpx
from django.conf import settings

from routing.core.redaction import redact_text
from routing.core.shared_redis import redis_client

log = logging.getLogger(__name__)
PROBE_SECONDS = 60.0  # a probe that never reports back frees the way after this long
MAX_REST_SECONDS = 120.0  # a longer Retry-After is honoured this long, then tried again
UNWELL_STATUSES = frozenset({502, 503, 504})


@dataclass
class State:
    failures: int = 0  # in a row
    cooldown_until: float = 0.0
    probing: bool = False  # the cooldown is over and one request is trying it
    probe_started: float = 0.0
    inflight: int = 0
    last_error: str = ""
    last_failure: float = 0.0
    last_success: float = 0.0
    shared: bool = False  # the cooldown came from another process
    rest_until: float = 0.0  # it asked for a pause (Retry-After) until then
    rest_status: int = 503  # and said so with this status

    def status(self, now: float) -> str:
        if self.cooldown_until > now or self.rest_until > now:
            return "cooldown"
        if self.probing or self.cooldown_until:
            return "probing"
        return "degraded" if self.failures else "ok"


@dataclass
class Health:
    states: dict[str, State] = field(default_factory=dict)

    def state(self, name: str) -> State:
        return self.states.setdefault(name, State())

    def ready(self, name: str, now: float | None = None) -> bool:
        """May a request go there now? After a cooldown, one request at a time probes."""
        now = time.time() if now is None else now
        state = self.state(name)
        if state.cooldown_until > now or state.rest_until > now:
            return False
        return not (state.probing and now - state.probe_started < PROBE_SECONDS)

    def resting(self, name: str, now: float | None = None) -> float:
        """Seconds left of the pause this upstream asked for (0: none)."""
        now = time.time() if now is None else now
        return max(self.state(name).rest_until - now, 0.0)

    def rest(
        self, name: str, seconds: float, status: int, error: str, secrets: list[str] | tuple = ()
    ) -> None:
        """The upstream asked for a pause (Retry-After): no request goes there meanwhile."""
        state = self.state(name)
        state.rest_until = time.time() + min(max(seconds, 0.0), MAX_REST_SECONDS)
        state.rest_status = status
        state.last_error = redact_text(error, list(secrets))[:300]
        state.last_failure = time.time()
        log.warning("upstream %s asked for a pause of %gs (%d)", name, seconds, status)
        publish(name, state.rest_until, status)

    def begin(self, name: str) -> None:
        """A request goes there; if its cooldown is over, this one is the probe."""
        state = self.state(name)
        state.inflight += 1
        if state.cooldown_until and not state.probing:
            state.probing, state.probe_started = True, time.time()

    def end(self, name: str) -> None:
        state = self.state(name)
        state.inflight = max(state.inflight - 1, 0)

    def succeeded(self, name: str) -> None:
        state = self.state(name)
        was_resting = bool(state.cooldown_until)
        state.failures, state.cooldown_until, state.probing = 0, 0.0, False
        state.shared, state.last_success = False, time.time()
        if was_resting:
            log.info("upstream %s answers again", name)
            publish(name, 0.0)

    def failed(self, name: str, error: str, secrets: list[str] | tuple = ()) -> None:
        """Count a failure; its text is kept (and shown) redacted: upstreams echo keys."""
        now = time.time()
        error = redact_text(error, list(secrets))
        state = self.state(name)
        state.failures += 1
        state.last_error, state.last_failure = error[:300], now
        if state.probing or state.failures >= settings.COOLDOWN_FAILURES:
            state.cooldown_until = now + settings.COOLDOWN_SECONDS
            state.probing = False
            log.warning(
                "upstream %s rests for %gs after %d failures: %s",
                name,
                settings.COOLDOWN_SECONDS,
                state.failures,
                error[:120],
            )
            publish(name, state.cooldown_until)

    def answered(self, name: str, status: int, error: str, secrets: list[str] | tuple = ()) -> None:
        """An error status came back: a failure if it shows the upstream unwell, else a sign
        of life (a quick 500 or 4xx is the request's problem, not the server's)."""
        if status in UNWELL_STATUSES:
            self.failed(name, error, secrets)
        elif status != 429:  # busy for now, but neither dead nor well: count nothing
            self.succeeded(name)

    def busy(self, name: str) -> int:
        return self.state(name).inflight

    def snapshot(self) -> list[dict]:
        now = time.time()
        return [
            {
                "upstream": name,
                "status": s.status(now),
                "failures": s.failures,
                "inflight": s.inflight,
                "cooldown_seconds": max(s.cooldown_until - now, s.rest_until - now, 0),
                "last_error": s.last_error,
                "last_failure": s.last_failure or None,
                "last_success": s.last_success or None,
            }
            for name, s in sorted(list(self.states.items()))  # list(): one atomic copy
        ]


health = Health()
KEY = "llmproxy:cooldown:"
REST_KEY = "llmproxy:rest:"
_tasks: set[asyncio.Task] = set()


def publish(name: str, until: float, rest_status: int | None = None) -> None:
    """Tell the other processes of a cooldown, or of a rest when `rest_status` is given
    (in the background: never on the request's time)."""
    if not settings.REDIS_URL:
        return
    try:
        task = asyncio.get_running_loop().create_task(_publish(name, until, rest_status))
    except RuntimeError:  # no loop (a management command): nobody to tell
        return
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _publish(name: str, until: float, rest_status: int | None) -> None:
    if rest_status is None:
        key, value = KEY + name, str(until)
    else:
        key, value = REST_KEY + name, f"{until} {rest_status}"
    try:
        if until > time.time():
            await redis_client().set(key, value, exat=int(until) + 1)
        else:
            await redis_client().delete(key)
    except Exception as exc:  # Redis away: each process still learns by itself
        log.warning("could not share the health of %s: %s", name, exc)


async def read_shared(prefix: str) -> dict[str, str]:
    names = [k.decode()[len(prefix) :] async for k in redis_client().scan_iter(prefix + "*")]
    values = await redis_client().mget([prefix + n for n in names]) if names else []
    return {n: v.decode() for n, v in zip(names, values, strict=True) if v}


def adopt_shared(cooldowns: dict[str, str], rests: dict[str, str], now: float) -> None:
    """Take the cooldowns and rests other processes learnt, when longer than ours."""
    for name, value in cooldowns.items():
        until, state = float(value), health.state(name)
        if until > now and until > state.cooldown_until:
            state.cooldown_until, state.shared = until, True
    for name, value in rests.items():
        until, _, status = value.partition(" ")
        state = health.state(name)
        if float(until) > now and float(until) > state.rest_until:
            state.rest_until, state.rest_status = float(until), int(status or 503)


async def follow_shared_health(interval: float = 1.0) -> None:
    """Read the cooldowns and rests other processes wrote (with REDIS_URL)."""
    while settings.REDIS_URL:
        await asyncio.sleep(interval)
        try:
            cooldowns, rests = await read_shared(KEY), await read_shared(REST_KEY)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis away for a moment
            log.debug("could not read shared health: %s", exc)
            continue
        try:
            adopt_shared(cooldowns, rests, time.time())
        except ValueError as exc:  # a value this version cannot read
            log.debug("unreadable shared health: %s", exc)


async def check_actively() -> None:
    """With HEALTH_CHECK_SECONDS, ask every upstream for its model list that often."""
    from routing.config.current import current_rules
    from routing.upstreams.client import build_request, get_client

    while settings.HEALTH_CHECK_SECONDS > 0:
        await asyncio.sleep(settings.HEALTH_CHECK_SECONDS)
        for upstream in (await current_rules()).upstreams:
            request = build_request(upstream, "/v1/models", [], method="GET")
            request.extensions["timeout"] = httpx.Timeout(5.0).as_dict()
            try:
                response = await get_client().send(request)
                await response.aclose()
                if response.status_code in UNWELL_STATUSES:
                    health.failed(upstream.name, f"health check: {response.status_code}")
                else:
                    health.succeeded(upstream.name)
            except httpx.HTTPError as exc:
                health.failed(upstream.name, f"health check: {exc}", [upstream.api_key])
