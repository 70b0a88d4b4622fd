"""The IRC tokenizer against the irc-parser-tests vectors, hypothesis, and the nick mapping."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_tests import data

from chinwag.engine.names import valid_username
from chinwag.protocol import events as ev
from chinwag.protocol.irc import IrcCodec
from chinwag.protocol.irc_names import clean, from_nick, to_nick, valid_nick
from chinwag.protocol.irc_wire import build, chunks, parse

SPLIT: list[dict[str, Any]] = data.msg_split["tests"]
JOIN: list[dict[str, Any]] = data.msg_join["tests"]


@pytest.mark.parametrize("case", SPLIT, ids=[c["input"][:40] for c in SPLIT])
def test_msg_split_vectors(case: dict[str, Any]):
    atoms = case["atoms"]
    msg = parse(case["input"])
    assert msg is not None
    assert msg.command == atoms["verb"]
    assert list(msg.params) == atoms.get("params", [])
    assert msg.source == atoms.get("source")
    assert msg.tags == {k: v or "" for k, v in (atoms.get("tags") or {}).items()}


@pytest.mark.parametrize("case", JOIN, ids=[str(i) for i in range(len(JOIN))])
def test_msg_join_vectors_parse_back(case: dict[str, Any]):
    """What we build parses back to the same atoms (the vectors' accepted outputs vary
    in where a trailing ':' goes; the round trip is what a client relies on)."""
    atoms = case["atoms"]
    params = [str(p) for p in atoms.get("params", [])]
    if any(" " in p or p.startswith(":") or not p for p in params[:-1]):
        pytest.skip("a middle parameter IRC cannot carry")
    line = build(atoms["verb"], *params, source=atoms.get("source"))
    msg = parse(line.decode().removesuffix("\r\n"))
    assert msg is not None
    assert (msg.command, list(msg.params), msg.source) == (
        atoms["verb"],
        params,
        atoms.get("source"),
    )


def test_lines_without_a_command_are_none():
    assert parse("") is None
    assert parse("   ") is None
    assert parse("@a=b") is None
    assert parse(":source") is None


@settings(max_examples=500)
@given(st.text())
def test_parse_never_raises(text: str):
    msg = parse(text)
    assert msg is None or msg.command


@settings(max_examples=300)
@given(st.lists(st.text(), min_size=1, max_size=6))
def test_built_lines_are_one_line_that_parses_back(params: list[str]):
    line = build("PRIVMSG", *params, source="a!b@c")
    assert line.endswith(b"\r\n") and line.count(b"\n") == 1 and b"\0" not in line
    msg = parse(line.decode().removesuffix("\r\n"))
    assert msg is not None and msg.command == "PRIVMSG"
    assert msg.params[-1] == params[-1].replace("\r", " ").replace("\n", " ").replace("\0", " ")


@given(st.text(), st.integers(min_value=16, max_value=600))
def test_chunks_fit_and_lose_nothing(text: str, budget: int):
    pieces = chunks(text, budget)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= budget for p in pieces)


@pytest.mark.parametrize(
    ("name", "nick"),
    [
        ("alice", "alice"),
        ("Bob_2", "Bob_2"),
        ("José", "`Jos-dma"),
        ("日本", "`wgv71a"),
        ("a.b", "`a^b-"),
        ("1up", "`1up-"),
        ("-x", "`-x-"),
        ("Client 7", "`Client{7-"),
    ],
)
def test_nick_mapping(name: str, nick: str):
    assert to_nick(name) == nick
    assert valid_nick(nick)
    assert from_nick(nick) == name


def test_nicks_that_are_no_image_go_as_typed():
    assert from_nick("[away]") == "[away]"
    assert from_nick("`nonsense") == "䅪䅫䂬䃛"  # every Punycode string names someone
    assert from_nick("`NONSENSE") == "`NONSENSE"  # decodes, but not back to itself
    assert from_nick("`") == "`"


names = st.text(
    st.characters(categories=["L", "M", "Nd"], include_characters="_-."), min_size=1, max_size=32
).filter(valid_username)


@settings(max_examples=300)
@given(names)
def test_every_name_has_a_valid_nick_that_maps_back(name: str):
    nick = to_nick(name)
    assert valid_nick(nick)
    assert from_nick(nick) == name


@given(st.text())
def test_clean_leaves_no_control_character(text: str):
    out = clean(text)
    inner = out[len("\x01ACTION ") : -1] if out.startswith("\x01ACTION ") else out
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in inner)


def test_clean_strips_formatting_and_keeps_actions():
    assert clean("\x02bold\x02 \x0304,12red\x03 \x1b[31mx") == "bold red [31mx"
    assert clean("\x01ACTION waves \x02hi\x02\x01") == "\x01ACTION waves hi\x01"
    assert clean("\x01VERSION\x01") == "VERSION"


@pytest.mark.parametrize(
    "line",
    [
        b"CAP LS \xc2\xb2",  # a superscript two: a digit to str.isdigit, no number to int
        b"TOPIC #\x00",
        b"TOPIC #\xc3\xa9",
        b"CHATHISTORY LATEST #dev msgid=\xc2\xb2 \xc2\xb2",
        b"CHATHISTORY BEFORE #dev msgid=99999999999999999999999 5",
        b"MODE #\x00 +o",
        b"KICK #\x01 x",
    ],
)
def test_lines_that_once_could_raise_are_answered(line: bytes):
    codec = IrcCodec()
    for opening in (b"NICK a", b"USER a 0 * :a"):
        codec.receive_message(opening)
    codec.events_received()
    codec.observe(ev.Welcome("a", "hi", ("a",), ("general",), 0, 1.0))
    codec.receive_message(line)
    assert all(isinstance(e, ev.Command.__args__) for e in codec.events_received())


@settings(max_examples=500)
@given(st.text(), st.text(st.sampled_from("abcXYZ019-^{}|`")))
def test_from_nick_never_raises(any_text: str, nickish: str):
    for nick in (any_text, "`" + any_text, "`" + nickish):
        assert isinstance(from_nick(nick), str)
