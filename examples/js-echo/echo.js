// js-echo: the JavaScript twin of the Rust `echo` example.
//
// Answers every request with what it received and the webhook's stored payload:
//
//   200 application/json
//   {"payload": <stored payload or null>, "method": ..., "path": ..., "body": ...}
//
// `body` is the request body as text (invalid UTF-8 replaced by U+FFFD). With
// `publish=TYPE` in the query string (the first such parameter, verbatim) it
// also publishes an outbound event of type TYPE with data {method, path, body}.

import { publish } from 'hookhost:handler/host@0.2.0';

const decoder = new TextDecoder('utf-8'); // not fatal: invalid bytes become U+FFFD
const encoder = new TextEncoder();

// Anyone who knows the URL can call echo: it may publish only under this
// prefix, never events of any type to every subscriber.
const PUBLISH_PREFIX = 'echo.';

/** The value of the first `publish=` parameter of `query`, or null. */
function publishParam(query) {
  for (const pair of query.split('&')) {
    if (pair.startsWith('publish=')) {
      return pair.slice('publish='.length) || null;
    }
  }
  return null;
}

/**
 * The world's export. Records arrive as objects with camelCase fields,
 * `list<u8>` as a Uint8Array, `option<string>` as a string or undefined.
 * Returning answers `ok`; throwing `{tag, val}` answers the `handler-error`.
 */
export function handle(req, ctx) {
  const body = decoder.decode(req.body);

  const eventType = publishParam(req.query);
  if (eventType !== null) {
    if (!eventType.startsWith(PUBLISH_PREFIX)) {
      throw { tag: 'bad-request', val: `echo publishes only event types under \`${PUBLISH_PREFIX}\`` };
    }
    const data = { method: req.method, path: req.path, body };
    try {
      publish(eventType, JSON.stringify(data));
    } catch (e) {
      // A failed host call throws a ComponentError whose `payload` is the error string.
      throw { tag: 'internal', val: String(e.payload ?? e) };
    }
  }

  const payload = ctx.payload === undefined ? null : JSON.parse(ctx.payload);
  const out = { payload, method: req.method, path: req.path, body };
  return {
    status: 200,
    headers: [['content-type', 'application/json']],
    body: encoder.encode(JSON.stringify(out)),
  };
}
