"""python-echo: the Python twin of the Rust `echo` example.

Answers every request with what it received and the webhook's stored payload:

    200 application/json
    {"payload": <stored payload or null>, "method": ..., "path": ..., "body": ...}

`body` is the request body as text (invalid UTF-8 replaced by U+FFFD). With
`publish=TYPE` in the query string (the first such parameter, verbatim) it
also publishes an outbound event of type TYPE with data {"method", "path", "body"}.
"""

import json

import wit_world
from wit_world.imports import host, types
from componentize_py_types import Err


# Anyone who knows the URL can call echo: it may publish only under this
# prefix, never events of any type to every subscriber.
PUBLISH_PREFIX = "echo."


def publish_param(query: str):
    """The value of the first `publish=` parameter of `query`, or None."""
    for pair in query.split("&"):
        if pair.startswith("publish="):
            value = pair[len("publish="):]
            return value or None
    return None


def to_json(value) -> bytes:
    # Compact and not ASCII-escaped, like serde_json in the Rust example.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class WitWorld(wit_world.WitWorld):
    def handle(self, req: types.Request, ctx: types.Context) -> types.Response:
        body = req.body.decode("utf-8", errors="replace")

        event_type = publish_param(req.query)
        if event_type is not None:
            if not event_type.startswith(PUBLISH_PREFIX):
                raise Err(types.HandlerError_BadRequest(
                    f"echo publishes only event types under `{PUBLISH_PREFIX}`"))
            data = {"method": req.method, "path": req.path, "body": body}
            try:
                host.publish(event_type, to_json(data).decode())
            except Err as e:
                # publish failed (e.g. the host refused the data): answer 500.
                raise Err(types.HandlerError_Internal(str(e.value)))

        payload = json.loads(ctx.payload) if ctx.payload is not None else None
        out = {"payload": payload, "method": req.method, "path": req.path, "body": body}
        return types.Response(
            status=200,
            headers=[("content-type", "application/json")],
            body=to_json(out),
        )
