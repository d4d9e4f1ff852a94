"""Embeddings and pass-through with real clients (openai, ollama, LangChain) and raw
requests, through a running gateway to the fake upstream (which also plays Ollama)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from routing.fake_upstream.audio import speech_bytes
from routing.fake_upstream.embeddings import vector
from tests.e2e.procs import free_port, start_gateway

pytestmark = pytest.mark.e2e

MODEL_MAP = {"whisper-1": "whisper-large", "text-embedding-3-small": "nomic-embed"}


@pytest.fixture(scope="module")
def with_ollama(e2e_dir, fake):
    """A gateway whose Ollama is the fake upstream (it answers /api/pull, …)."""
    port = free_port()
    proc, url = start_gateway(
        e2e_dir,
        fake,
        OLLAMA_UPSTREAM_URL=fake,
        OLLAMA_PORT=str(port),
        MODEL_MAP=json.dumps(MODEL_MAP),
        RECORD_FLUSH_SECONDS="0.05",
    )
    yield url, f"http://127.0.0.1:{port}", proc
    proc.stop()


@pytest.fixture
def oai(with_ollama):
    return openai.OpenAI(base_url=f"{with_ollama[0]}/v1", api_key="sk-test", max_retries=0)


@pytest.fixture
def ollama_at(with_ollama):
    return ollama.Client(host=with_ollama[1])


def test_openai_embeds_a_string_and_a_list_as_floats(oai):
    one = oai.embeddings.create(model="embedder", input="hello world", encoding_format="float")
    assert one.data[0].embedding == vector("hello world", 8)
    assert one.usage.prompt_tokens == 2
    many = oai.embeddings.create(
        model="embedder", input=["a", "b", "c"], encoding_format="float", dimensions=16
    )
    assert [d.embedding for d in many.data] == [vector(t, 16) for t in "abc"]


@pytest.mark.parametrize("model", ["embedder", "embedder+float-only"])
def test_the_sdks_base64_default_gets_base64_whatever_the_upstream_does(oai, model):
    raw = oai.embeddings.with_raw_response.create(model=model, input=["x", "y"])
    assert all(isinstance(d["embedding"], str) for d in json.loads(raw.text)["data"])
    assert [d.embedding for d in raw.parse().data] == [vector("x", 8), vector("y", 8)]


def test_openai_transcribes_a_file_of_a_few_hundred_kb(oai):
    audio = bytes(range(256)) * 1200  # 300 KB
    reply = oai.audio.transcriptions.create(
        model="whisper-1", file=("voice.wav", audio, "audio/wav")
    )
    digest = hashlib.sha256(audio).hexdigest()[:16]
    assert reply.text == f"whisper-large heard {len(audio)} bytes of voice.wav sha256:{digest}"


def test_openai_retrieves_one_model_or_a_404(oai):
    assert oai.models.retrieve("echo").id == "echo"
    with pytest.raises(openai.NotFoundError) as caught:
        oai.models.retrieve("no-such-model")
    assert caught.value.body["code"] == "model_not_found"


def test_ollama_embed_and_the_older_embeddings(ollama_at):
    embedded = ollama_at.embed(model="embedder", input=["first", "second"])
    assert embedded.embeddings == [vector("first", 8), vector("second", 8)]
    assert embedded.model == "embedder" and embedded.prompt_eval_count == 2
    assert embedded.total_duration > 0
    single = ollama_at.embeddings(model="embedder", prompt="first")
    assert list(single.embedding) == vector("first", 8)


def normalized(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def test_langchains_openai_embeddings_with_token_ids_and_with_texts(with_ollama, tmp_path):
    from langchain_openai import OpenAIEmbeddings

    from routing.streams.tokens import install_encodings

    install_encodings(tmp_path)  # LangChain tokenizes with tiktoken, offline here
    common = {"base_url": f"{with_ollama[0]}/v1", "api_key": "sk-test", "max_retries": 0}
    by_tokens = OpenAIEmbeddings(model="text-embedding-3-small", **common)
    documents = by_tokens.embed_documents(["one text", "another text"])
    assert len(documents) == 2 and all(len(d) == 8 for d in documents)
    assert by_tokens.embed_query("one text") == pytest.approx(documents[0])
    by_text = OpenAIEmbeddings(model="embedder", check_embedding_ctx_length=False, **common)
    assert by_text.embed_query("plain") == pytest.approx(vector("plain", 8))
    assert normalized(vector("plain", 8)) == pytest.approx(normalized(by_text.embed_query("plain")))


def test_langchains_ollama_embeddings(with_ollama):
    from langchain_ollama import OllamaEmbeddings

    embeddings = OllamaEmbeddings(model="embedder", base_url=with_ollama[1])
    assert embeddings.embed_documents(["left", "right"]) == [
        vector("left", 8),
        vector("right", 8),
    ]
    assert embeddings.embed_query("left") == vector("left", 8)


def test_a_raw_rerank_request_is_passed_through(with_ollama):
    body = {"model": "reranker", "query": "red fox", "documents": ["blue sky", "a red fox", "fox"]}
    reply = httpx.post(f"{with_ollama[0]}/v1/rerank", json=body).json()
    assert [r["index"] for r in reply["results"]] == [1, 2, 0]
    assert reply["results"][0]["relevance_score"] == 1.0


def test_a_binary_speech_reply_streams_through(with_ollama):
    text = "say this out loud"
    body = {"model": "tts-1", "input": text, "voice": "alloy"}
    with httpx.stream("POST", f"{with_ollama[0]}/v1/audio/speech", json=body) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        pieces = list(response.iter_raw())
    assert b"".join(pieces) == speech_bytes(text, 1000 * len(text))
    assert len(pieces) > 1


def test_ollama_pull_copy_and_delete_reach_the_ollama_behind(ollama_at):
    progress = list(ollama_at.pull("tiny-model", stream=True))
    assert progress[0].status == "pulling manifest" and progress[-1].status == "success"
    assert any(p.completed for p in progress)
    assert ollama_at.pull("tiny-model").status == "success"
    assert ollama_at.copy("tiny-model", "tiny-copy").status == "success"
    assert ollama_at.delete("tiny-copy").status == "success"
    with pytest.raises(ollama.ResponseError) as caught:
        ollama_at.delete("tiny-copy")
    assert caught.value.status_code == 404 and "not found" in caught.value.error


def test_without_an_ollama_behind_management_says_what_it_needs(ollama_url):
    client = ollama.Client(host=ollama_url)  # the session gateway: its Ollama is dead
    for call in (
        lambda: client.pull("m"),
        lambda: client.copy("m", "n"),
        lambda: client.delete("m"),
    ):
        with pytest.raises(ollama.ResponseError) as caught:
            call()
        assert caught.value.status_code == 502
        assert "needs an Ollama behind the gateway" in caught.value.error


def peak_memory_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def test_a_large_upload_streams_through_without_being_held(with_ollama):
    url, _, proc = with_ollama
    size = 48 * 1024 * 1024
    before = peak_memory_mb(proc.proc.pid)
    boundary = "bigupload"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    piece = b"\x01" * (1024 * 1024)

    def body():
        yield head
        for _ in range(size // len(piece)):
            yield piece
        yield tail

    response = httpx.post(
        f"{url}/v1/audio/transcriptions",
        content=body(),
        headers={
            "content-type": f"multipart/form-data; boundary={boundary}",
            "content-length": str(len(head) + size + len(tail)),
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(b"\x01" * size).hexdigest()[:16]
    assert response.json()["text"] == f"whisper-large heard {size} bytes of big.wav sha256:{digest}"
    # Held whole, the upload alone would add 48 MB to the gateway's peak memory.
    grown = peak_memory_mb(proc.proc.pid) - before
    assert grown < 24, f"the peak grew by {grown:.1f} MB"
