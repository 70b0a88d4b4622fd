from hypothesis import given
from hypothesis import strategies as st

from chinwag.protocol.framing import LineFraming, LineTooLong


def feed_all(splitter: LineFraming, chunks: list[bytes]) -> list[bytes | LineTooLong]:
    out: list[bytes | LineTooLong] = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    return out


def test_lines_split_across_chunks():
    s = LineFraming(100)
    assert feed_all(s, [b"hel", b"lo\nwor", b"ld\r\n", b"tail"]) == [b"hello", b"world"]
    assert s.finish() == b"tail"


def test_long_line_dropped_and_reported_once_then_resync():
    s = LineFraming(10)
    out = feed_all(s, [b"x" * 8, b"y" * 8, b"z" * 30, b"\nok\n"])
    assert out == [LineTooLong(46), b"ok"]
    assert s.pending() == 0


def test_memory_stays_bounded_while_discarding():
    s = LineFraming(1000)
    for _ in range(100):
        list(s.feed(b"a" * 10_000))
        assert s.pending() <= 1001


def test_exactly_max_line_is_accepted():
    s = LineFraming(5)
    assert feed_all(s, [b"12345\n123456\n"]) == [b"12345", LineTooLong(6)]


@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(1, 64))
def test_splitting_never_depends_on_chunking(chunks: list[bytes], max_line: int):
    whole = b"".join(chunks)
    one = LineFraming(max_line)
    many = LineFraming(max_line)
    a = feed_all(one, [whole])
    b = feed_all(many, chunks)

    # Oversized lines may be reported with a different size depending on the chunking,
    # but which lines are accepted, and in what order, must not change.
    def shape(items: list[bytes | LineTooLong]) -> list[bytes | None]:
        return [None if isinstance(i, LineTooLong) else i for i in items]

    assert shape(a) == shape(b)
    for item in a:
        assert isinstance(item, LineTooLong) or len(item) <= max_line
