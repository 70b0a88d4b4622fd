"""`chinwag tui`: the full-screen Textual client (chinwag.tui.app), on the client library.

Modules: `app.py` the application (layout, the session, the event stream, actions),
`log.py` one conversation's message pane, `entry.py` the input line (history, completion,
pastes), `render.py` what a message or a label looks like (pure), `ask.py` modal
questions and desktop notifications.
"""

from __future__ import annotations

from chinwag.client.trust import TlsOptions


def run_tui(
    *, host: str | None, port: int | None, user: str | None, tls: TlsOptions | None = None
) -> int:
    """The `chinwag tui` command; its exit status (0 after /quit, 1 when cut off)."""
    from chinwag.certs import TLS_PORT
    from chinwag.client.line import DEFAULT_PORT, ask_address
    from chinwag.tui.app import ChatApp

    servers = ask_address(host, port, TLS_PORT if tls else DEFAULT_PORT)
    if servers is None:
        return 1
    (first_host, first_port), *others = servers
    result = ChatApp(first_host, first_port, user, tls=tls, failover=others).run()
    return 1 if result is None else result
