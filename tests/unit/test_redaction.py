"""The one redaction function (pure): which names, headers and texts hold secrets, and what
is left of them."""

from __future__ import annotations

import json

import pytest

from routing.core.redaction import (
    REDACTED,
    is_secret_header,
    is_secret_name,
    redact_body,
    redact_headers,
    redact_json,
    redact_text,
    secret_field_values,
    secret_values,
)

GATEWAY_KEY = "llmp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z0123456789a"


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "secret_key",
        "api_token",
        "openai_api_key",
        "OPENAI-API-KEY",
        "client_secret",
        "db_password",
        "passwd",
        "authorization",
        "accessToken",
        "private_key",
        "credentials",
    ],
)
def test_names_ending_in_key_token_secret_or_password_are_secret(name):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "model", "content", "prompt_cache_key", "budget_tokens", "keys", "tokenizer"],
)
def test_ordinary_names_are_not(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "X-Auth-Token",
        "X-Goog-Api-Key",
        "Api-Key",
        "X-Api-Key",
        "Proxy-Authorization",
        "X-Client-Secret",
        "Cookie",
        "X-Gateway-Key",
    ],
)
def test_headers_whose_name_says_key_token_secret_or_auth_are_secret(header):
    assert is_secret_header(header)
    assert redact_headers([(header, "some-value-123456")], [])[header.lower()] == REDACTED


@pytest.mark.parametrize("header", ["Content-Type", "User-Agent", "Accept", "X-Request-Id"])
def test_ordinary_headers_are_kept(header):
    assert not is_secret_header(header)


def test_values_of_every_type_under_a_secret_name_are_blanked():
    body = {
        "password": 12345678,
        "pin_secret": 1234.5,
        "api_keys": None,  # not a secret name ("keys"), nothing to hide
        "tokens": ["a"],
        "auth_token": ["sk-one-0123456789", "sk-two-0123456789"],
        "schema": {"properties": {"api_key": {"type": "string"}}},
        "flag_secret": True,
    }
    redacted = redact_json(body, [])
    assert redacted["password"] == REDACTED and redacted["pin_secret"] == REDACTED
    assert redacted["auth_token"] == REDACTED
    assert redacted["schema"] == body["schema"]  # a tool's schema stays a schema
    assert redacted["tokens"] == ["a"] and redacted["flag_secret"] is True


def test_tool_call_arguments_holding_a_key_are_blanked_and_stay_json():
    arguments = json.dumps({"city": "Paris", "api_key": "sk-tool-0123456789"})
    message = {"tool_calls": [{"function": {"name": "weather", "arguments": arguments}}]}
    redacted = redact_json(message, [])
    kept = json.loads(redacted["tool_calls"][0]["function"]["arguments"])
    assert kept == {"city": "Paris", "api_key": REDACTED}


def test_a_password_inside_malformed_json_is_blanked():
    raw = b'{"model": "m", "password": "hunter2-hunter2", "messages": [ {"role": '
    redacted = redact_body(raw, [])
    assert b"hunter2" not in redacted and b"model" in redacted


def test_a_secret_in_escaped_json_inside_text_is_blanked():
    raw = json.dumps({"content": json.dumps({"db_password": "s3cr3t-pass-word"})[:-1]})
    assert "s3cr3t" not in redact_body(raw.encode(), []).decode()


def test_key_value_pairs_in_text_are_blanked():
    text = "GET /v1?api_key=sk-query-0123456789&model=x failed; token='tok-abcdefgh'"
    redacted = redact_text(text, [])
    assert "sk-query" not in redacted and "tok-abcdefgh" not in redacted
    assert "model=x" in redacted


def test_a_gateway_key_anywhere_is_blanked():
    text = f"the key {GATEWAY_KEY} was pasted"
    assert redact_text(text, []) == f"the key {REDACTED} was pasted"
    assert GATEWAY_KEY.encode() not in redact_body(json.dumps({"note": text}).encode(), [])


def test_known_secret_values_are_blanked_wherever_they_appear():
    secrets = secret_values(
        [("Authorization", "Bearer sk-client-0123456789"), ("X-Goog-Api-Key", "AIzaSecret0123")],
        "sk-upstream-0123456789",
    )
    text = "bad key sk-upstream-0123456789; you sent sk-client-0123456789 AIzaSecret0123"
    redacted = redact_text(text, secrets)
    assert "sk-upstream" not in redacted and "sk-client" not in redacted and "AIza" not in redacted


def test_non_string_secret_field_values_are_known_secrets():
    raw = json.dumps({"password": 987654321, "nested": {"api_token": ["tok-in-a-list-1"]}})
    found = secret_field_values(raw.encode())
    assert "987654321" in found and "tok-in-a-list-1" in found


def test_plain_text_is_left_alone():
    text = "The primary key of the table is id; max_tokens=100 and 3 tokens left."
    assert redact_text(text, []) == text


def test_a_secret_in_json_inside_json_inside_json_is_blanked():
    arguments = json.dumps({"api_key": "sk-deep-0123456789", "city": "Paris"})
    reflected = json.dumps({"body": {"tool_calls": [{"function": {"arguments": arguments}}]}})
    answer = json.dumps({"choices": [{"message": {"content": reflected}}]})
    redacted = redact_text(answer, [])
    assert "sk-deep" not in redacted and "Paris" in redacted
