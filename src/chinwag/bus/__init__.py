"""Bus layer: how the engine's decisions reach the sessions they are for.

The engine addresses every delivery to an audience (a room, a user, a session) in an
`Envelope`; a `Bus` carries envelopes to the nodes that subscribed to that audience, and
each node's fan-out resolves the audience to its own connections. In-process by default;
brokers (Redis, NATS) add backends that pass the same contract suite (tests/bus).
"""
