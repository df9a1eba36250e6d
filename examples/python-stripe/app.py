"""python-stripe: receives Stripe webhooks, verifies them, republishes them.

Register the webhook with the endpoint's signing secret as payload:

    {"signing_secret": "whsec_...", "tolerance_s": 300}

For each request it checks the `Stripe-Signature` header (HMAC-SHA256 over
`"{t}.{body}"`, timestamp within `tolerance_s` of the host's receive time,
default 5 minutes) and publishes the Stripe event as an outbound hookhost
event of type `stripe.<stripe type>`, e.g. `stripe.payment_intent.succeeded`,
with data `{"id", "type", "created", "livemode", "object"}`.

Answers: 200 `{"received": true, "id": ...}`; 400 for a missing or malformed
header or a body that is not a Stripe event; 401 for a signature that does not
match or a stale timestamp; 500 when the webhook's payload has no secret.
"""

import json

import wit_world
from wit_world.imports import host, types
from componentize_py_types import Err

from stripe_signature import DEFAULT_TOLERANCE_S, SignatureError, verify


def header(req: types.Request, name: str):
    """The first value of header `name` (names arrive in lower case)."""
    for key, value in req.headers:
        if key == name:
            return value
    return None


def config(ctx: types.Context):
    try:
        payload = json.loads(ctx.payload) if ctx.payload is not None else {}
        secret = payload["signing_secret"]
        tolerance = int(payload.get("tolerance_s", DEFAULT_TOLERANCE_S))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Err(types.HandlerError_Internal(
            'webhook misconfigured: its payload must be {"signing_secret": "whsec_...", "tolerance_s"?: 300}'
        ))
    if not isinstance(secret, str) or not secret:
        raise Err(types.HandlerError_Internal("webhook misconfigured: signing_secret must be a string"))
    return secret, tolerance


class WitWorld(wit_world.WitWorld):
    def handle(self, req: types.Request, ctx: types.Context) -> types.Response:
        secret, tolerance = config(ctx)
        try:
            verify(header(req, "stripe-signature"), req.body, secret,
                   now_s=ctx.received_at_ms // 1000, tolerance_s=tolerance)
        except SignatureError as e:
            if e.malformed:
                raise Err(types.HandlerError_BadRequest(str(e)))
            raise Err(types.HandlerError_Unauthorized(str(e)))

        try:
            event = json.loads(req.body)
            event_id, event_type = event["id"], event["type"]
            obj = event.get("data", {}).get("object")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise Err(types.HandlerError_BadRequest("the body is not a Stripe event (JSON with id, type, data.object)"))
        if not isinstance(event_type, str) or not event_type:
            raise Err(types.HandlerError_BadRequest("the Stripe event has no type"))

        data = {
            "id": event_id,
            "type": event_type,
            "created": event.get("created"),
            "livemode": event.get("livemode", False),
            "object": obj,
        }
        try:
            host.publish("stripe." + event_type, json.dumps(data))
        except Err as e:
            raise Err(types.HandlerError_Internal(f"publish failed: {e.value}"))
        host.log(types.LogLevel.INFO, f"verified Stripe event {event_id} ({event_type})")

        return types.Response(
            status=200,
            headers=[("content-type", "application/json")],
            body=json.dumps({"received": True, "id": event_id}).encode(),
        )
