"""What the web UI needs to read Firestore under the security rules, for a verified caller.

In production: a Firebase custom token whose claims carry the role (the rules read
``request.auth.token.role``). firebase-admin signs it with the function's service account
through the IAM signBlob API, so no private key is ever stored (the account needs
roles/iam.serviceAccountTokenCreator on itself). On the local stack there is no Auth
emulator to sign in to: the UI passes the returned claims to ``connectFirestoreEmulator`` as
its ``mockUserToken``, and the Firestore emulator enforces the same rules with them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from functools import cache

from cloudswarm.api.config import ApiConfig
from cloudswarm.errors import ConfigError, TransientError
from cloudswarm.settings import settings

log = logging.getLogger("cloudswarm.api.firebase")


def uid_for(key_id: str) -> str:
    return f"key-{key_id}"


def ui_credentials(cfg: ApiConfig, *, key_id: str, role: str, name: str) -> dict:
    uid, project = uid_for(key_id), settings().project
    out = {"project_id": project, "emulator": cfg.emulator, "uid": uid, "role": role}
    if cfg.emulator:
        out["mock_user_token"] = {"sub": uid, "user_id": uid, "role": role, "name": name}
        out["firestore_emulator_host"] = os.environ.get("FIRESTORE_EMULATOR_HOST")
    else:
        out["custom_token"] = _custom_token(cfg, uid, {"role": role})
    return out


_app_lock = threading.Lock()


@cache
def _app(project: str, service_account: str):
    import firebase_admin

    # Two first requests at once must not both initialise (the second would raise).
    with _app_lock:
        try:
            return firebase_admin.get_app("cloudswarm-api")
        except ValueError:
            options = {"projectId": project}
            if service_account:
                options["serviceAccountId"] = service_account
            return firebase_admin.initialize_app(options=options, name="cloudswarm-api")


def _custom_token(cfg: ApiConfig, uid: str, claims: dict) -> str:
    from firebase_admin import auth as fb_auth
    from firebase_admin import exceptions as fb_exc

    try:
        token = fb_auth.create_custom_token(
            uid, claims, app=_app(settings().project, cfg.firebase_service_account)
        )
    except fb_auth.TokenSignError as e:
        raise ConfigError(
            "cannot sign Firebase custom tokens: grant the api function's service account "
            "roles/iam.serviceAccountTokenCreator on itself (or set "
            "CLOUDSWARM_FIREBASE_SERVICE_ACCOUNT)"
        ) from e
    except fb_exc.FirebaseError as e:
        raise TransientError(f"firebase custom token: {e}") from e
    return token.decode() if isinstance(token, bytes) else token


def revoke_ui_sessions(cfg: ApiConfig, key_id: str) -> None:
    """End the UI's Firebase sessions of a revoked key (best effort: the user may never have
    signed in, and the API itself already refuses the key)."""
    if cfg.emulator:
        return
    from firebase_admin import auth as fb_auth
    from firebase_admin import exceptions as fb_exc

    with contextlib.suppress(fb_exc.FirebaseError, ValueError):
        fb_auth.revoke_refresh_tokens(
            uid_for(key_id), app=_app(settings().project, cfg.firebase_service_account)
        )
