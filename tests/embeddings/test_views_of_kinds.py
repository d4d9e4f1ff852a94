"""The kind in the log API, the dashboard's filter and /metrics; one model of the list;
a large upload streamed rather than held."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from prometheus_client.parser import text_string_to_metric_families

from routing.apis.passthrough.body import READ_AHEAD, read_outgoing
from routing.core.body import BodyStream
from tests.embeddings.helpers import embeddings_reply
from tests.fixtures import make_row


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_log_api_filters_by_kind_and_shows_it(staff):
    make_row(kind="chat")
    embedded = make_row(kind="embeddings", endpoint="/v1/embeddings", details={"inputs": 3})
    data = staff.get("/api/logs?kind=embeddings").json()["data"]
    assert [r["id"] for r in data] == [str(embedded.id)]
    assert data[0]["kind"] == "embeddings" and data[0]["details"] == {"inputs": 3}
    page = staff.get("/", HTTP_ACCEPT="text/html").content.decode()
    assert "<option>embeddings</option>" in page and "<option>passthrough</option>" in page


@pytest.mark.django_db
def test_the_request_page_shows_the_kind_and_the_embeddings_figures(staff):
    row = make_row(
        kind="embeddings",
        endpoint="/v1/embeddings",
        details={"inputs": 3, "dimensions": 768, "encoding_format": "base64"},
    )
    page = staff.get(f"/request/{row.id}").content.decode()
    assert "openai · embeddings" in page and "3 inputs · 768 dimensions · base64" in page


async def test_metrics_label_requests_with_their_kind(gateway, upstream, settings):
    settings.RECORD_FLUSH_SECONDS = 0.02
    settings.METRICS_ALLOW = (ipaddress.ip_network("10.1.2.3"),)
    upstream.post("/v1/embeddings").respond(json=embeddings_reply([[1.0]]))
    await gateway.post("/v1/embeddings", json={"model": "metrics-embed", "input": "x"})
    for _ in range(200):
        text = (await gateway.get("/metrics")).text
        found = [
            s.labels
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "llmproxy_requests_total" and s.labels["model"] == "metrics-embed"
        ]
        if found:
            break
        await asyncio.sleep(0.02)
    assert found and found[0]["kind"] == "embeddings"


async def test_one_model_is_retrieved_or_a_404_in_openais_shape(gateway, upstream):
    upstream.get("/v1/models").respond(json={"data": [{"id": "org/model-a", "object": "model"}]})
    found = await gateway.get("/v1/models/org/model-a")
    missing = await gateway.get("/v1/models/nope")
    assert found.json() == {"id": "org/model-a", "object": "model"}
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


class StreamedRequest:
    """What read_outgoing needs of a request whose body arrives as it is read."""

    def __init__(self, stream: BodyStream, content_type: str) -> None:
        self.scope = {"llmproxy.body": stream}
        self.headers = {"content-type": content_type}


async def test_a_large_upload_is_read_only_up_to_its_model_and_then_streams():
    stream = BodyStream(limit=1 << 30)
    head = (
        b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
    )
    pieces = [head] + [b"\0" * 65536] * 64  # 4 MB of file after the model

    async def client() -> None:
        for i, piece in enumerate(pieces):
            await stream.put(piece, more=i < len(pieces) - 1)

    sending = asyncio.create_task(client())
    outgoing = await read_outgoing(StreamedRequest(stream, "multipart/form-data; boundary=b"))
    assert outgoing.model == "whisper-1" and not outgoing.whole
    assert len(outgoing.head) <= READ_AHEAD + 65536  # not the 4 MB
    assert not sending.done()  # the client is still sending: nothing more was buffered
    content, _ = outgoing.content("large-v3")
    total = sum([len(chunk) async for chunk in content])
    assert total == sum(map(len, pieces)) - len("whisper-1") + len("large-v3")
    await sending
