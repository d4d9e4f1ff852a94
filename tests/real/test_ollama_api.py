"""The Ollama API served from the real server: what the `ollama` client reads is what the
server wrote, with the server's own token counts."""

from __future__ import annotations

import ollama
import pytest

from tests.real.compare import post

pytestmark = pytest.mark.real

MESSAGES = [{"role": "user", "content": "Tell me about llamas."}]
OPTIONS = {"temperature": 0, "num_predict": 20}


def direct_chat(llama) -> dict:
    body = {"model": "tiny", "messages": MESSAGES, "temperature": 0, "max_tokens": 20}
    return post(llama.url, "/v1/chat/completions", body).json()


def test_a_chat_reads_the_servers_reply_and_counts(llama, gateway):
    expected = direct_chat(llama)
    reply = ollama.Client(host=gateway.ollama_url).chat(
        model="tiny", messages=MESSAGES, options=OPTIONS, stream=False
    )
    assert reply.message.content == expected["choices"][0]["message"]["content"]
    assert reply.prompt_eval_count == expected["usage"]["prompt_tokens"]
    assert reply.eval_count == expected["usage"]["completion_tokens"] == 20
    assert reply.done and reply.done_reason == "length"


def test_a_streamed_chat_reads_the_servers_reply(llama, gateway):
    expected = direct_chat(llama)["choices"][0]["message"]["content"]
    parts = list(
        ollama.Client(host=gateway.ollama_url).chat(
            model="tiny", messages=MESSAGES, options=OPTIONS, stream=True
        )
    )
    assert "".join(p.message.content for p in parts) == expected
    assert parts[-1].done and parts[-1].eval_count == 20


def test_a_raw_generate_is_the_servers_text_completion(llama, gateway):
    body = {"model": "tiny", "prompt": "The llama", "temperature": 0, "max_tokens": 20}
    expected = post(llama.url, "/v1/completions", body).json()
    reply = ollama.Client(host=gateway.ollama_url).generate(
        model="tiny", prompt="The llama", raw=True, options=OPTIONS, stream=False
    )
    assert reply.response == expected["choices"][0]["text"]
    assert reply.eval_count == expected["usage"]["completion_tokens"]


def test_the_model_list_holds_the_servers_model(gateway):
    models = ollama.Client(host=gateway.ollama_url).list().models
    assert "tiny" in [m.model for m in models]
