import asyncio
from pathlib import Path

import pytest

from chinwag.config import ListenSpec, load_config
from chinwag.errors import ConfigError


def test_defaults():
    config = load_config(environ={})
    assert (config.host, config.port, config.data) == ("127.0.0.1", 12345, "./data")
    assert config.max_line == 64 * 1024


def test_file_then_environment_then_flags(tmp_path: Path):
    file = tmp_path / "chinwag.toml"
    file.write_text(
        'port = 2000\nhost = "::1"\nlisten = ["7001=pipe"]\n[limits]\nmessage_rate = 3\n'
    )
    env = {"CHINWAG_PORT": "3000", "CHINWAG_MESSAGE_BURST": "9", "CHINWAG_CONFIG_HOME": "x"}
    env["CHINWAG_PASTE_WINDOW"] = "0.2"  # the line client's, not a server setting
    config = load_config(file=file, environ=env, overrides={"port": 4000, "host": None})
    assert config.port == 4000  # flags win
    assert config.host == "::1"  # file, not overridden
    assert config.limits.message_rate == 3.0 and config.limits.message_burst == 9.0
    assert config.listen == [ListenSpec(7001, "pipe")]


def test_listen_specs_and_classic_ports():
    config = load_config(environ={}, overrides={"listen": ["7001=pipe", "9000"]})
    config.classic_ports = True
    ports = [(s.port, s.dialect) for s in config.listeners()]
    assert ports[0] == (12345, "auto")
    assert (7001, "pipe") in ports and (12346, "typed") in ports and (9000, "auto") in ports
    assert len({p for p, _ in ports}) == len(ports)


@pytest.mark.parametrize("bad", [{"port": "x"}, {"listen": ["x=pipe"]}, {"nonsense": 1}])
def test_bad_settings_are_config_errors(bad: dict[str, object]):
    with pytest.raises(ConfigError):
        load_config(environ={}, overrides=bad)


def test_the_store_is_sqlite_in_the_data_folder_unless_given(tmp_path: Path):
    from chinwag.storage.sqlite import SQLiteStore

    async def scenario() -> None:
        from chinwag.server.app import open_store
        from chinwag.storage.postgres import PostgresStore

        default = open_store(load_config(environ={}, overrides={"data": str(tmp_path)}))
        assert isinstance(default, SQLiteStore) and default.path.parent == tmp_path
        url = "postgresql://chat:hunter2@db.example:5433/chat"
        config = load_config(environ={"CHINWAG_STORE": url})
        assert config.store == url and "hunter2" not in config.store_shown()
        assert isinstance(open_store(config), PostgresStore)  # opened only by start()
        with pytest.raises(ConfigError, match="not known"):
            open_store(load_config(environ={}, overrides={"store": "mysql://x:secret@h/db"}))

    asyncio.run(scenario())


def test_serve_takes_the_store_flag():
    from chinwag.cli import build_parser

    args = build_parser().parse_args(["serve", "--store", "postgresql://u@h/db"])
    assert args.store == "postgresql://u@h/db"
