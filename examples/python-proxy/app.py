"""python-proxy: a standard `wasi:http/proxy` component, in Python, run by
hookhost as a webhook handler.

The same component runs under `wasmtime serve` or Spin; under hookhost it
also reads the invocation's context from the environment and may call
hookhost's `host` interface. It answers like the `echo` examples:

    200 application/json
    {"payload": <HOOKHOST_PAYLOAD or null>, "method": ..., "path": ...,
     "body": ..., "webhook_id": ..., "invocation_id": ...}

`path` is the part below `/hooks/<id>` (a proxy component sees the whole
path). Query parameters:

* `publish=TYPE` (under `echo.`) publishes an event with data
  {"method", "path", "body"} through `hookhost:handler/host.publish`;
  hookhost commits it only if the answer is 2xx.
* `status=NNN` answers with that status instead of 200.
* `fetch=URL` sends `GET URL` with `wasi:http/outgoing-handler` first and
  adds {"fetched": {"status", "body"}} or {"fetched": {"error"}} to the answer.
"""

import json
import os
from urllib.parse import parse_qs, urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import host, outgoing_handler
from wit_world.imports import wasi_http_types as http
from wit_world.imports.streams import StreamError_Closed

PUBLISH_PREFIX = "echo."


def to_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def method_name(method) -> str:
    if isinstance(method, http.Method_Other):
        return method.value
    return type(method).__name__.split("_", 1)[1].upper()


def read_all(body) -> bytes:
    """Reads an incoming body to its end and finishes it."""
    stream = body.stream()
    chunks = []
    while True:
        try:
            chunks.append(stream.blocking_read(64 * 1024))
        except Err as e:
            if isinstance(e.value, StreamError_Closed):
                break
            raise
    # The stream is a child of the body: dropped first.
    stream.__exit__(None, None, None)
    http.IncomingBody.finish(body)
    return b"".join(chunks)


def fetch(url: str) -> dict:
    """GET `url` with wasi:http; {"status", "body"} or {"error"}."""
    parts = urlsplit(url)
    request = http.OutgoingRequest(http.Fields())
    request.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
    request.set_authority(parts.netloc)
    request.set_path_with_query(parts.path + ("?" + parts.query if parts.query else "") or "/")
    try:
        future = outgoing_handler.handle(request, None)
    except Err as e:
        return {"error": type(e.value).__name__}
    future.subscribe().block()
    result = future.get()
    # option<result<result<incoming-response, error-code>>>
    if result is None or isinstance(result, Err) or isinstance(result.value, Err):
        code = result.value.value if result is not None and isinstance(result.value, Err) else None
        return {"error": type(code).__name__ if code is not None else "no response"}
    response = result.value.value
    status = response.status()
    body = read_all(response.consume())
    return {"status": status, "body": body.decode("utf-8", errors="replace")}


def respond(out, status: int, body: bytes) -> None:
    response = http.OutgoingResponse(http.Fields.from_list([("content-type", b"application/json")]))
    response.set_status_code(status)
    outgoing = response.body()
    http.ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    # blocking-write-and-flush takes at most 4096 bytes at a time.
    for i in range(0, len(body), 4096):
        stream.blocking_write_and_flush(body[i:i + 4096])
    stream.__exit__(None, None, None)
    http.OutgoingBody.finish(outgoing, None)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: http.IncomingRequest, response_out: http.ResponseOutparam) -> None:
        method = method_name(request.method())
        full = request.path_with_query() or "/"
        path, _, query = full.partition("?")
        # "/hooks/<id>/rest" -> "/rest"
        below = "/" + "/".join(path.split("/")[3:])
        body = read_all(request.consume()).decode("utf-8", errors="replace")
        params = {k: v[0] for k, v in parse_qs(query).items()}

        answer = {
            "payload": json.loads(os.environ["HOOKHOST_PAYLOAD"]) if "HOOKHOST_PAYLOAD" in os.environ else None,
            "method": method,
            "path": below,
            "body": body,
            "webhook_id": os.environ.get("HOOKHOST_WEBHOOK_ID"),
            "invocation_id": os.environ.get("HOOKHOST_INVOCATION_ID"),
        }
        status = int(params.get("status", "200"))

        event_type = params.get("publish")
        if event_type is not None:
            if not event_type.startswith(PUBLISH_PREFIX):
                respond(response_out, 400, to_json({"error": f"publishes only under {PUBLISH_PREFIX}"}))
                return
            host.publish(event_type, to_json({"method": method, "path": below, "body": body}).decode())

        if "fetch" in params:
            answer["fetched"] = fetch(params["fetch"])

        respond(response_out, status, to_json(answer))
