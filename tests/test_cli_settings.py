"""Every bad setting is one clear line on stderr and exit status 2: never a traceback, never
a value quietly wrapped around or ignored. Through `chinwag.cli.main`, the `chinwag`
command itself; and once as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chinwag.cli import main

# (arguments, environment, words the one line must hold)
BAD: list[tuple[list[str], dict[str, str], str]] = [
    (["serve", "--port", "70000"], {}, "65535"),
    (["serve", "--port", "-1"], {}, "65535"),
    (["serve", "--tls-port", "65536"], {}, "65535"),
    (["chat", "--port", "99999"], {}, "65535"),
    (["chat", "--port", "0"], {}, "from 1 to 65535"),
    (["serve", "--listen", "30012=klingon"], {}, "unknown dialect 'klingon'"),
    (["serve", "--listen", "99999=plain"], {}, "65535"),
    (["serve", "--log-level", "LOUD"], {}, "LOUD"),
    (["serve"], {"CHINWAG_LOG_LEVEL": "LOUD"}, "log_level"),
    (["serve"], {"CHINWAG_PORT": "70000"}, "port"),
    (["serve", "--message-rate", "-1"], {}, "message_rate"),
    (["serve", "--max-rooms", "-3"], {}, "max_rooms"),
    (["serve"], {"CHINWAG_MESSAGE_BURST": "-20"}, "message_burst"),
    (["serve", "--max-line", "0"], {}, "max_line"),
    (["serve", "--query-budget", "nan"], {}, "query_budget"),
    (["serve"], {"CHINWAG_MESAGE_RATE": "3"}, "did you mean CHINWAG_MESSAGE_RATE?"),
    (["user", "list"], {"CHINWAG_DAT": "x"}, "CHINWAG_DAT"),
    (["serve"], {"CHINWAG_CLASSIC_PORTS": "maybe"}, "classic_ports"),
    (["tui", "--port", "99999"], {}, "port"),
    (["serve", "--bus", "redis://127.0.0.1:6379"], {}, "bus is nats://host:port"),
    (["serve"], {"CHINWAG_BUS": "127.0.0.1:4222"}, "bus is nats://host:port"),
    (["serve", "--bus-prefix", "a b"], {}, "bus_prefix"),
    (["serve", "--bus-prefix", "a..b"], {}, "bus_prefix"),
]


@pytest.fixture(autouse=True)
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting let through would start a server or a chat and wait: fail at once instead."""

    def started(*args: object, **kwargs: object) -> int:
        raise AssertionError("a bad setting was let through")

    monkeypatch.setattr("chinwag.server.run.run_server", started)
    monkeypatch.setattr("chinwag.client.line.run_line_client", started)
    monkeypatch.setattr("chinwag.tui.run_tui", started)


@pytest.mark.parametrize(("argv", "env", "words"), BAD)
def test_a_bad_setting_is_one_line_and_exit_2(
    argv: list[str],
    env: dict[str, str],
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status: int | str | None
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chinwag"), err
    assert words in lines[0]


def test_a_file_as_the_data_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    file = tmp_path / "notes.txt"
    file.write_text("not a folder")
    assert main(["serve", "--data", str(file)]) == 2
    assert capsys.readouterr().err == f"chinwag: data must be a folder, and {file} is a file\n"


def test_a_mistyped_toml_key_names_the_nearest_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    config = tmp_path / "chinwag.toml"
    config.write_text("mesage_rate = 3\n")
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown setting 'mesage_rate'" in err and "did you mean 'message_rate'?" in err


def test_as_a_process_the_port_is_refused_before_anything_starts(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "chinwag", "serve", "--port", "70000", "--data", str(tmp_path)],
        capture_output=True,
        timeout=30,
        env={"CHINWAG_LOG_LEVEL": "LOUD", "PATH": ""},
    )
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())  # nothing was made


def test_tui_help_names_its_keys(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["tui", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for words in ("--host", "--user", "--tls", "PageUp/PageDown", "Tab", "Ctrl+P", "Ctrl+Q"):
        assert words in out


def test_serve_help_says_what_each_setting_does_and_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    from chinwag.protocol.dialects import DIALECTS

    for shown in ("(default 12345)", "(default 65536)", "(default 5.0)", "(default 30.0)",
                  "dialects: " + ", ".join(DIALECTS)):  # fmt: skip
        assert shown in text, shown
