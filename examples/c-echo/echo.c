// c-echo: the C twin of the Rust `echo` example.
//
// Answers every request with what it received and the webhook's stored payload:
//
//   200 application/json
//   {"payload": <stored payload or null>, "method": ..., "path": ..., "body": ...}
//
// `body` is the request body as text (invalid UTF-8 replaced by U+FFFD, one
// per maximal invalid subsequence, as Rust's `String::from_utf8_lossy` does).
// With `publish=TYPE` in the query string (the first such parameter,
// verbatim) it also publishes an outbound event of type TYPE with data
// {"method", "path", "body"}.
//
// Memory: the generated bindings hand over ownership of `req` and `ctx`
// (free them), and free the returned response with free() after the host has
// copied it, so everything in it must come from malloc.

#include "handler.h"

#include <stdlib.h>
#include <string.h>

// A growable byte buffer. Allocation failure traps (the sandbox's memory
// limit is the only way to run out, and the host reports that).
typedef struct {
  uint8_t *ptr;
  size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap * 2 : 256;
  while (cap < b->len + more) cap *= 2;
  b->ptr = realloc(b->ptr, cap);
  if (!b->ptr) __builtin_trap();
  b->cap = cap;
}

static void buf_put(buf_t *b, const void *data, size_t len) {
  buf_reserve(b, len);
  memcpy(b->ptr + b->len, data, len);
  b->len += len;
}

static void buf_puts(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

// Appends `s` as a JSON string literal; `s` must be valid UTF-8.
static void buf_json_string(buf_t *b, const uint8_t *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  buf_puts(b, "\"");
  for (size_t i = 0; i < len; i++) {
    uint8_t c = s[i];
    switch (c) {
      case '"': buf_puts(b, "\\\""); break;
      case '\\': buf_puts(b, "\\\\"); break;
      case '\b': buf_puts(b, "\\b"); break;
      case '\f': buf_puts(b, "\\f"); break;
      case '\n': buf_puts(b, "\\n"); break;
      case '\r': buf_puts(b, "\\r"); break;
      case '\t': buf_puts(b, "\\t"); break;
      default:
        if (c < 0x20) {
          char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          buf_put(b, esc, sizeof esc);
        } else {
          buf_put(b, &c, 1);
        }
    }
  }
  buf_puts(b, "\"");
}

// Appends `s` to `b` as valid UTF-8: each maximal invalid subsequence
// becomes U+FFFD (the Unicode "substitution of maximal subparts" practice).
static void buf_utf8_lossy(buf_t *b, const uint8_t *s, size_t n) {
  static const uint8_t replacement[] = {0xEF, 0xBF, 0xBD};
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      buf_put(b, &c, 1);
      i++;
      continue;
    }
    size_t need;        // sequence length
    uint8_t lo = 0x80;  // allowed range of the second byte
    uint8_t hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c == 0xE0) need = 3, lo = 0xA0;
    else if (c == 0xED) need = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) need = 3;
    else if (c == 0xF0) need = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) need = 4;
    else if (c == 0xF4) need = 4, hi = 0x8F;
    else {
      buf_put(b, replacement, 3);
      i++;
      continue;
    }
    size_t j = i + 1;
    if (j >= n || s[j] < lo || s[j] > hi) {
      buf_put(b, replacement, 3);
      i++;
      continue;
    }
    j++;
    while (j < i + need && j < n && (s[j] & 0xC0) == 0x80) j++;
    if (j == i + need) {
      buf_put(b, s + i, need);
    } else {
      buf_put(b, replacement, 3);
    }
    i = j;
  }
}

// Anyone who knows the URL can call echo: it may publish only under this
// prefix, never events of any type to every subscriber.
#define PUBLISH_PREFIX "echo."

// The value of the first `publish=` parameter of `query`; false if none or empty.
static bool publish_param(const handler_string_t *query, handler_string_t *out) {
  static const char key[] = "publish=";
  const size_t klen = sizeof key - 1;
  size_t start = 0;
  while (start <= query->len) {
    size_t end = start;
    while (end < query->len && query->ptr[end] != '&') end++;
    if (end - start >= klen && memcmp(query->ptr + start, key, klen) == 0) {
      out->ptr = query->ptr + start + klen;
      out->len = end - start - klen;
      return out->len > 0;
    }
    start = end + 1;
  }
  return false;
}

// `"method":...,"path":...,"body":...` (no braces), shared by the response
// and the published event.
static void put_request_fields(buf_t *b, const handler_request_t *req, const buf_t *body) {
  buf_puts(b, "\"method\":");
  buf_json_string(b, req->method.ptr, req->method.len);
  buf_puts(b, ",\"path\":");
  buf_json_string(b, req->path.ptr, req->path.len);
  buf_puts(b, ",\"body\":");
  buf_json_string(b, body->ptr, body->len);
}

static void set_error(handler_handler_error_t *err, uint8_t tag, handler_string_t message) {
  err->tag = tag;
  // The bindings free the message after the call: give them a copy.
  handler_string_dup_n(&err->val.internal, (const char *)message.ptr, message.len);
}

bool exports_handler_handle(handler_request_t *req, handler_context_t *ctx,
                            handler_response_t *ret, handler_handler_error_t *err) {
  bool ok = true;
  buf_t body = {0};
  buf_utf8_lossy(&body, req->body.ptr, req->body.len);

  handler_string_t event_type;
  bool publishing = publish_param(&req->query, &event_type);
  if (publishing && !(event_type.len >= sizeof PUBLISH_PREFIX - 1 &&
                      memcmp(event_type.ptr, PUBLISH_PREFIX, sizeof PUBLISH_PREFIX - 1) == 0)) {
    static const char msg[] = "echo publishes only event types under `" PUBLISH_PREFIX "`";
    handler_string_t m = {(uint8_t *)msg, sizeof msg - 1};
    set_error(err, HOOKHOST_HANDLER_TYPES_HANDLER_ERROR_BAD_REQUEST, m);
    ok = false;
    publishing = false;
  }
  if (publishing) {
    buf_t data = {0};
    buf_puts(&data, "{");
    put_request_fields(&data, req, &body);
    buf_puts(&data, "}");
    handler_string_t data_str = {data.ptr, data.len};
    handler_string_t failure;
    if (!hookhost_handler_host_publish(&event_type, &data_str, &failure)) {
      set_error(err, HOOKHOST_HANDLER_TYPES_HANDLER_ERROR_INTERNAL, failure);
      handler_string_free(&failure);
      ok = false;
    }
    free(data.ptr);
  }

  if (ok) {
    buf_t out = {0};
    buf_puts(&out, "{\"payload\":");
    if (ctx->payload.is_some) {
      // Stored payloads are valid JSON (checked at registration): embed as is.
      buf_put(&out, ctx->payload.val.ptr, ctx->payload.val.len);
    } else {
      buf_puts(&out, "null");
    }
    buf_puts(&out, ",");
    put_request_fields(&out, req, &body);
    buf_puts(&out, "}");

    handler_tuple2_string_string_t *headers = malloc(sizeof *headers);
    if (!headers) __builtin_trap();
    handler_string_dup(&headers[0].f0, "content-type");
    handler_string_dup(&headers[0].f1, "application/json");
    ret->status = 200;
    ret->headers = (handler_list_tuple2_string_string_t){headers, 1};
    ret->body = (handler_list_u8_t){out.ptr, out.len};
  }

  free(body.ptr);
  handler_request_free(req);
  handler_context_free(ctx);
  return ok;
}
