"""The benchmark's Markdown tables and the sentences under them."""

from __future__ import annotations

SHIPPED = "gateway (recording on)"
NO_RECORDING = "gateway, recording off"
TRACED = "gateway, tracing on (OTLP/HTTP)"
LIMITED = "gateway + rate limit counted"
CACHED = "gateway, answers from its cache"
LITELLM = "LiteLLM proxy"


def table(rows: list[dict], concurrency: list[int]) -> list[str]:
    head = ["target"]
    for c in concurrency:
        head += [f"c={c} req/s", f"c={c} p50 ms", f"c={c} p99 ms"]
    head += ["stream TTFB ms", "stream relay tokens/s", "CPU ms/req", "peak RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["name"]]
        for c in concurrency:
            load = row["loads"][c]
            cells += [f"{load.rps:,.0f}", f"{load.p50_ms:.2f}", f"{load.p99_ms:.2f}"]
        cells += [
            f"{row['ttfb_ms']:.2f}",
            f"{row['relay']:,.0f}",
            f"{row['cpu_ms']:.2f}" if "cpu_ms" in row else "-",
            f"{row['rss_mb']:.0f}" if "rss_mb" in row else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ratios(rows: list[dict], concurrency: list[int]) -> list[str]:
    """Throughput and p50 of each proxy as a share of direct, and ours against LiteLLM's."""
    by_name = {row["name"]: row for row in rows}
    direct, litellm = rows[0], by_name.get(LITELLM)
    proxies = [r for r in rows[1:] if r["name"] in (SHIPPED, LITELLM) or "workers" in r["name"]]
    head = ["proxy"] + [f"c={c} req/s vs direct" for c in concurrency]
    if litellm:
        head += [f"c={c} req/s vs LiteLLM" for c in concurrency]
        head += [f"c={c} p50 vs LiteLLM" for c in concurrency]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in proxies:
        cells = [row["name"]]
        cells += [f"{row['loads'][c].rps / direct['loads'][c].rps:.0%}" for c in concurrency]
        if litellm:
            cells += [f"{row['loads'][c].rps / litellm['loads'][c].rps:.1f}x" for c in concurrency]
            cells += [
                f"{row['loads'][c].p50_ms / litellm['loads'][c].p50_ms:.2f}x" for c in concurrency
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def notes(rows: list[dict], concurrency: list[int]) -> list[str]:
    by_name = {row["name"]: row for row in rows}
    direct, first = rows[0], concurrency[0]
    mid = concurrency[len(concurrency) // 2]
    lines = []
    for row in rows[1:]:
        added = row["loads"][first].p50_ms - direct["loads"][first].p50_ms
        lines.append(
            f"- {row['name']}: adds {added:.2f} ms to p50 at c={first}, "
            f"{row['ttfb_ms'] - direct['ttfb_ms']:.2f} ms to stream TTFB; "
            f"serves {row['loads'][mid].rps / direct['loads'][mid].rps:.1%} of direct "
            f"throughput at c={mid}"
        )
    on, off = by_name.get(SHIPPED), by_name.get(NO_RECORDING)
    if on and off:
        added_on = on["loads"][first].p50_ms - direct["loads"][first].p50_ms
        added_off = off["loads"][first].p50_ms - direct["loads"][first].p50_ms
        lines.append(
            f"- recording costs {added_on - added_off:+.2f} ms of added p50 at c={first}, "
            f"{on['cpu_ms'] - off['cpu_ms']:+.2f} ms CPU per request"
        )
    limited, cached = by_name.get(LIMITED), by_name.get(CACHED)
    if on and limited:
        lines.append(
            f"- rate limiting costs {limited['cpu_ms'] - on['cpu_ms']:+.2f} ms CPU per request "
            "in this run (the counting alone: see below)"
        )
    if on and cached:
        lines.append(
            f"- a cache hit answers {cached['loads'][mid].rps / on['loads'][mid].rps:.1f}"
            f"x as many requests/s as going upstream at c={mid}, with "
            f"{cached['cpu_ms']:.2f} ms CPU per request"
        )
    traced = by_name.get(TRACED)
    if on and traced:
        lines.append(
            f"- tracing every request costs {traced['cpu_ms'] - on['cpu_ms']:+.2f} ms CPU per "
            f"request (spans built off the event loop, exported in batches)"
        )
    litellm = by_name.get(LITELLM)
    if on and litellm:
        lines.append(
            f"- against LiteLLM: {litellm['cpu_ms'] / on['cpu_ms']:.1f}x less CPU per request, "
            f"{litellm['rss_mb'] / on['rss_mb']:.1f}x less memory, stream TTFB "
            f"{on['ttfb_ms']:.2f} ms vs {litellm['ttfb_ms']:.2f} ms"
        )
    return lines


def report(rows: list[dict], concurrency: list[int]) -> str:
    parts = [
        *table(rows, concurrency),
        "",
        *ratios(rows, concurrency),
        "",
        *notes(rows, concurrency),
    ]
    return "\n".join(parts)


def embeddings_table(rows: list[dict], body: dict) -> str:
    """POST /v1/embeddings through the gateway against the upstream directly."""
    direct = rows[0]["load"]
    lines = [
        f"Embeddings: {len(body['input'])} inputs of {body['dimensions']} dimensions per "
        f"request, {body['encoding_format']} asked, c={rows[0]['connections']}",
        "",
        "| target | req/s | p50 ms | CPU ms/req | req/s vs direct |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        load = row["load"]
        cpu = f"{row['cpu_ms']:.2f}" if "cpu_ms" in row else "-"
        share = f"{load.rps / direct.rps:.0%}"
        lines.append(f"| {row['name']} | {load.rps:,.0f} | {load.p50_ms:.2f} | {cpu} | {share} |")
    return "\n".join(lines)
