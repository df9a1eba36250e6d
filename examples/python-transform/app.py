"""python-transform: an outbound transform (world hookhost:transformer) in Python.

For each delivery to an endpoint that names it:

* drops fields: the event's `data` keeps only the fields listed in
  KEEP (others, such as personal data, are never sent to this endpoint);
* reshapes: the body becomes {"event", "id", "occurred_at", "fields"};
* routes by content: events whose data has "internal": true are skipped
  (the delivery ends as `skipped`, nothing is sent).

Try it without a server:

    hookhost transform python-transform.wasm --type order.created \
        --data '{"order_id": 7, "total": 12.5, "email": "a@b.c"}'
"""

import json

import wit_world
from wit_world.imports import types
from componentize_py_types import Err

# The fields of `data` this endpoint may see.
KEEP = ("order_id", "total", "currency", "status")


class WitWorld(wit_world.WitWorld):
    def transform(self, msg: types.Message) -> types.Outcome:
        try:
            envelope = json.loads(msg.body)
        except ValueError as e:
            raise Err(f"the body is not the JSON envelope: {e}")
        data = envelope.get("data")
        if isinstance(data, dict) and data.get("internal") is True:
            return types.Outcome_Skip()
        fields = {}
        if isinstance(data, dict):
            fields = {k: v for k, v in data.items() if k in KEEP}
        body = {
            "event": msg.event_type,
            "id": envelope.get("id"),
            "occurred_at": envelope.get("created_at"),
            "fields": fields,
        }
        msg.body = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        return types.Outcome_Send(msg)
