"""The local GCS emulator's launcher (emulators/storage_emulator.py): in memory it keeps no
catalogue file, which the emulator would otherwise rewrite in full after every object."""

from __future__ import annotations

import pytest
from gcp_storage_emulator.handlers import buckets
from gcp_storage_emulator.storage import Storage

from emulators import storage_emulator


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(Storage, "_write_config_to_file", Storage._write_config_to_file)
    storage_emulator._no_catalogue_in_memory()


def _stored(storage: Storage) -> Storage:
    buckets.create_bucket("b", storage)
    storage.create_file("b", "a/1.json", b"{}", {"name": "a/1.json", "bucket": "b"})
    return storage


def test_in_memory_objects_are_kept_without_a_catalogue_file(patched):
    storage = _stored(Storage(use_memory_fs=True))
    assert storage.get_file("b", "a/1.json") == b"{}"
    assert storage.get_file_obj("b", "a/1.json")["name"] == "a/1.json"
    assert not storage._store.exists_file(".meta")


def test_on_disk_the_catalogue_is_still_written_for_a_restart(patched, tmp_path):
    _stored(Storage(data_dir=str(tmp_path)))
    again = Storage(data_dir=str(tmp_path))
    assert again.get_file("b", "a/1.json") == b"{}"
