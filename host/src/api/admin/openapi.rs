//! The OpenAPI 3.1 description of the admin API, generated from the
//! handlers' own request and response types (utoipa) and served at
//! `GET /v1/openapi.json`.

use super::scope::{self, Access};
use super::{
    deliveries, endpoints, event_types, events, logs, modules, portal, stats, webhooks, workspaces,
};
use crate::api::error::{ErrorBody, ErrorDetail};
use crate::tenancy::Role;
use axum::Json;
use utoipa::openapi::RefOr;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookhost admin API",
        description = "Modules, webhooks, invocations, events, emissions, endpoints, deliveries, \
                       workspaces, tokens, event types and the customer portal. Every route needs \
                       `Authorization: Bearer <token>`: the admin token (acting on the workspace \
                       named by `X-Hookhost-Workspace: ws_...` or `?workspace=`, else `default`), \
                       a workspace token (`hhk_...`, its own workspace only) or a portal link's \
                       credential (`hhp_...`). Each operation's `x-hookhost-access` lists who may \
                       call it. Every error is `{\"error\": {\"code\", \"message\"}}`. See \
                       docs/api.md, docs/outbound.md and docs/workspaces.md."
    ),
    paths(
        modules::upload, modules::list, modules::show, modules::remove,
        webhooks::create, webhooks::list, webhooks::show, webhooks::update, webhooks::remove,
        logs::invocations, logs::replay, logs::emissions,
        events::send, events::list,
        endpoints::create, endpoints::list, endpoints::show, endpoints::update, endpoints::remove,
        endpoints::secret, endpoints::rotate, endpoints::recover, endpoints::test,
        deliveries::list, deliveries::show, deliveries::retry,
        workspaces::create, workspaces::list, workspaces::show, workspaces::update,
        workspaces::remove, workspaces::create_token, workspaces::tokens,
        workspaces::revoke_token, workspaces::portal_link, workspaces::revoke_portal_links,
        event_types::put, event_types::list, event_types::show, event_types::remove,
        portal::session,
        stats::stats,
    ),
    components(schemas(ErrorBody, ErrorDetail, endpoints::EndpointFilter)),
    modifiers(&BearerToken, &OperationIds, &Links, &SecretBySignature, &WhoMayCall),
    security(("admin_token" = [])),
    tags(
        (name = "modules", description = "Handler components"),
        (name = "webhooks", description = "Webhook URLs and their invocation logs"),
        (name = "events", description = "Events (sent or published by handlers) and emissions"),
        (name = "endpoints", description = "Outbound subscribers"),
        (name = "deliveries", description = "Delivery status, attempts and retries"),
        (name = "workspaces", description = "Workspaces, their tokens and portal links (admin token only)"),
        (name = "event-types", description = "A workspace's event-type catalogue"),
        (name = "portal", description = "What the customer portal shows"),
        (name = "stats", description = "Health at a glance: delivery and invocation aggregates"),
    )
)]
pub struct ApiDoc;

/// Declares the `admin_token` bearer scheme every operation uses.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token (HOOKHOST_ADMIN_TOKEN, or generated into \
                         <data-dir>/admin-token), a workspace token (`hhk_...`) or a portal \
                         link's credential (`hhp_...`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The form of `secret` in `EndpointIn` depends on `signature`, which a
/// derived schema cannot say: see [`endpoints::endpoint_in_schema`].
struct SecretBySignature;

impl Modify for SecretBySignature {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(schemas) = openapi.components.as_mut().map(|c| &mut c.schemas) else {
            return;
        };
        if let Some(derived) = schemas.remove("EndpointIn") {
            schemas.insert("EndpointIn".into(), endpoints::endpoint_in_schema(derived));
        }
    }
}

/// Who may call each operation, from the same rules the middleware
/// applies ([`scope::check`]): `x-hookhost-access` lists them, and the
/// description says it in words.
struct WhoMayCall;

impl Modify for WhoMayCall {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::extensions::ExtensionsBuilder;
        let kinds = [
            ("admin_token", Access::Operator, "the admin token"),
            (
                "workspace_admin",
                Access::Token(Role::Admin),
                "workspace `admin` tokens",
            ),
            (
                "workspace_read",
                Access::Token(Role::Read),
                "workspace `read` tokens",
            ),
            (
                "portal",
                Access::Portal { read_only: false },
                "portal links",
            ),
            (
                "portal_read_only",
                Access::Portal { read_only: true },
                "read-only portal links",
            ),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            let route = path.trim_start_matches("/v1").to_string();
            for (method, op) in operations(item) {
                let m: axum::http::Method = method.to_uppercase().parse().expect("an HTTP method");
                let allowed: Vec<_> = kinds
                    .iter()
                    .filter(|(_, access, _)| scope::check(*access, &m, &route).is_ok())
                    .collect();
                let names: Vec<_> = allowed.iter().map(|(n, _, _)| *n).collect();
                let words: Vec<_> = allowed.iter().map(|(_, _, w)| *w).collect();
                let ext = ExtensionsBuilder::new()
                    .add("x-hookhost-access", serde_json::json!(names))
                    .build();
                match &mut op.extensions {
                    Some(e) => e.merge(ext),
                    None => op.extensions = Some(ext),
                }
                let who = format!("Who may call: {}.", words.join(", "));
                op.description = Some(match op.description.take() {
                    Some(d) if !d.is_empty() => format!("{d}\n\n{who}"),
                    _ => who,
                });
            }
        }
    }
}

/// Unique operation ids, from method and path: `get_v1_webhooks_id`.
/// (utoipa would use the handler names, which repeat across resources.)
struct OperationIds;

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.push_str(&part.trim_matches(['{', '}']).replace('-', "_"));
    }
    id
}

/// The operations of a path item, with their methods.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("put", item.put.as_mut()),
        ("patch", item.patch.as_mut()),
        ("delete", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                op.operation_id = Some(operation_id(method, path));
            }
        }
    }
}

/// OpenAPI links from the operations that create things to the operations
/// that take their ids, so that clients (and schemathesis'
/// stateful phase) can follow them.
struct Links;

/// Links from one response (`from`: method, path, status) to operations
/// taking `parameter` from `value` (a runtime expression).
struct LinkPlan {
    from: (&'static str, &'static str, &'static str),
    value: &'static str,
    parameter: &'static str,
    to: &'static [(&'static str, &'static str)],
}

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let plan = [
            LinkPlan {
                from: ("post", "/v1/webhooks", "201"),
                value: "$response.body#/id",
                parameter: "id",
                to: &[
                    ("get", "/v1/webhooks/{id}"),
                    ("patch", "/v1/webhooks/{id}"),
                    ("delete", "/v1/webhooks/{id}"),
                    ("get", "/v1/webhooks/{id}/invocations"),
                ],
            },
            LinkPlan {
                from: ("post", "/v1/endpoints", "201"),
                value: "$response.body#/id",
                parameter: "id",
                to: &[
                    ("get", "/v1/endpoints/{id}"),
                    ("patch", "/v1/endpoints/{id}"),
                    ("delete", "/v1/endpoints/{id}"),
                    ("get", "/v1/endpoints/{id}/secret"),
                    ("post", "/v1/endpoints/{id}/rotate-secret"),
                    ("post", "/v1/endpoints/{id}/recover"),
                    ("post", "/v1/endpoints/{id}/test"),
                ],
            },
            LinkPlan {
                from: ("post", "/v1/modules", "201"),
                value: "$response.body#/name",
                parameter: "name",
                to: &[
                    ("get", "/v1/modules/{name}"),
                    ("delete", "/v1/modules/{name}"),
                ],
            },
        ];
        for LinkPlan {
            from: (method, path, status),
            value,
            parameter: param,
            to: targets,
        } in plan
        {
            let Some(item) = openapi.paths.paths.get_mut(path) else {
                continue;
            };
            let Some((_, op)) = operations(item).into_iter().find(|(m, _)| *m == method) else {
                continue;
            };
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) else {
                continue;
            };
            for (target_method, target_path) in targets {
                let id = operation_id(target_method, target_path);
                let link = LinkBuilder::new()
                    .operation_id(id.clone())
                    .parameter(param, value)
                    .build();
                response.links.insert(id, RefOr::T(link));
            }
        }
    }
}

/// The document as JSON. utoipa 5.5 serializes a link's operation id as
/// `operation_id`; OpenAPI says `operationId`, so links are fixed here.
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    // `get_mut`, not indexing: indexing a JSON object inserts `null`s.
    let responses = doc
        .get_mut("paths")
        .and_then(|p| p.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response.get_mut("links").and_then(|l| l.as_object_mut());
        for link in links.into_iter().flat_map(|l| l.values_mut()) {
            if let Some(link) = link.as_object_mut()
                && let Some(id) = link.remove("operation_id")
            {
                link.insert("operationId".into(), id);
            }
        }
    }
    doc
}

/// `GET /v1/openapi.json` (no token: it holds no data). Built once.
pub(super) async fn document() -> Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(document_json).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `(METHOD, /v1 path)` of every route the admin routers register, read
    /// from their source, so that a route added without documentation fails.
    fn registered_routes() -> BTreeSet<(String, String)> {
        let sources = [
            include_str!("modules.rs"),
            include_str!("webhooks.rs"),
            include_str!("logs.rs"),
            include_str!("events.rs"),
            include_str!("endpoints.rs"),
            include_str!("deliveries.rs"),
            include_str!("workspaces.rs"),
            include_str!("event_types.rs"),
            include_str!("portal.rs"),
            include_str!("stats.rs"),
        ];
        let mut routes = BTreeSet::new();
        for src in sources {
            let mut rest = src;
            while let Some(at) = rest.find(".route(") {
                let call = &rest[at + ".route(".len()..];
                // The call's text, up to its closing parenthesis.
                let mut depth = 1;
                let end = call
                    .char_indices()
                    .find(|&(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map(|(i, _)| i)
                    .expect("balanced .route(...)");
                let call = &call[..end];
                let path = call.split('"').nth(1).expect("a path literal");
                for method in ["get", "post", "put", "patch", "delete"] {
                    let called = call
                        .match_indices(&format!("{method}("))
                        .any(|(i, _)| i == 0 || !call.as_bytes()[i - 1].is_ascii_alphanumeric());
                    if called {
                        routes.insert((method.to_uppercase(), format!("/v1{path}")));
                    }
                }
                rest = &rest[at + 1..];
            }
        }
        routes
    }

    fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_admin_route_is_documented_and_nothing_else() {
        let doc = document_json();
        let registered = registered_routes();
        assert!(registered.len() >= 25, "routes found: {registered:?}");
        let documented = documented_routes(&doc);
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
        let phantom: Vec<_> = documented.difference(&registered).collect();
        assert!(
            phantom.is_empty(),
            "documented routes that do not exist: {phantom:?}"
        );
    }

    /// Every `$ref` in `v`, recursively.
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_string()),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document_json();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "unresolvable reference {r}"
            );
        }
    }

    #[test]
    fn operation_ids_are_unique_and_links_point_at_them() {
        let doc = document_json();
        let mut ids = BTreeSet::new();
        let mut links = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()));
                for response in op["responses"].as_object().unwrap().values() {
                    assert!(response.get("links").is_none_or(|l| l.is_object()));
                    if let Some(l) = response["links"].as_object() {
                        links.extend(
                            l.values()
                                .map(|l| l["operationId"].as_str().unwrap().to_string()),
                        );
                    }
                }
            }
        }
        assert_eq!(ids.len(), 42);
        assert!(ids.contains("get_v1_webhooks_id_invocations"), "{ids:?}");
        assert_eq!(links.len(), 13, "{links:?}");
        for l in links {
            assert!(ids.contains(&l), "link to unknown operation {l}");
        }
    }

    /// The constraints the server enforces on parameters and bodies are in
    /// the document, from the same constants where there are constants.
    #[test]
    fn the_document_states_the_constraints_the_server_enforces() {
        let doc = document_json();
        let (mut limits, mut cursors) = (0, 0);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    let schema = &param["schema"];
                    match param["name"].as_str().unwrap() {
                        "limit" => {
                            limits += 1;
                            assert_eq!(schema["minimum"], 1, "{method} {path}");
                            assert_eq!(
                                schema["maximum"],
                                crate::config::MAX_PAGE,
                                "{method} {path}"
                            );
                        }
                        "after" | "before" => {
                            cursors += 1;
                            let pattern = schema["pattern"].as_str().unwrap_or_default();
                            let prefix = pattern
                                .strip_prefix('^')
                                .and_then(|p| p.strip_suffix("_[0-9a-f]{32}$"))
                                .unwrap_or_else(|| panic!("{method} {path}: cursor {pattern:?}"));
                            let (id, _) = crate::store::ids::new(prefix);
                            assert!(super::super::logs::is_id(prefix, &id), "{id}");
                        }
                        _ => {}
                    }
                }
            }
        }
        assert_eq!((limits, cursors), (5, 5));

        let schemas = &doc["components"]["schemas"];
        let event_type = &schemas["EventIn"]["properties"]["type"];
        assert_eq!(event_type["pattern"], crate::names::TYPE_PATTERN);
        assert_eq!(event_type["maxLength"], crate::names::MAX_TYPE_LEN);

        let module_name = r"^[A-Za-z0-9._-]{1,64}$";
        let upload = &doc["paths"]["/v1/modules"]["post"];
        assert_eq!(upload["parameters"][0]["schema"]["pattern"], module_name);
        assert_eq!(
            schemas["WebhookIn"]["properties"]["module"]["pattern"],
            module_name
        );
        assert_eq!(
            schemas["WebhookPatchIn"]["properties"]["module"]["pattern"],
            module_name
        );
        let valid = super::super::modules::valid_module_name;
        assert!(valid("a") && valid("A-b_c.9") && valid(&"x".repeat(64)));
        assert!(!valid("") && !valid(&"x".repeat(65)) && !valid("a b") && !valid("é"));
        let body = &upload["requestBody"]["content"]["application/octet-stream"]["schema"];
        assert_eq!(
            (&body["type"], &body["format"]),
            (&"string".into(), &"binary".into())
        );

        for name in ["EndpointIn", "EndpointPatchIn"] {
            let props = &schemas[name]["properties"];
            assert_eq!(props["url"]["pattern"], endpoints::URL_PATTERN, "{name}");
            assert_eq!(
                props["events"]["items"]["pattern"],
                endpoints::EVENT_PATTERN
            );
            assert_eq!(props["events"]["minItems"], 1, "{name}");
        }
        // Custom headers: the bounds and patterns of delivery::headers.
        for name in ["EndpointIn", "EndpointPatchIn"] {
            use crate::delivery::headers;
            let h = &schemas[name]["properties"]["headers"];
            assert_eq!(h["maxProperties"], crate::config::MAX_ENDPOINT_HEADERS);
            let names = &h["propertyNames"];
            assert_eq!(names["pattern"], headers::NAME_PATTERN);
            assert_eq!(names["maxLength"], crate::config::MAX_HEADER_NAME_BYTES);
            assert_eq!(names["not"]["pattern"], headers::reserved_pattern());
            let values = &h["additionalProperties"];
            assert_eq!(values["pattern"], headers::VALUE_PATTERN);
            assert_eq!(values["maxLength"], crate::config::MAX_HEADER_VALUE_BYTES);
        }
        // The form of a secret depends on the scheme.
        let rule = &schemas["EndpointIn"]["anyOf"];
        assert_eq!(
            rule[0]["properties"]["signature"]["enum"],
            serde_json::json!(["standard-ed25519"])
        );
        assert_eq!(rule[0]["required"], serde_json::json!(["signature"]));
        assert_eq!(
            rule[0]["properties"]["secret"]["pattern"],
            crate::signing::SIGNING_KEY_PATTERN
        );
        assert_eq!(
            rule[1]["properties"]["signature"]["enum"],
            serde_json::json!(["standard", "hex", "typo3"])
        );
        // The filter: one grammar for requests and endpoints, its keys and
        // operators those of the code, its limits those of config.rs.
        for name in ["EndpointIn", "EndpointPatchIn", "EndpointOut"] {
            let filter = &schemas[name]["properties"]["filter"]["oneOf"];
            assert_eq!(
                filter,
                &serde_json::json!([
                    {"type": "null"},
                    {"$ref": "#/components/schemas/EndpointFilter"}
                ]),
                "{name}"
            );
        }
        let filter = &schemas["EndpointFilter"];
        assert_eq!(
            filter["propertyNames"]["pattern"],
            endpoints::FILTER_KEY_PATTERN
        );
        let combinators: Vec<_> = filter["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(combinators, ["$and", "$not", "$or"]);
        for c in ["$and", "$or"] {
            assert_eq!(filter["properties"][c]["minItems"], 1);
        }
        let [bare, bare_object, operators] = filter["additionalProperties"]["anyOf"]
            .as_array()
            .unwrap()
            .as_slice()
        else {
            panic!("three forms of a value under a path: {filter}");
        };
        assert!(!bare["type"].as_array().unwrap().contains(&"object".into()));
        assert_eq!(
            bare_object["propertyNames"]["pattern"],
            endpoints::PLAIN_KEY_PATTERN
        );
        let mut documented: Vec<_> = operators["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut code = crate::delivery::matching::filter::OPERATORS.to_vec();
        documented.sort();
        code.sort();
        assert_eq!(documented, code);
        assert_eq!(operators["additionalProperties"], false);
        let description = filter["description"].as_str().unwrap();
        for op in crate::delivery::matching::filter::OPERATORS
            .iter()
            .chain(&crate::delivery::matching::filter::COMBINATORS)
        {
            assert!(description.contains(&format!("`{op}`")), "{op}");
        }
        assert!(description.contains(&format!("{} bytes", crate::config::MAX_FILTER_BYTES)));
        assert!(description.contains(&format!("{} levels", crate::config::MAX_FILTER_DEPTH)));
        for example in filter["examples"].as_array().unwrap() {
            crate::delivery::matching::filter::Filter::compile(example).unwrap();
        }

        for name in ["EndpointIn", "RotateIn"] {
            let secret = &schemas[name]["properties"]["secret"];
            assert_eq!(secret["pattern"], "^[!-~]{16,256}$", "{name}");
            assert_eq!(
                (&secret["minLength"], &secret["maxLength"]),
                (&16.into(), &256.into())
            );
        }
    }

    #[test]
    fn document_shape() {
        let doc = document_json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["admin_token"]["scheme"],
            "bearer"
        );
        assert_eq!(doc["security"][0]["admin_token"], serde_json::json!([]));
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for status in ["400", "401", "404", "500"] {
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path}: {status}"
                    );
                }
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} has no success response"
                );
            }
        }
    }
}
