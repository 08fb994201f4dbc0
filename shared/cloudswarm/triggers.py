"""What other systems send to start a swarm: the ``swarm-requests`` message and a scheduled
fire (Cloud Scheduler's POST to ``task_dispatch /schedule``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cloudswarm.core import context, server_tools
from cloudswarm.core.models import Budget
from cloudswarm.errors import UserError


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usd: float | None = Field(default=None, gt=0)
    tokens: int | None = Field(default=None, gt=0)
    turns: int | None = Field(default=None, gt=0)
    wall_s: float | None = Field(default=None, gt=0)


def _checked(check: Callable[[Any], dict]) -> Callable[[object], dict | None]:
    """A field validator from a core check: its UserError becomes a ValueError pydantic
    reports; an absent value stays absent (start_swarm fills the defaults)."""

    def run(value: object) -> dict | None:
        if value is None:
            return None
        try:
            return check(value)
        except UserError as e:
            raise ValueError(str(e)) from e

    return run


checked_tools = _checked(server_tools.validate)  # core/server_tools.py
checked_context = _checked(context.validate)  # core/context.py


class SwarmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    goal: str = Field(min_length=1, max_length=20000)
    model: str | None = Field(default=None, max_length=100)
    budget: BudgetIn = Field(default_factory=BudgetIn)
    requested_by: str = Field(default="system", max_length=200)
    tools: dict | None = None  # server tools: core/server_tools.py
    context: dict | None = None  # context edits: core/context.py
    template: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,39}$")  # a team

    _tools = field_validator("tools")(checked_tools)
    _context = field_validator("context")(checked_context)

    def to_budget(self) -> Budget:
        return Budget(**self.budget.model_dump())


# A schedule's name: the key of the Terraform `schedules` map (terraform/variables.tf checks the
# same pattern). Short enough that `schedule:NAME:TIME` fits a request id.
SCHEDULE_NAME = r"^[a-z][a-z0-9-]{0,62}$"
# Cloud Scheduler sets this header on every fire of a unix-cron job: the time the fire was due
# (RFC 3339), the same on each retry of that fire.
SCHEDULE_TIME_HEADER = "X-CloudScheduler-ScheduleTime"


class ScheduleFire(BaseModel):
    """The body of a schedule's Cloud Scheduler job: static, written by Terraform at apply time
    (the local stand-in posts the same). The fire time comes from the header, not the body."""

    model_config = ConfigDict(extra="forbid")
    schedule: str = Field(pattern=SCHEDULE_NAME)
    goal: str = Field(min_length=1, max_length=20000)
    model: str | None = Field(default=None, max_length=100)
    budget: BudgetIn = Field(default_factory=BudgetIn)

    def to_budget(self) -> Budget:
        return Budget(**self.budget.model_dump())


def schedule_request_id(schedule: str, schedule_time: str | None) -> str:
    """``schedule:NAME:TIME`` with TIME the fire's due time in UTC to the second: every retry of
    one fire carries the same header, so it maps to the same request id and the same swarm."""
    if not schedule_time:
        raise UserError(
            f"the {SCHEDULE_TIME_HEADER} header is missing: a fire without its due time cannot "
            "be told apart from a retry",
            code="bad_request",
        )
    try:
        at = datetime.fromisoformat(schedule_time.strip())
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise UserError(
            f"{SCHEDULE_TIME_HEADER} {schedule_time[:40]!r} is not an RFC 3339 time with a zone",
            code="bad_request",
        )
    return f"schedule:{schedule}:{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def parse_schedule_fire(raw: bytes, schedule_time: str | None) -> tuple[ScheduleFire, str]:
    """The fire's body and its request id, or UserError saying what is wrong."""
    try:
        payload = json.loads(raw)
    except ValueError as e:
        raise UserError(f"the schedule body is not JSON: {e}", code="bad_request") from e
    try:
        fire = ScheduleFire.model_validate(payload)
    except ValidationError as e:
        problems = validation_problems(e)
        raise UserError(f"invalid schedule body: {problems}", code="bad_request") from e
    return fire, schedule_request_id(fire.schedule, schedule_time)


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
        problems = validation_problems(e)
        raise UserError(f"invalid swarm request: {problems}", code="bad_request") from e


def validation_problems(e: ValidationError) -> str:
    """Every problem pydantic found, each with where it is: `budget.usd: ...; goal: ...`."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in e.errors()
    )
