"""schema.py's shapes turned into encoders and decoders, once, at import.

- `encoder(shape)`: event -> one JSON line. Generated as source (as dataclasses does) so
  each type builds its object in one dict display: a generic loop over the fields was
  slower, and encoding a ChatMessage is the server's hot path (once per message said).
- `strict_decoder(shape)`: JSON object -> command, for the server. Bad input raises
  RemoteProtocolError with the code and message docs/protocol.md promises; native.py turns
  it into a BadInput. One small reader closure per field, composed per arity.
- `lenient_decoder(shape)`: JSON object -> notice, for the client. Defaults stand in for
  what an older server leaves out; anything else wrong raises schema.Unreadable.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import orjson

from chinwag.errors import LocalProtocolError, RemoteProtocolError
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.schema import Field, Items, Kind, Shape, Unreadable

JsonObject = dict[str, Any]
Reader = Callable[[JsonObject], Any]


# --------------------------------------------------------------------------- output


def _dump_items(kind: Items) -> Callable[[Any], Any]:
    if len(kind.shapes) == 1:
        one = to_json(kind.shapes[0])
        return lambda items: [one(item) for item in items]
    by_class = {s.event: to_json(s) for s in kind.shapes}
    return lambda items: [by_class[item.__class__](item) for item in items]


def _generate(shape: Shape, as_line: bool, checks: bool) -> Callable[[Any], Any]:
    env: dict[str, Any] = {"_dumps": orjson.dumps}

    def bind(value: Any) -> str:
        name = f"_{len(env)}"
        env[name] = value
        return name

    def convert(expr: str, kind: Kind) -> str:
        dump = _dump_items(kind) if isinstance(kind, Items) else kind.dump
        return expr if dump is None else f"{bind(dump)}({expr})"

    def value(field: Field) -> str:
        if field.compute is not None:
            return f"{bind(field.compute)}(n)"
        return convert(f"n.{field.name}", field.kind)

    lines = []
    for field in shape.fields:
        if not field.name.isidentifier():
            raise TypeError(f"{field.name!r} is not an attribute name")
        if checks and field.required and field.compute is None:
            message = f"the native dialect needs a {field.key} to {shape.name}"
            lines += [
                f"if n.{field.name} is None:",
                f"    raise {bind(LocalProtocolError)}({message!r})",
            ]
    rest = list(shape.fields)
    head = [] if shape.name is None else [f'"type": {shape.name!r}']
    while rest and not rest[0].omit:
        field = rest.pop(0)
        head.append(f"{field.key!r}: {value(field)}")
    lines.append("obj = {" + ", ".join(head) + "}")
    for field in rest:
        if not field.omit:
            lines.append(f"obj[{field.key!r}] = {value(field)}")
            continue
        test = "v is not None" if field.default is None else f"v != {bind(field.default)}"
        lines += [f"v = n.{field.name}", f"if {test}:"]
        lines.append(f"    obj[{field.key!r}] = {convert('v', field.kind)}")
    # Not orjson's OPT_APPEND_NEWLINE: measured in the running server (bench A), it made
    # rendering three times as costly as `+ b"\n"`, though not in a micro-benchmark.
    lines.append('return _dumps(obj) + b"\\n"' if as_line else "return obj")
    name = f"_{'encode' if as_line else 'to_json'}_{shape.name or shape.event.__name__}"
    exec(f"def {name}(n):\n" + "".join(f"    {text}\n" for text in lines), env)
    function: Callable[[Any], Any] = env[name]
    return function


@cache
def to_json(shape: Shape) -> Callable[[Any], JsonObject]:
    """event -> its JSON object (nested inside other messages: history, rooms)."""
    return _generate(shape, as_line=False, checks=False)


@cache
def encoder(shape: Shape, *, checks: bool = False) -> Callable[[Any], bytes]:
    """event -> its JSON line, newline included. `checks`: a required attribute holding
    None is our own misuse (LocalProtocolError), as a client sending Join(None)."""
    return _generate(shape, as_line=True, checks=checks)


# --------------------------------------------------------------------------- strict input


def _strict_reader(field: Field) -> Reader:
    key, kind, default = field.key, field.kind, field.default
    types: type | tuple[type, ...] = kind.types[0] if len(kind.types) == 1 else kind.types
    no_bool = int in kind.types and bool not in kind.types  # bool is an int in Python
    check = None if type(kind).strict is Kind.strict else kind.strict
    required, blank = field.required, field.blank
    missing = f"Missing field '{key}'"
    invalid = f"Field '{key}' must be {kind.what}"

    def read(obj: JsonObject) -> Any:
        value = obj.get(key)
        if value is None:
            if required:
                raise RemoteProtocolError(ErrorCode.MISSING_FIELD, missing)
            return default
        if not isinstance(value, types) or (no_bool and value.__class__ is bool):
            raise RemoteProtocolError(ErrorCode.INVALID_FIELD, invalid)
        if check is not None:
            value = check(key, value)
        if blank and not value:
            return default
        return value

    return read


def _compose(make: Callable[..., Any], readers: list[Reader]) -> Reader:
    """make(*values read) with a call per field and no loop for the usual arities."""
    match readers:
        case []:
            return lambda obj: make()
        case [r0]:
            return lambda obj: make(r0(obj))
        case [r0, r1]:
            return lambda obj: make(r0(obj), r1(obj))
        case [r0, r1, r2]:
            return lambda obj: make(r0(obj), r1(obj), r2(obj))
        case [r0, r1, r2, r3]:
            return lambda obj: make(r0(obj), r1(obj), r2(obj), r3(obj))
    return lambda obj: make(*[read(obj) for read in readers])


def strict_decoder(shape: Shape) -> Reader:
    """JSON object -> event; raises RemoteProtocolError on the first bad field."""
    return _compose(shape.event, [_strict_reader(f) for f in shape.decoded()])


# --------------------------------------------------------------------------- lenient input


def _objects(key: str, items: list[Any]) -> list[JsonObject]:
    if not all(isinstance(item, dict) for item in items):
        raise Unreadable(f"field '{key}' must be a list of objects")
    return items


def _lenient_items(kind: Items) -> Callable[[str, Any], Any]:
    if len(kind.shapes) == 1:
        one = lenient_decoder(kind.shapes[0])
        return lambda key, items: tuple(one(item) for item in _objects(key, items))
    by_name = {s.name: lenient_decoder(s) for s in kind.shapes}

    def read(item: JsonObject) -> Any:
        tag = item.get("type")
        decode = by_name.get(tag) if isinstance(tag, str) else None
        if decode is None:
            raise Unreadable(f"'{tag}' is not a {kind.noun}")
        return decode(item)

    return lambda key, items: tuple(read(item) for item in _objects(key, items))


def _lenient_reader(field: Field) -> Reader:
    key, kind, default = field.key, field.kind, field.default
    no_bool = int in kind.types and bool not in kind.types
    convert = _lenient_items(kind) if isinstance(kind, Items) else kind.lenient
    required, blank, tolerant = field.required, field.blank, field.tolerant

    def read(obj: JsonObject) -> Any:
        value = obj.get(key)
        if value is None:
            if required:
                raise Unreadable(f"missing field '{key}'")
            return default
        if not isinstance(value, kind.types) or (no_bool and value.__class__ is bool):
            if tolerant:
                return default
            raise Unreadable(f"field '{key}' has the wrong type")
        value = convert(key, value)
        if blank and not value:
            return default
        return value

    return read


@cache
def lenient_decoder(shape: Shape) -> Reader:
    """JSON object -> event, with defaults for what is absent; raises Unreadable."""
    make = shape.build or shape.event
    return _compose(make, [_lenient_reader(f) for f in shape.decoded()])
