"""The one slash-command parser of both terminal clients (client/commands.py)."""

from __future__ import annotations

import pytest

from chinwag.client import commands as c
from chinwag.client.moderation import Usage
from chinwag.protocol import events as ev


@pytest.mark.parametrize(
    ("line", "action"),
    [
        ("hello", c.Say("hello")),
        ("//help me", c.Say("/help me")),
        ("/q", c.Simple("quit")),
        ("/EXIT", c.Simple("quit")),
        ("/ping", c.Simple("ping")),
        ("/help mod", c.Help(moderation=True)),
        ("/users #dev", c.Send(ev.ListUsers("dev"))),
        ("/users", c.Send(ev.ListUsers(None))),
        ("/msg bob hi there", c.Msg("bob", "hi there")),
        ('/msg "Client 2" hi', c.Msg("Client 2", "hi")),
        ("/join #ops", c.JoinRoom("ops")),
        ("/leave", c.Send(ev.LeaveRoom("dev"))),
        ("/switch #general", c.Switch("general")),
        ("/topic Dev talk", c.Send(ev.SetTopic("dev", "Dev talk"), paced=True)),
        ("/topic #ops on call", c.Send(ev.SetTopic("ops", "on call"), paced=True)),
        ("/history #ops 5", c.Send(ev.History("ops", limit=5))),
        ("/history", c.Send(ev.History("dev", limit=20))),
        ("/search #ops disk full", c.Send(ev.Search("ops", "disk full"))),
        ("/nick carol", c.Send(ev.Rename("carol"))),
        ("/away out to lunch", c.Send(ev.Away("out to lunch"))),
        ("/away", c.Send(ev.Away(None))),
        ("/register", c.Account("register")),
        ("/login alice", c.Account("login", "alice")),
        ("/logout", c.Account("logout")),
        ("/kick bob spam", c.Send(ev.Kick("dev", "bob", "spam"))),
        ("/ban * bob 10m", c.Send(ev.Ban("bob", None, 600, ""))),
        ('/kick "Client 2" flooding', c.Send(ev.Kick("dev", "Client 2", "flooding"))),
        ('/mute #ops "Client 3" 5m', c.Send(ev.Mute("ops", "Client 3", 300, ""))),
    ],
)
def test_typed_lines_become_actions(line: str, action: object) -> None:
    assert c.parse(line, "dev") == action


@pytest.mark.parametrize(
    ("line", "usage"),
    [
        ("/msg bob", "Usage: /msg NAME text"),
        ("/join two words", "Usage: /join ROOM"),
        ("/topic", "Usage: /topic [#ROOM] text"),
        ("/history #dev many", "Usage: /history [#ROOM] [N] (N a positive number)"),
        ("/search #dev", "Usage: /search [#ROOM] words"),
        ("/nick a b", "Usage: /nick NAME"),
        ("/kick", "Usage: /kick [#ROOM] NAME [reason]"),
        ("/frobnicate", "! Unknown command /frobnicate. Type /help for the list of commands."),
    ],
)
def test_what_cannot_be_read_says_how(line: str, usage: str) -> None:
    assert c.parse(line, "dev") == Usage(usage)


def test_blank_lines_do_nothing_and_every_command_is_completable() -> None:
    assert c.parse("   ", "dev") is None
    for name in c.NAMES:
        action = c.parse(f"/{name}", "dev")
        assert not (isinstance(action, Usage) and "Unknown" in action.text), name
    assert "msg" in c.NAMES and "kick" in c.NAMES and "q" not in c.NAMES


def test_names_with_spaces_are_quoted_for_commands() -> None:
    assert c.quoted("Client 2") == '"Client 2"'
    assert c.quoted("bob") == "bob"
    assert c.first_word('"Client 2" hello') == ("Client 2", "hello")
    assert c.first_word('"unclosed hi') == ('"unclosed', "hi")
