"""The API's adapters, built once per process."""

from __future__ import annotations

from functools import cache

from google.cloud import firestore

from cloudswarm.api.config import config
from cloudswarm.api.keys import Keys
from cloudswarm.api.ratelimit import RateLimiter
from cloudswarm.gcp import fs
from cloudswarm.settings import settings


def db() -> firestore.Client:
    return fs.client(settings().project)  # cached by project in fs


@cache
def keys() -> Keys:
    return Keys(db())


@cache
def limiter() -> RateLimiter:
    return RateLimiter(db(), config().rate_shards)
