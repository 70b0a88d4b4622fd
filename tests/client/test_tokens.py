"""Saved login tokens: where they live, who may read them, what a bad file means."""

import os
import stat
from pathlib import Path

import pytest

from chinwag.client.tokens import TokenStore, config_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_config_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("CHINWAG_CONFIG_HOME", str(tmp_path / "own"))
    assert config_dir() == tmp_path / "own"
    monkeypatch.delenv("CHINWAG_CONFIG_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "chinwag"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".config" / "chinwag"
    monkeypatch.setenv("CHINWAG_CONFIG_HOME", str(tmp_path / "own"))
    assert TokenStore().path == tmp_path / "own" / "tokens.json"


def test_tokens_are_kept_per_server_and_name_in_a_private_file(tmp_path: Path):
    store = TokenStore(tmp_path / "cfg")
    assert store.get("localhost", 12345, "alice") is None
    store.put("LocalHost", 12345, "Alice", "t1")
    store.put("localhost", 12346, "alice", "t2")
    store.put("localhost", 12345, "bob", "t3")
    assert store.get("localhost", 12345, "ALICE") == "t1"
    assert store.get("localhost", 12346, "alice") == "t2"
    assert mode(store.folder) == 0o700 and mode(store.path) == 0o600
    store.forget("localhost", 12345, "alice")
    assert store.get("localhost", 12345, "alice") is None
    assert store.get("localhost", 12345, "bob") == "t3"
    store.forget("localhost", 12345, "nobody")  # nothing to forget: no error
    assert mode(store.path) == 0o600
    assert [p.name for p in store.folder.iterdir()] == ["tokens.json"]  # no temporary left


def test_a_token_file_that_cannot_be_read_counts_as_empty(tmp_path: Path):
    store = TokenStore(tmp_path)
    for junk in (b"not json", b"[1, 2]", b'{"localhost:1": "flat"}', b'{"localhost:1": {"a": 7}}'):
        store.path.write_bytes(junk)
        assert store.get("localhost", 1, "a") is None
    store.put("localhost", 1, "a", "fresh")  # and is replaced whole by the next save
    assert store.get("localhost", 1, "a") == "fresh"


def test_an_existing_file_with_loose_permissions_is_replaced_by_a_private_one(tmp_path: Path):
    store = TokenStore(tmp_path)
    store.path.write_bytes(b"{}")
    os.chmod(store.path, 0o644)
    store.put("h", 1, "a", "t")
    assert mode(store.path) == 0o600
