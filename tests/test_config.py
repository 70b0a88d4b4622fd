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


def test_settings_of_reads_back_into_the_same_config(tmp_path: Path):
    """What the supervisor hands a worker (server/workers.py) is the config it resolved."""
    import json

    from chinwag.config import settings_of

    config = load_config(
        environ={"CHINWAG_MESSAGE_RATE": "7.5"},
        overrides={
            "port": 4000,
            "listen": ["4001=irc", "4002"],
            "limit_exempt": "10.0.0.1 10.0.0.2",
            "http_origin": "https://chat.example",
            "tls_cert": str(tmp_path / "c.pem"),
            "tls_key": str(tmp_path / "k.pem"),
            "store": "postgresql://u:secret@db/chat",
            "bus": "nats://127.0.0.1:4222",
            "workers": 3,
            "guests": "deny",
        },
    )
    plain = json.loads(json.dumps(settings_of(config)))
    again = load_config(environ={}, overrides=plain)
    assert again == config
    assert again.limits.message_rate == 7.5 and again.workers == 3
    assert again.listen == [ListenSpec(4001, "irc"), ListenSpec(4002, "auto")]


def test_workers_need_a_shared_store_and_bus(tmp_path: Path):
    assert load_config(environ={}, overrides={"data": str(tmp_path)}).workers == 1
    with pytest.raises(ConfigError, match="store the workers share"):
        load_config(environ={}, overrides={"workers": 2, "data": str(tmp_path)})
    with pytest.raises(ConfigError, match="bus the workers share"):
        load_config(environ={}, overrides={"workers": 2, "store": "postgresql://db/chat"})
    with pytest.raises(ConfigError, match="workers must be a number more than 0"):
        load_config(environ={}, overrides={"workers": 0})
    shared = {"store": "postgresql://db/chat", "bus": "nats://127.0.0.1:4222"}
    assert load_config(environ={}, overrides={"workers": 2, **shared}).workers == 2
    with pytest.raises(ConfigError, match="give listen a number"):
        load_config(environ={}, overrides={"workers": 2, "listen": ["0=irc"], **shared})
