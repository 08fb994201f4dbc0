"""Cloud Tasks: delayed work for task_dispatch (backoff retries, lease watchdogs)."""

from __future__ import annotations

import datetime as dt
import json

import grpc
from google.api_core import exceptions as gexc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport
from google.protobuf import timestamp_pb2

from cloudswarm import telemetry
from cloudswarm.errors import TransientError


class Scheduler:
    def __init__(self, settings, queue: str):
        if settings.tasks_emulator_host:
            channel = grpc.insecure_channel(settings.tasks_emulator_host)
            self.client = tasks_v2.CloudTasksClient(
                transport=CloudTasksGrpcTransport(channel=channel)
            )
        else:
            self.client = tasks_v2.CloudTasksClient()
        self.queue = self.client.queue_path(settings.project, settings.region, queue)
        self.url = settings.dispatch_url.rstrip("/")
        self.sa = settings.dispatch_service_account

    def schedule(self, kind: str, payload: dict, delay_s: float) -> None:
        when = timestamp_pb2.Timestamp()
        when.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay_s))
        request = {
            "http_method": tasks_v2.HttpMethod.POST,
            "url": f"{self.url}/{kind}",
            "headers": {"Content-Type": "application/json"},
            # The scheduling span rides in the body: task_dispatch continues its trace.
            "body": json.dumps({**payload, **telemetry.carrier()}).encode(),
        }
        if self.sa:
            # In GCP, task_dispatch only accepts calls carrying an OIDC token of this account.
            request["oidc_token"] = {"service_account_email": self.sa, "audience": self.url}
        task = {"http_request": request, "schedule_time": when}
        try:
            self.client.create_task(parent=self.queue, task=task, timeout=30)
        except gexc.GoogleAPICallError as e:
            raise TransientError(f"cloud tasks create in {self.queue}: {e}") from e
