"""UI credentials: a Firebase custom token carrying the role in production, mock-user claims
on the emulator. The production path is exercised offline with a locally generated service
account key (firebase-admin signs with it instead of the IAM API)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudswarm import settings as settings_mod
from cloudswarm.api import firebase
from cloudswarm.api.config import ApiConfig

AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)


@pytest.fixture(autouse=True)
def project(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8081")
    settings_mod.settings.cache_clear()
    yield
    settings_mod.settings.cache_clear()


def test_the_emulator_gets_mock_user_claims_with_the_role():
    out = firebase.ui_credentials(
        ApiConfig(emulator=True), key_id="0123456789ab", role="operator", name="ops"
    )
    assert out["emulator"] is True and out["project_id"] == "demo-project"
    assert out["mock_user_token"] == {
        "sub": "key-0123456789ab", "user_id": "key-0123456789ab", "role": "operator", "name": "ops"
    }  # fmt: skip
    assert out["firestore_emulator_host"] == "127.0.0.1:8081"
    assert "custom_token" not in out


def test_production_gets_a_custom_token_carrying_the_role(monkeypatch):
    import firebase_admin
    from firebase_admin import credentials

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = "api@demo-project.iam.gserviceaccount.com"
    cred = credentials.Certificate(
        {
            "type": "service_account", "project_id": "demo-project", "private_key_id": "k1",
            "private_key": pem, "client_email": account, "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )  # fmt: skip
    app = firebase_admin.initialize_app(cred, name="test-firebase-token")
    monkeypatch.setattr(firebase, "_app", lambda *_: app)
    try:
        out = firebase.ui_credentials(
            ApiConfig(emulator=False), key_id="0123456789ab", role="viewer", name="ui"
        )
    finally:
        firebase_admin.delete_app(app)
    assert out["emulator"] is False and "mock_user_token" not in out
    claims = jwt.decode(
        out["custom_token"], private.public_key(), algorithms=["RS256"], audience=AUDIENCE
    )
    assert claims["uid"] == "key-0123456789ab" and claims["claims"] == {"role": "viewer"}
    assert claims["iss"] == account and claims["exp"] - claims["iat"] <= 3600
