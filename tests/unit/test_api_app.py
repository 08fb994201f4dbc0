"""The dispatcher's refusals that need no backing service: routing, sizes, media types, CORS,
headers, and the framework's own refusals, all in the one error format."""

from __future__ import annotations

import json

import flask
import pytest
from werkzeug.exceptions import NotFound

from cloudswarm.api import app as api_app
from cloudswarm.api import config as api_config
from cloudswarm.api.config import ApiConfig
from cloudswarm.errors import ConfigError

UI = "http://127.0.0.1:8080"


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("CLOUDSWARM_JWT_SIGNING_KEY", "j" * 64)
    monkeypatch.setenv("CLOUDSWARM_CORS_ORIGINS", UI)
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    api_config.config.cache_clear()
    yield
    api_config.config.cache_clear()


def call(path: str, method: str = "GET", **kw) -> flask.Response:
    with flask.Flask(__name__).test_request_context(path, method=method, **kw):
        return api_app.handle(flask.request)


def error(resp: flask.Response) -> dict:
    body = json.loads(resp.get_data())
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


def test_health_and_document_need_no_token():
    resp = call("/api/health")
    assert resp.status_code == 200 and json.loads(resp.get_data())["status"] == "ok"
    assert call("/api/openapi.json").status_code == 200


def test_every_answer_carries_the_security_headers():
    for resp in (call("/api/health"), call("/api/nothing"), call("/api/swarms")):
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_unknown_paths_and_methods():
    assert error(call("/api/nothing"))["code"] == "not_found"
    assert call("/api/swarms/").status_code == 404
    resp = call("/api/swarms", "PUT")
    assert resp.status_code == 405 and set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_missing_or_bad_token_is_refused_without_touching_storage():
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Token abc"}):
        resp = call("/api/swarms", headers=headers)
        assert resp.status_code == 401 and error(resp)["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_oversize_body_is_refused_before_authentication():
    resp = call("/api/swarms", "POST", data=b"x" * (65 * 1024), content_type="application/json")
    assert resp.status_code == 413 and error(resp)["code"] == "too_large"


@pytest.mark.parametrize(
    ("data", "ctype", "status", "code"),
    [
        (b"{oops", "application/json", 400, "bad_request"),
        (b'{"api_key": 1}', "application/json", 422, "validation_failed"),
        (b'{"api_key": "x", "more": 1}', "application/json", 422, "validation_failed"),
        (b'{"api_key": "x"}', "text/plain", 415, "unsupported_media_type"),
        (b"", "application/json", 422, "validation_failed"),
    ],
)
def test_token_exchange_bodies_are_validated_first(data, ctype, status, code):
    resp = call("/api/auth/token", "POST", data=data, content_type=ctype)
    assert resp.status_code == status and error(resp)["code"] == code


def test_query_parameters_are_strict():
    assert error(call("/api/health?x=1"))["code"] == "bad_request"


def test_cors_preflight_for_the_configured_origin_only():
    ok = call(
        "/api/swarms", "OPTIONS",
        headers={"Origin": UI, "Access-Control-Request-Method": "POST"},
    )  # fmt: skip
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == UI
    assert "Access-Control-Allow-Credentials" not in ok.headers
    refused = call(
        "/api/swarms", "OPTIONS",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )  # fmt: skip
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    hook = call(
        "/webhooks/x", "OPTIONS",
        headers={"Origin": UI, "Access-Control-Request-Method": "POST"},
    )  # fmt: skip
    assert hook.status_code == 403  # webhooks are server-to-server: no browser access


def test_the_framework_refusals_use_the_error_format():
    with flask.Flask(__name__).test_request_context("/api/\n"):
        resp = api_app.framework_error(NotFound())
    assert resp.status_code == 404 and error(resp)["code"] == "not_found"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLOUDSWARM_CORS_ORIGINS": "*"}, "wildcard"),
        ({"CLOUDSWARM_CORS_ORIGINS": "ui.example.com"}, "exact origins"),
        ({"CLOUDSWARM_TOKEN_TTL_S": "86400"}, "between"),
        ({"CLOUDSWARM_API_RATE_PER_MIN": "many"}, "whole number"),
    ],
)
def test_bad_settings_fail_loudly(env, message):
    with pytest.raises(ConfigError, match=message):
        ApiConfig.from_env(env)


def test_local_ui_origins_are_the_default_only_on_the_emulator():
    assert ApiConfig.from_env({"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}).cors_origins
    assert ApiConfig.from_env({}).cors_origins == ()
