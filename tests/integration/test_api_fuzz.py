"""Property-based fuzz of the API from its own OpenAPI document (schemathesis).

Every operation gets valid and invalid requests generated from the document; the real HTTP
function must never answer 5xx, and every answer must be one the document declares: its status,
its content type and its body schema. Requests carry a fresh admin token each (so a fuzzed
`POST /api/auth/revoke` cannot lock the rest out); the role and token checks themselves are
tested in test_api_routes.py and test_api_security.py.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from cloudswarm import runtime
from cloudswarm.api.openapi import document
from tests.integration.test_api_fixtures import (
    Api,
    claims_for,
    functions,
    mint,
    new_key,
    signing_key,
    webhook_config,
)

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # A request the document allows is never refused as malformed (400, 413, 415, 422): the
    # document states every constraint the API enforces. (401/403/404/409/429 stay allowed:
    # they depend on state and credentials, not on the request's shape.)
    positive_data_acceptance,
]
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(document())))
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


@pytest.fixture(scope="module")
def target(stack, project):
    """(API URL, a function minting a fresh admin token)."""
    env = {
        # The fuzz sends hundreds of requests a minute with one key: limits are tested elsewhere.
        "CLOUDSWARM_API_RATE_PER_MIN": "1000000",
        "CLOUDSWARM_WEBHOOK_SECRETS": webhook_config(
            fuzz={"secret": "fuzz-secret-0123456789", "template": "Fuzz {a}"}
        ),
    }
    key_id, _ = new_key(project, "admin", "fuzz-admin")
    signing = signing_key(stack)
    with functions(stack, ["api"], env) as fns:
        yield fns["api"].url, lambda: mint(signing, claims_for(key_id, "admin"))
    # Whatever the fuzz engaged, leave the switch released for the tests after it.
    runtime.store().set_kill_switch(engaged=False, reason="fuzz done", actor="tests")


def test_the_served_document_is_the_one_fuzzed(target):
    url, _ = target
    served = Api(url).request("GET", "/api/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(document()))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzz(case, target):
    url, token = target
    case.call_and_validate(
        base_url=url, headers={"Authorization": f"Bearer {token()}"}, checks=CHECKS
    )
