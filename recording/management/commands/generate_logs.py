"""Fill the request log with realistic rows, for trying the dashboard and benchmarking it."""

from __future__ import annotations

import random
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from recording import bulk
from recording.models import RequestLog, State
from recording.rollup import StatDeltas
from routing.core.exchange import new_request_id

MODELS = [
    ("llama3-8b", 0.35, 60),
    ("llama3-70b", 0.2, 18),
    ("qwen3-4b", 0.2, 90),
    ("mistral-7b", 0.15, 70),
    ("gpt-4o", 0.1, 45),
]  # name, share, tokens/s
BATCH = 5000


def fake_row(started, rng: random.Random) -> dict:
    name, _, speed = rng.choices(MODELS, weights=[m[1] for m in MODELS])[0]
    state = rng.choices([State.OK, State.ERROR, State.CANCELLED], weights=[95, 3, 2])[0]
    prompt = int(rng.lognormvariate(5, 1))
    completion = int(rng.lognormvariate(5.2, 0.8)) if state == State.OK else 0
    ttft = rng.lognormvariate(5.5, 0.6)
    duration = ttft + completion * 1000 / speed * rng.uniform(0.8, 1.2)
    stream = rng.random() < 0.7
    return {
        "id": new_request_id(),
        "started_at": started,
        "finished_at": started + timedelta(milliseconds=duration),
        "state": state,
        "status": {
            State.OK: 200,
            State.ERROR: rng.choice([429, 500, 502, 504]),
            State.CANCELLED: 499,
        }[state],
        "service": "ollama" if rng.random() < 0.25 else "openai",
        "endpoint": "/v1/chat/completions",
        "client": f"10.0.0.{rng.randint(2, 40)}",
        "node": "generated",
        "workflow": rng.choice(["default", "default", "support", "evals"]),
        "upstream": "gpu" if "70b" in name else "default",
        "model_in": name,
        "model_out": name,
        "stream": stream,
        "duration_ms": duration,
        "ttft_ms": ttft if stream else duration,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "bytes_in": prompt * 4,
        "bytes_out": completion * 4,
        "error": "" if state == State.OK else "generated error",
    }


class Command(BaseCommand):
    help = "Add COUNT realistic request log rows spread over the last DAYS days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--days", type=float, default=7.0)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: object, **options: object) -> None:
        rng = random.Random(options["seed"])
        total, done = options["count"], 0
        # Oldest first, so that every index grows at its end (ten times faster than random).
        start = timezone.now() - timedelta(days=options["days"])
        step = options["days"] * 86400 / max(total, 1)
        while done < total:
            rows = [
                fake_row(start + timedelta(seconds=(done + i + rng.random()) * step), rng)
                for i in range(min(BATCH, total - done))
            ]
            deltas = StatDeltas()
            for row in rows:
                deltas.add(row)
            with transaction.atomic():
                for statement in [
                    *bulk.insert(RequestLog, bulk.values(RequestLog, rows)),
                    *deltas.statements(),
                ]:
                    statement.execute()
            done += len(rows)
            if sys.stderr.isatty():
                sys.stderr.write(f"\r{done}/{total}")
        if sys.stderr.isatty():
            sys.stderr.write("\r")
        self.stdout.write(f"Generated {done} request logs over {options['days']:g} days")
