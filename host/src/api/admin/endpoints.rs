//! `/v1/endpoints`: subscribe URLs to events; secrets, recovery, test sends.

use super::scope::{Access, Caller};
use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ErrorResponses};
use crate::config::{
    MAX_ENDPOINT_HEADERS, MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_HEADER_NAME_BYTES,
    MAX_HEADER_VALUE_BYTES,
};
use crate::delivery::headers;
use crate::delivery::matching::filter::{COMBINATORS, OPERATORS};
use crate::delivery::{EndpointPatch, NewEndpoint};
use crate::runtime::ComponentKind;
use crate::signing::{self, SIGNING_KEY_PATTERN, SignatureScheme};
use crate::store::Page;
use crate::store::{DeliveryOrder, EndpointRecord, RateLimit};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, Object, ObjectBuilder,
    OneOfBuilder, Ref, Schema, SchemaType, Type,
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/endpoints", get(list).post(create))
        .route("/endpoints/{id}", get(show).patch(update).delete(remove))
        .route("/endpoints/{id}/secret", get(secret))
        .route("/endpoints/{id}/rotate-secret", post(rotate))
        .route("/endpoints/{id}/recover", post(recover))
        .route("/endpoints/{id}/test", post(test))
}

/// The form of an endpoint URL: `http(s)://`, optional user info, a host
/// name (labels of letters, digits and `_` joined by `-`, the last
/// starting with a letter, an optional final `.`), a dotted IPv4 address or
/// a bracketed IPv6 address, an optional port (0–65535), and a path, query
/// or fragment of printable ASCII. [`url_has_form`] checks the same by
/// hand, and every URL of this form parses (WHATWG rules, as the delivery
/// layer parses it). Whether the address may be reached (private ranges,
/// `--outbound-allowlist`) is not part of the form.
pub(crate) const URL_PATTERN: &str = concat!(
    "^https?://",
    r"([A-Za-z0-9._~!$&'()*+,;=:%-]*@)?",
    "(",
    r"([A-Za-z0-9_]+(-+[A-Za-z0-9_]+)*\.)*[A-Za-z][A-Za-z0-9_]*(-+[A-Za-z0-9_]+)*\.?",
    r"|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
    r"|\[(",
    r"([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}",
    r"|([0-9A-Fa-f]{1,4}:){1,7}:",
    r"|([0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}",
    r"|([0-9A-Fa-f]{1,4}:){1,5}(:[0-9A-Fa-f]{1,4}){1,2}",
    r"|([0-9A-Fa-f]{1,4}:){1,4}(:[0-9A-Fa-f]{1,4}){1,3}",
    r"|([0-9A-Fa-f]{1,4}:){1,3}(:[0-9A-Fa-f]{1,4}){1,4}",
    r"|([0-9A-Fa-f]{1,4}:){1,2}(:[0-9A-Fa-f]{1,4}){1,5}",
    r"|[0-9A-Fa-f]{1,4}:(:[0-9A-Fa-f]{1,4}){1,6}",
    r"|:((:[0-9A-Fa-f]{1,4}){1,7}|:)",
    r")\]",
    ")",
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?",
    r"([/?#][!-~]*)?$",
);

/// An event pattern as the server accepts it
/// ([`crate::delivery::matching::validate_patterns`]): `*`, `prefix.*`, or
/// an exact type (anything without `*`).
pub(crate) const EVENT_PATTERN: &str = r"^(\*|[^*]+|[^*]*\.\*)$";

fn string_or_null(nullable: bool, base: Type) -> SchemaType {
    if nullable {
        SchemaType::from_iter([base, Type::Null])
    } else {
        base.into()
    }
}

fn url_property(nullable: bool, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(string_or_null(nullable, Type::String))
        .pattern(Some(URL_PATTERN))
        .description(Some(description))
        .build()
        .into()
}

fn url_schema() -> RefOr<Schema> {
    url_property(
        false,
        "`http(s)://` URL deliveries are POSTed to: ASCII, the host a name \
         (letters, digits, `_` and inner `-`, `xn--` names included, the last label starting with a \
         letter), an IPv4 address or a bracketed IPv6 address. Other URLs, and \
         private, loopback or link-local addresses (unless `--outbound-allowlist` \
         permits them) are refused with `endpoint_not_allowed`.",
    )
}

fn url_patch_schema() -> RefOr<Schema> {
    url_property(true, "New URL (the same rules as at creation).")
}

fn events_property(nullable: bool, description: &str) -> RefOr<Schema> {
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .pattern(Some(EVENT_PATTERN));
    ArrayBuilder::new()
        .schema_type(string_or_null(nullable, Type::Array))
        .items(item)
        .min_items(Some(1))
        .description(Some(description))
        .build()
        .into()
}

fn events_schema() -> RefOr<Schema> {
    events_property(
        false,
        "Event types: exact (`post.created`), prefix (`post.*`) or `*`. \
         (Event types are 1–256 letters, digits and `. _ - : /`: other exact \
         patterns never match.)",
    )
}

fn events_patch_schema() -> RefOr<Schema> {
    events_property(true, "New event list (the same rules as at creation).")
}

/// The keys of a filter condition as the server accepts them
/// ([`crate::delivery::matching::filter::Filter::compile`]): a combinator,
/// or a path: `type`, `data`, or `data` followed by `.`-separated non-empty
/// keys.
pub(crate) const FILTER_KEY_PATTERN: &str = r"^(\$and|\$or|\$not|type|data(\.[^.]+)*)$";

/// Keys of an object compared whole under a path (a bare value): any key
/// not starting with `$` (an object with one is a set of operators).
pub(crate) const PLAIN_KEY_PATTERN: &str = r"^([^$]|$)";

/// An example filter, in the document and checked by the tests.
pub(crate) fn filter_example() -> Value {
    json!({
        "type": {"$startsWith": "invoice."},
        "data.amount": {"$gte": 100},
        "$or": [
            {"data.currency": {"$in": ["EUR", "USD"]}},
            {"$not": {"data.customer.tier": "free"}}
        ]
    })
}

/// The filter grammar, for the document: the `EndpointFilter` schema. The
/// filter itself is a JSON value, checked by
/// [`crate::delivery::matching::filter::Filter::compile`].
pub(crate) struct EndpointFilter;

impl utoipa::PartialSchema for EndpointFilter {
    fn schema() -> RefOr<Schema> {
        let condition = || Ref::from_schema_name("EndpointFilter");
        let conditions = || ArrayBuilder::new().items(condition()).min_items(Some(1));
        let mut operators = ObjectBuilder::new()
            .schema_type(Type::Object)
            .min_properties(Some(1))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for op in OPERATORS {
            let operand = match op {
                "$eq" | "$neq" => Object::with_type(SchemaType::AnyValue),
                "$gt" | "$gte" | "$lt" | "$lte" => {
                    Object::with_type(SchemaType::from_iter([Type::Number, Type::String]))
                }
                "$in" | "$nin" => Object::with_type(Type::Array),
                "$exists" => Object::with_type(Type::Boolean),
                _ => Object::with_type(Type::String),
            };
            operators = operators.property(op, operand);
        }
        let bare_value = Object::with_type(SchemaType::from_iter([
            Type::Null,
            Type::Boolean,
            Type::Number,
            Type::String,
            Type::Array,
        ]));
        let bare_object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(PLAIN_KEY_PATTERN)),
            ));
        let at_path = AnyOfBuilder::new()
            .item(bare_value)
            .item(bare_object)
            .item(operators);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("$and", conditions())
            .property("$or", conditions())
            .property("$not", condition())
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(FILTER_KEY_PATTERN)),
            ))
            .additional_properties(Some(Schema::AnyOf(at_path.build())))
            .description(Some(filter_description()))
            .examples([filter_example()])
            .into()
    }
}

impl ToSchema for EndpointFilter {
    fn name() -> Cow<'static, str> {
        "EndpointFilter".into()
    }
}

fn filter_description() -> String {
    format!(
        "Operator filter: only events that pass it are delivered. An object whose keys are \
         paths of the delivery envelope, `type`, `data` or `data.` followed by dotted keys \
         (a number indexes an array: `data.lines.0.sku`), or {combinators}: `$and` and `$or` \
         take a non-empty array of filters, `$not` one filter. All keys of an object must hold. \
         Under a path goes a bare value (the same as `$eq`) or an object of operators, all of \
         which must hold: {operators}. `$gt`, `$gte`, `$lt` and `$lte` take a number or a string \
         and compare numbers with numbers and strings with strings (by code point), never \
         across types; `$eq`, `$neq`, `$in` and `$nin` (arrays) use JSON equality, numbers by \
         value (`1` equals `1.0`); `$exists` takes a boolean; `$startsWith` and `$endsWith` \
         take a string and pass strings only. A missing path passes only `$exists: false`, \
         `$neq` and `$nin`. At most {MAX_FILTER_BYTES} bytes of JSON and {MAX_FILTER_DEPTH} \
         levels of nesting. Example: {example}",
        combinators = COMBINATORS.map(|c| format!("`{c}`")).join(", "),
        operators = OPERATORS.map(|o| format!("`{o}`")).join(", "),
        example = filter_example(),
    )
}

/// `filter` of a request or an endpoint: an [`EndpointFilter`] or `null`.
fn filter_property(description: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(Object::with_type(Type::Null))
        .item(Ref::from_schema_name("EndpointFilter"))
        .description(Some(description))
        .into()
}

fn filter_schema() -> RefOr<Schema> {
    filter_property(
        "Operator filter on the envelope (see `EndpointFilter`), checked besides `filters`; \
         absent or `null`: none. A filter the server refuses gets `400 invalid_request` with \
         a message pointing at the bad part (`filter.$and[1].data.amount: unknown operator $gtt`).",
    )
}

fn filter_patch_schema() -> RefOr<Schema> {
    filter_property("New operator filter (the same rules as at creation); `null` removes it.")
}

fn filter_out_schema() -> RefOr<Schema> {
    filter_property("Operator filter on the envelope, `null` when there is none.")
}

/// `headers` of a request or an endpoint: names and values as
/// [`headers::check`] accepts them.
fn headers_property(nullable: bool, refuse: bool, description: &str) -> RefOr<Schema> {
    let mut name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_HEADER_NAME_BYTES))
        .pattern(Some(headers::NAME_PATTERN));
    if refuse {
        // utoipa has no `not`; extensions are written into the schema
        // object as they are (`from_iter` adds no `x-` prefix).
        name = name.extensions(Some(Extensions::from_iter([(
            "not",
            json!({"pattern": headers::reserved_pattern()}),
        )])));
    }
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_HEADER_VALUE_BYTES))
        .pattern(Some(headers::VALUE_PATTERN));
    ObjectBuilder::new()
        .schema_type(string_or_null(nullable, Type::Object))
        .max_properties(Some(MAX_ENDPOINT_HEADERS))
        .property_names(Some(name))
        .additional_properties(Some(value))
        .description(Some(description))
        .examples([json!({"Authorization": "Bearer 3f9a…", "X-Team": "billing"})])
        .into()
}

fn headers_schema() -> RefOr<Schema> {
    headers_property(
        false,
        true,
        &format!(
            "Static headers added to every delivery: at most {MAX_ENDPOINT_HEADERS}, names HTTP \
             tokens of at most {MAX_HEADER_NAME_BYTES} characters, values at most \
             {MAX_HEADER_VALUE_BYTES} printable ASCII characters with spaces or tabs only \
             between them. The headers hookhost sets cannot be overridden: any name starting \
             with `{prefix}` and, in any case, {reserved} (refused with `400 invalid_request` \
             naming the header).",
            prefix = headers::RESERVED_PREFIX,
            reserved = headers::RESERVED_HEADERS
                .map(|h| format!("`{h}`"))
                .join(", "),
        ),
    )
}

fn headers_patch_schema() -> RefOr<Schema> {
    headers_property(
        true,
        true,
        "New custom headers, replacing all of them (the same rules as at creation); \
         `null` or `{}` removes them.",
    )
}

fn headers_out_schema() -> RefOr<Schema> {
    headers_property(false, false, "Static headers added to every delivery.")
}

/// The scheme-dependent form of `secret` in `POST /v1/endpoints`, added to
/// the derived `EndpointIn` schema by the document: a `whsk_` key with
/// `standard-ed25519`, the shared-secret form otherwise.
pub(crate) fn endpoint_in_schema(derived: RefOr<Schema>) -> RefOr<Schema> {
    let names = |pick: fn(SignatureScheme) -> bool| -> Vec<Value> {
        SignatureScheme::ALL
            .into_iter()
            .filter(|s| pick(*s))
            .map(|s| json!(s))
            .collect()
    };
    let key_pair = ObjectBuilder::new()
        .property(
            "signature",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names(SignatureScheme::uses_key_pair))),
        )
        .required("signature")
        .property(
            "secret",
            ObjectBuilder::new()
                .schema_type(string_or_null(true, Type::String))
                .pattern(Some(SIGNING_KEY_PATTERN)),
        );
    let shared = ObjectBuilder::new().property(
        "signature",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names(|s| !s.uses_key_pair()))),
    );
    let rule = AnyOfBuilder::new().item(key_pair).item(shared).build();
    match derived {
        // utoipa's objects have no `anyOf`: it goes in as an extension
        // (written as it is: `from_iter` adds no `x-` prefix), beside the
        // properties, so that they stay where clients look for them.
        RefOr::T(Schema::Object(mut object)) => {
            let rule = serde_json::to_value(&rule).expect("a schema serializes")["anyOf"].take();
            object
                .extensions
                .get_or_insert_with(Default::default)
                .merge(Extensions::from_iter([("anyOf", rule)]));
            RefOr::T(Schema::Object(object))
        }
        other => AllOfBuilder::new()
            .item(other)
            .item(Schema::AnyOf(rule))
            .into(),
    }
}

/// A field that may be given as `null`: absent is `None`, `null` is
/// `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Whether `url` matches [`URL_PATTERN`], checked by hand (hookhost has no
/// regular-expression engine).
fn url_has_form(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if !tail.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let host_port = match authority.split_once('@') {
        Some((user_info, host_port)) => {
            let ok = user_info
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~!$&'()*+,;=:%-".contains(&b));
            if !ok {
                return false;
            }
            host_port
        }
        None => authority,
    };
    let (host_ok, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            // The pattern's IPv6 forms are those of `Ipv6Addr` without an
            // embedded IPv4 address.
            Some((ip, port)) => (!ip.contains('.') && ip.parse::<Ipv6Addr>().is_ok(), port),
            None => return false,
        },
        None => {
            let (host, port) = host_port.split_at(host_port.find(':').unwrap_or(host_port.len()));
            (is_ipv4(host) || is_host_name(host), port)
        }
    };
    host_ok && (port.is_empty() || port.strip_prefix(':').is_some_and(is_port))
}

/// Four decimal numbers 0–255 without leading zeros, joined by `.`.
fn is_ipv4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| is_decimal(p, 255))
}

/// A decimal number without leading zeros, at most `max`.
fn is_decimal(s: &str, max: u32) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'))
        && s.parse::<u32>().is_ok_and(|n| n <= max)
}

fn is_port(port: &str) -> bool {
    is_decimal(port, 65535)
}

/// Labels of letters, digits and `_` joined by `-` (`xn--` names too), separated by
/// `.` (one final `.` allowed); the last label starts with a letter, so that
/// the name is never read as an IPv4 number.
fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    host.split('.').all(label_ok)
        && host
            .rsplit('.')
            .next()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Refuses a URL not of the documented form, with the code the delivery
/// layer gives URLs it cannot use.
fn check_url_form(url: &str) -> Result<(), ApiError> {
    if url_has_form(url) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "endpoint_not_allowed",
        format!(
            "endpoint URL {url:?} is not of the form http(s)://host[:port][/path]: \
             the host a name (ASCII letters, digits, `_`, inner `-`, the last label \
             starting with a letter), an IPv4 address or a bracketed IPv6 address; \
             printable ASCII throughout"
        ),
    ))
}

/// Checks a secret given by the client: 16–256 printable ASCII characters
/// without spaces, the document's `^[!-~]{16,256}$`. (The outbound layer
/// counts bytes and Unicode whitespace; ASCII makes the two agree.) The
/// outbound layer checks the `whsk_` keys of `standard-ed25519`, of the
/// form [`SIGNING_KEY_PATTERN`].
fn check_secret(secret: Option<&str>) -> Result<(), ApiError> {
    match secret {
        Some(s) if !((16..=256).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())) => {
            Err(ApiError::invalid(
                "secret must be 16-256 printable ASCII characters without spaces",
            ))
        }
        _ => Ok(()),
    }
}

/// Body of `POST /v1/endpoints`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointIn {
    #[schema(schema_with = url_schema)]
    url: String,
    #[schema(schema_with = events_schema)]
    events: Vec<String>,
    /// Equality filters on fields of the event's `data` (dotted paths allowed).
    #[serde(default)]
    #[schema(value_type = Object)]
    filters: Map<String, Value>,
    #[serde(default)]
    #[schema(schema_with = filter_schema)]
    filter: Option<Value>,
    /// Attempts per second (with an optional burst); absent or `null`: no limit.
    /// Excess deliveries wait, they do not fail.
    rate_limit: Option<RateLimit>,
    /// `parallel` (default) or `fifo`: attempted in acceptance order, one
    /// at a time.
    #[serde(default)]
    ordering: DeliveryOrder,
    /// Free text.
    #[serde(default)]
    description: String,
    /// An inactive endpoint gets no deliveries.
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    #[schema(schema_with = headers_schema)]
    headers: BTreeMap<String, String>,
    /// The shared secret: 16–256 printable ASCII characters without spaces
    /// (e.g. `whsec_` + base64 of 32 random bytes); for `standard-ed25519`,
    /// the Ed25519 private key, `whsk_` + base64 of its 32 bytes. Generated
    /// when absent.
    #[schema(min_length = 16, max_length = 256, pattern = "^[!-~]{16,256}$")]
    secret: Option<String>,
    /// Signature scheme of deliveries.
    #[serde(default)]
    signature: SignatureScheme,
    /// A transform module of the workspace (`hookhost:transformer` world)
    /// run on each delivery's message before it is first sent
    /// (docs/transforms.md).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    transform: Option<String>,
}

fn yes() -> bool {
    true
}

/// Body of `PATCH /v1/endpoints/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointPatchIn {
    #[schema(schema_with = url_patch_schema)]
    url: Option<String>,
    #[schema(schema_with = events_patch_schema)]
    events: Option<Vec<String>>,
    /// New filters.
    #[schema(value_type = Option<Object>)]
    filters: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = filter_patch_schema)]
    filter: Option<Option<Value>>,
    /// New rate limit; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RateLimit>, nullable)]
    rate_limit: Option<Option<RateLimit>>,
    /// New delivery order.
    ordering: Option<DeliveryOrder>,
    /// Free text.
    description: Option<String>,
    /// Enable (clears the failing streak) or disable.
    active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = headers_patch_schema)]
    headers: Option<Option<BTreeMap<String, String>>>,
    /// New signature scheme. Switching between `standard-ed25519` and a
    /// shared-secret scheme generates a secret of the new kind (see
    /// `GET /v1/endpoints/{id}/secret`) and ends the grace of rotated-out
    /// ones; between shared-secret schemes the secret stays.
    signature: Option<SignatureScheme>,
    /// New transform module; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    transform: Option<Option<String>>,
}

/// An endpoint as listed: the secret only as a hint.
#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointOut {
    /// `ep_...`.
    id: String,
    /// Where deliveries go.
    url: String,
    /// Subscribed event types.
    events: Vec<String>,
    /// Equality filters on the event's `data`.
    #[schema(value_type = Object)]
    filters: Map<String, Value>,
    #[schema(schema_with = filter_out_schema)]
    filter: Option<Value>,
    /// Attempts per second, `null` when unlimited.
    rate_limit: Option<RateLimit>,
    /// Delivery order.
    ordering: DeliveryOrder,
    /// Free text.
    description: String,
    /// Whether it gets deliveries.
    active: bool,
    #[schema(schema_with = headers_out_schema)]
    headers: BTreeMap<String, String>,
    /// Signature scheme.
    signature: SignatureScheme,
    /// The first characters of the secret (of the public key, `whpk_…`,
    /// for `standard-ed25519`).
    secret_hint: String,
    /// Why it was disabled automatically (410, or failing too long).
    disabled_reason: Option<String>,
    /// Start of the current failing streak.
    failing_since: Option<DateTime<Utc>>,
    /// The transform module, if any.
    transform: Option<String>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    updated_at: DateTime<Utc>,
}

/// An endpoint with its full secret (creation and rotation only).
#[derive(Serialize, ToSchema)]
pub(crate) struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointOut,
    /// What receivers verify with: the full shared secret (`whsec_…`), or
    /// for `standard-ed25519` the public key, `whpk_…` (the private key
    /// never leaves hookhost).
    secret: String,
}

/// Answer of `GET /v1/endpoints/{id}/secret`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SecretOut {
    /// The current secret, or for `standard-ed25519` the public key,
    /// `whpk_…` (never the private key).
    secret: String,
    /// Rotated-out secrets still signing, with when they stop.
    retired: Vec<RetiredOut>,
}

/// A rotated-out secret still in its grace period.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetiredOut {
    /// When it stops signing.
    expires_at: DateTime<Utc>,
    /// Its public key, `whpk_…`, for `standard-ed25519`; `null` otherwise
    /// (shared secrets are not shown again).
    public_key: Option<String>,
}

/// What may be shown of `secret` (of an endpoint signing with `scheme`):
/// the secret itself, or the public key of a `whsk_` private key.
fn verifying_secret(scheme: SignatureScheme, secret: &str) -> String {
    if scheme.uses_key_pair() {
        // Keys are checked when stored; never fall back to the private key.
        signing::public_key(secret).unwrap_or_default()
    } else {
        secret.to_string()
    }
}

/// Answer of `POST /v1/endpoints/{id}/recover`.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecoverOut {
    /// Failed deliveries queued again.
    requeued: usize,
}

/// Answer of `POST /v1/endpoints/{id}/test`.
#[derive(Serialize, ToSchema)]
pub(crate) struct TestOut {
    /// Whether the endpoint answered 2xx.
    success: bool,
    /// The delivery of the `webhook.test` event.
    delivery_id: String,
    /// The `webhook.test` event.
    event_id: String,
    /// The endpoint's status code, if it answered.
    status_code: Option<u16>,
    /// Time to the answer or the error.
    latency_ms: Option<f64>,
    /// First 4 KiB of the answer.
    response_body: Option<String>,
    /// Why it failed, if it did.
    error: Option<String>,
}

/// [`endpoint_out`] for `caller`: a read-only caller sees header values
/// only as hints (they often carry the receiver's credentials).
fn endpoint_out_for(caller: &Caller, ep: EndpointRecord) -> EndpointOut {
    let mut out = endpoint_out(ep);
    if caller.read_only() {
        for v in out.headers.values_mut() {
            *v = hint(v);
        }
    }
    out
}

/// The first characters of a value, and an ellipsis.
pub(super) fn hint(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    format!("{shown}…")
}

fn endpoint_out(ep: EndpointRecord) -> EndpointOut {
    let hint: String = verifying_secret(ep.signature, &ep.secret)
        .chars()
        .take(9)
        .collect();
    EndpointOut {
        id: ep.id,
        url: ep.url,
        events: ep.events,
        filters: ep.filters,
        filter: ep.filter,
        rate_limit: ep.rate_limit,
        ordering: ep.ordering,
        description: ep.description,
        active: ep.active,
        headers: ep.headers,
        signature: ep.signature,
        secret_hint: format!("{hint}…"),
        disabled_reason: ep.disabled_reason,
        failing_since: ep.failing_since,
        transform: ep.transform,
        created_at: ep.created_at,
        updated_at: ep.updated_at,
    }
}

/// The endpoint with its full secret (creation and rotation only).
fn with_secret(ep: EndpointRecord) -> EndpointWithSecret {
    let secret = verifying_secret(ep.signature, &ep.secret);
    EndpointWithSecret {
        endpoint: endpoint_out(ep),
        secret,
    }
}

/// Checks that `name` is a transform module of the caller's workspace; a
/// portal link cannot set transforms (modules are the operator's).
fn check_transform(state: &AppState, caller: &Caller, name: &str) -> Result<(), ApiError> {
    if matches!(caller.access, Access::Portal { .. }) {
        return Err(ApiError::forbidden(
            "a portal link cannot change an endpoint's transform",
        ));
    }
    match state.registry.module(&caller.workspace_id, name) {
        Some(m) if m.handler.kind() == ComponentKind::Transformer => Ok(()),
        Some(_) => Err(ApiError::invalid(format!(
            "transform: module {name:?} is a webhook handler, not a transform \
             (a component of the `hookhost:transformer` world)"
        ))),
        None if super::modules::valid_module_name(name) => Err(ApiError::not_found(format!(
            "transform: no module {name:?}: upload the transform first"
        ))),
        None => Err(ApiError::invalid(
            "transform: module names are 1-64 characters of letters, digits, '-', '_' or '.'",
        )),
    }
}

/// Endpoint `id` if it is in the caller's workspace; 404 otherwise, as for
/// an id that does not exist.
pub(super) async fn own_endpoint(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<EndpointRecord, ApiError> {
    state
        .outbound
        .store()
        .get_endpoint(id)
        .await?
        .filter(|e| e.workspace_id == caller.workspace_id)
        .ok_or_else(|| ApiError::not_found(format!("no endpoint {id:?}")))
}

/// Subscribes a URL to events; the answer carries the full secret.
#[utoipa::path(post, path = "/v1/endpoints", tag = "endpoints", request_body = EndpointIn,
    responses((status = 201, description = "Created", body = EndpointWithSecret), ErrorResponses))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EndpointIn>,
) -> Result<impl IntoResponse, ApiError> {
    check_url_form(&body.url)?;
    check_secret(body.secret.as_deref())?;
    if let Some(t) = &body.transform {
        check_transform(&state, &caller, t)?;
    }
    let new = NewEndpoint {
        transform: body.transform,
        max_endpoints: state
            .quotas(&caller.workspace_id)
            .max_endpoints
            .map(|m| m as usize),
        workspace_id: caller.workspace_id,
        url: body.url,
        events: body.events,
        filters: body.filters,
        filter: body.filter,
        rate_limit: body.rate_limit,
        ordering: body.ordering,
        description: body.description,
        active: body.active,
        headers: body.headers,
        secret: body.secret,
        signature: body.signature,
    };
    let ep = state.outbound.create_endpoint(new).await?;
    Ok((StatusCode::CREATED, Json(with_secret(ep))))
}

/// Every endpoint (one page), secrets as hints only.
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints",
    responses((status = 200, description = "The endpoints", body = Page<EndpointOut>), ErrorResponses))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<EndpointOut>>, ApiError> {
    let data: Vec<_> = state
        .outbound
        .endpoints()
        .await?
        .into_iter()
        .filter(|e| e.workspace_id == caller.workspace_id)
        .map(|e| endpoint_out_for(&caller, e))
        .collect();
    Ok(Json(Page {
        data,
        next_cursor: None,
    }))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The endpoint", body = EndpointOut), ErrorResponses))]
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EndpointOut>, ApiError> {
    Ok(Json(endpoint_out_for(
        &caller,
        own_endpoint(&state, &caller, &id).await?,
    )))
}

/// Changes an endpoint; absent fields stay as they are.
#[utoipa::path(patch, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")), request_body = EndpointPatchIn,
    responses((status = 200, description = "The changed endpoint", body = EndpointOut), ErrorResponses))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndpointPatchIn>,
) -> Result<Json<EndpointOut>, ApiError> {
    own_endpoint(&state, &caller, &id).await?;
    if let Some(url) = &body.url {
        check_url_form(url)?;
    }
    if let Some(t) = &body.transform {
        match t {
            Some(t) => check_transform(&state, &caller, t)?,
            None if matches!(caller.access, Access::Portal { .. }) => {
                return Err(ApiError::forbidden(
                    "a portal link cannot change an endpoint's transform",
                ));
            }
            None => {}
        }
    }
    let patch = EndpointPatch {
        transform: body.transform,
        url: body.url,
        events: body.events,
        filters: body.filters,
        filter: body.filter,
        rate_limit: body.rate_limit,
        ordering: body.ordering,
        description: body.description,
        active: body.active,
        headers: body.headers.map(Option::unwrap_or_default),
        signature: body.signature,
    };
    Ok(Json(endpoint_out(
        state.outbound.update_endpoint(&id, patch).await?,
    )))
}

/// Deletes an endpoint; its pending deliveries fail.
#[utoipa::path(delete, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 204, description = "Deleted"), ErrorResponses))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    own_endpoint(&state, &caller, &id).await?;
    state.outbound.delete_endpoint(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The full current secret (the public key for `standard-ed25519`), plus
/// when rotated-out ones stop signing.
#[utoipa::path(get, path = "/v1/endpoints/{id}/secret", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The secret", body = SecretOut), ErrorResponses))]
pub(crate) async fn secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SecretOut>, ApiError> {
    let ep = own_endpoint(&state, &caller, &id).await?;
    let retired: Vec<_> = ep
        .retired_secrets
        .iter()
        .filter(|r| r.expires_at > Utc::now())
        .map(|r| RetiredOut {
            expires_at: r.expires_at,
            public_key: ep
                .signature
                .uses_key_pair()
                .then(|| verifying_secret(ep.signature, &r.secret)),
        })
        .collect();
    Ok(Json(SecretOut {
        secret: verifying_secret(ep.signature, &ep.secret),
        retired,
    }))
}

/// Body of `POST /v1/endpoints/{id}/rotate-secret` (optional).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateIn {
    /// The new secret (16–256 printable ASCII characters without spaces);
    /// for a `standard-ed25519` endpoint a `whsk_` private key (`whsk_` +
    /// base64 of 32 bytes; anything else is `409 conflict`). Generated when
    /// absent.
    #[schema(min_length = 16, max_length = 256, pattern = "^[!-~]{16,256}$")]
    secret: Option<String>,
}

/// Replaces the secret; the old one keeps signing for the grace period.
#[utoipa::path(post, path = "/v1/endpoints/{id}/rotate-secret", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")),
    request_body(content = Option<RotateIn>, description = "Optional; empty (or `null`) means generate"),
    responses((status = 200, description = "The endpoint with its new secret", body = EndpointWithSecret), ErrorResponses))]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    own_endpoint(&state, &caller, &id).await?;
    // The body is optional: empty (or JSON `null`, as the document's
    // nullable body allows) means "generate a new secret".
    let secret = crate::api::error::optional_json_object::<RotateIn>(&body)?.and_then(|r| r.secret);
    check_secret(secret.as_deref())?;
    Ok(Json(with_secret(
        state.outbound.rotate_secret(&id, secret).await?,
    )))
}

/// Body of `POST /v1/endpoints/{id}/recover`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoverIn {
    /// Re-send failed deliveries created at or after this time.
    since: DateTime<Utc>,
}

/// Re-sends the endpoint's failed deliveries created since a time.
#[utoipa::path(post, path = "/v1/endpoints/{id}/recover", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")), request_body = RecoverIn,
    responses((status = 202, description = "Queued", body = RecoverOut), ErrorResponses))]
pub(crate) async fn recover(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecoverIn>,
) -> Result<impl IntoResponse, ApiError> {
    own_endpoint(&state, &caller, &id).await?;
    let n = state.outbound.recover(&id, body.since).await?;
    Ok((StatusCode::ACCEPTED, Json(RecoverOut { requeued: n })))
}

/// Sends a `webhook.test` event now and answers with the attempt.
#[utoipa::path(post, path = "/v1/endpoints/{id}/test", tag = "endpoints", params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The attempt's result", body = TestOut), ErrorResponses))]
pub(crate) async fn test(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TestOut>, ApiError> {
    own_endpoint(&state, &caller, &id).await?;
    let (delivery, attempt) = state.worker.test_send(&id).await?;
    let success = attempt
        .as_ref()
        .and_then(|a| a.status_code)
        .is_some_and(|c| (200..300).contains(&c));
    Ok(Json(TestOut {
        success,
        delivery_id: delivery.id,
        event_id: delivery.event_id,
        status_code: attempt.as_ref().and_then(|a| a.status_code),
        latency_ms: attempt.as_ref().map(|a| a.latency_ms),
        response_body: attempt.as_ref().map(|a| a.response_body.clone()),
        error: attempt
            .as_ref()
            .and_then(|a| a.error.clone())
            .or(delivery.last_error),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::matching::filter::{Envelope, Filter};
    use crate::delivery::matching::validate_patterns;

    #[test]
    fn url_form() {
        for ok in [
            "http://a",
            "https://example.com/hook?x=1#y",
            "http://user:p%40ss@hooks.example.com:8080/in",
            "http://@a",
            "http://my_service.internal./x",
            "http://a-b.c-d.e1",
            "http://1.2.3.4",
            "http://255.255.255.255:65535",
            "http://[::1]:9/",
            "http://[1:2:3:4:5:6:7:8]",
            "http://[1:2:3:4:5:6:7::]",
            "http://a:0",
            "http://xn--bcher-kva.example",
            "http://my--host.example.com/x",
            "http://a/\\[]%zz{}|^`",
        ] {
            assert!(url_has_form(ok), "{ok}");
        }
        for bad in [
            "",
            "http://",
            "http:///x",
            "HTTP://a",
            "ftp://a",
            "http://a b",
            "http://a/ b",
            "http://é.example",
            "http://-a.b",
            "http://a-.b",
            "http://a..b",
            "http://a.1",
            "http://0x7f",
            "http://01.2.3.4",
            "http://256.1.1.1",
            "http://1.2.3",
            "http://a*",
            "http://a@b@c",
            "http://a:",
            "http://a:080",
            "http://a:65536",
            "http://[::ffff:1.2.3.4]",
            "http://[::1",
            "http://[1:2:3:4:5:6:7:8::]",
            "http://a\n",
        ] {
            assert!(!url_has_form(bad), "{bad:?}");
        }
    }

    /// [`EVENT_PATTERN`], evaluated by hand: `*`, no `*` at all, or one
    /// `*` at the end after a `.`.
    fn matches_event_pattern(p: &str) -> bool {
        p == "*"
            || (!p.is_empty() && !p.contains('*'))
            || p.strip_suffix(".*")
                .is_some_and(|prefix| !prefix.contains('*'))
    }

    #[test]
    fn the_event_pattern_is_what_the_server_accepts() {
        assert_eq!(EVENT_PATTERN, r"^(\*|[^*]+|[^*]*\.\*)$");
        // Every string of up to 5 characters over an alphabet that covers
        // each case of the rule.
        let alphabet = ['a', '.', '*', ' ', 'é'];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for p in all {
            assert_eq!(
                validate_patterns(std::slice::from_ref(&p)).is_ok(),
                matches_event_pattern(&p),
                "{p:?}"
            );
        }
    }

    /// [`FILTER_KEY_PATTERN`], evaluated by hand: a combinator, `type`,
    /// or `data` followed by `.`-prefixed non-empty keys.
    fn matches_filter_key_pattern(k: &str) -> bool {
        ["$and", "$or", "$not", "type", "data"].contains(&k)
            || k.strip_prefix("data.")
                .is_some_and(|rest| rest.split('.').all(|s| !s.is_empty()))
    }

    /// Whether the server takes `key` as a key of a filter condition.
    fn key_accepted(key: &str) -> bool {
        let operand = match key {
            "$and" | "$or" => json!([{}]),
            "$not" => json!({}),
            _ => json!(1),
        };
        Filter::compile(&json!({ key: operand })).is_ok()
    }

    #[test]
    fn the_filter_key_pattern_is_what_the_server_accepts() {
        assert_eq!(
            FILTER_KEY_PATTERN,
            r"^(\$and|\$or|\$not|type|data(\.[^.]+)*)$"
        );
        // Every string of up to 6 characters over an alphabet that covers
        // each case of the rule, and the words of the grammar around them.
        let alphabet = ['d', '.', '$', 'a', 'é'];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for word in ["data", "type", "$and", "$or", "$not", "$eq", "$nor", "id"] {
            for tail in ["", ".", ".a", "..a", ".a.", ".0.é", "x", " "] {
                all.push(format!("{word}{tail}"));
            }
        }
        for k in all {
            assert_eq!(key_accepted(&k), matches_filter_key_pattern(&k), "{k:?}");
        }
    }

    /// Under a path, an object is a bare value exactly when no key starts
    /// with `$` ([`PLAIN_KEY_PATTERN`]); otherwise every key is an operator.
    #[test]
    fn bare_objects_and_operator_objects() {
        assert_eq!(PLAIN_KEY_PATTERN, r"^([^$]|$)");
        let plain = |k: &str| !k.starts_with('$');
        for k in ["", "a", "a$", " $", "é", "$", "$a", "$eq"] {
            let accepted = Filter::compile(&json!({"data.x": { k: 1 }})).is_ok();
            assert_eq!(accepted, plain(k) || k == "$eq", "{k:?}");
        }
        for op in OPERATORS {
            assert!(
                Filter::compile(&json!({"data.x": { op: 1, "a": 1 }})).is_err(),
                "{op} mixed with a plain key"
            );
        }
        assert!(
            Filter::compile(&json!({"data.x": {}})).is_ok(),
            "{{}} is a bare value"
        );
    }

    #[test]
    fn the_filter_example_is_accepted_and_means_what_it_says() {
        let example = Filter::compile(&filter_example()).unwrap();
        let data = json!({"amount": 120, "currency": "GBP", "customer": {"tier": "pro"}});
        let pass = |t: &str, d: &Value| example.matches(&Envelope::new(t, d));
        assert!(pass("invoice.paid", &data));
        assert!(!pass("order.paid", &data));
        assert!(!pass(
            "invoice.paid",
            &json!({"amount": 99, "currency": "EUR"})
        ));
        assert!(!pass(
            "invoice.paid",
            &json!({"amount": 100, "currency": "GBP", "customer": {"tier": "free"}})
        ));
    }

    #[test]
    fn secrets() {
        assert!(check_secret(None).is_ok());
        assert!(check_secret(Some(&"x".repeat(16))).is_ok());
        assert!(check_secret(Some(&"~".repeat(256))).is_ok());
        assert!(check_secret(Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).is_ok());
        for bad in [
            "x".repeat(15),
            "x".repeat(257),
            format!("{} x", "x".repeat(16)),
            "é".repeat(16),
            format!("{}\u{7f}", "x".repeat(16)),
        ] {
            assert!(check_secret(Some(&bad)).is_err(), "{bad:?}");
        }
    }
}
