"""The ``swarm-requests`` message schema: what another system publishes to start a swarm."""

from __future__ import annotations

import base64
import binascii
import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudswarm.core.models import Budget
from cloudswarm.errors import UserError


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usd: float | None = Field(default=None, gt=0)
    tokens: int | None = Field(default=None, gt=0)
    turns: int | None = Field(default=None, gt=0)
    wall_s: float | None = Field(default=None, gt=0)


class SwarmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    goal: str = Field(min_length=1, max_length=20000)
    model: str | None = Field(default=None, max_length=100)
    budget: BudgetIn = Field(default_factory=BudgetIn)
    requested_by: str = Field(default="system", max_length=200)

    def to_budget(self) -> Budget:
        return Budget(**self.budget.model_dump())


class BudgetAlert(BaseModel):
    """The Cloud Billing budget notification (extra fields are ignored: Google adds them)."""

    # Field names are the notification's own.
    budgetDisplayName: str = ""
    costAmount: float = Field(ge=0)
    budgetAmount: float = Field(gt=0)
    currencyCode: str = ""

    def over(self, threshold: float) -> bool:
        return self.costAmount >= threshold * self.budgetAmount


def _payload(data: object, what: str) -> object:
    message = data.get("message") if isinstance(data, dict) else None
    raw = message.get("data") if isinstance(message, dict) else None
    if not isinstance(raw, str) or not raw:
        raise UserError(f"{what} has no message data", code="bad_request")
    try:
        return json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError) as e:
        raise UserError(f"{what} data is not base64 JSON: {e}", code="bad_request") from e


def parse_budget_alert(data: object) -> BudgetAlert:
    payload = _payload(data, "budget alert")
    try:
        return BudgetAlert.model_validate(payload)
    except ValidationError as e:
        raise UserError(f"invalid budget alert: {e.errors()[0]['msg']}", code="bad_request") from e


def parse_swarm_request(data: object) -> SwarmRequest:
    """Decode the Pub/Sub message body (base64 JSON) into a request, or raise UserError."""
    payload = _payload(data, "swarm request")
    try:
        return SwarmRequest.model_validate(payload)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in e.errors()
        )
        raise UserError(f"invalid swarm request: {problems}", code="bad_request") from e
