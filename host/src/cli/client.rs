//! The client side of the CLI: one admin API call per subcommand.

use super::output;
use super::{
    ClientArgs, Command, DeliveryCmd, EmissionCmd, EndpointCmd, EventCmd, EventTypeCmd, ModuleCmd,
    TokenCmd, WebhookCmd, WorkspaceCmd,
};
use crate::config::{ADMIN_TOKEN_FILE, DEFAULT_DATA_DIR};
use reqwest::Method;
use serde_json::{Value, json};

/// A failed client command, printed by `main`.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The command line is unusable.
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// Server URL.
        url: String,
        /// Cause.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    workspace: Option<String>,
}

impl Client {
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Body>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}/v1{path}", self.base);
        let mut req = self.http.request(method, &url).query(query);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(ws) = &self.workspace {
            req = req.header("x-hookhost-workspace", ws);
        }
        req = match body {
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Bytes(b)) => req.header("content-type", "application/wasm").body(b),
            None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status >= 400 {
            let message = value["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            return Err(ClientError::Api { status, message });
        }
        Ok(value)
    }
}

enum Body {
    Json(Value),
    Bytes(Vec<u8>),
}

fn parse_json(flag: &str, text: &str) -> Result<Value, ClientError> {
    serde_json::from_str(text)
        .map_err(|e| ClientError::Usage(format!("{flag} is not valid JSON: {e}")))
}

/// `--header 'Name: value'` flags as the `headers` object; the server
/// checks names and values.
/// `10` or `10/5` as `{"per_second", "burst"}`; `none` as `null`.
fn parse_rate_limit(text: &str) -> Result<Value, ClientError> {
    if text == "none" {
        return Ok(Value::Null);
    }
    let (rate, burst) = text.split_once('/').unwrap_or((text, "0"));
    match (rate.trim().parse::<u32>(), burst.trim().parse::<u32>()) {
        (Ok(per_second), Ok(burst)) => Ok(json!({"per_second": per_second, "burst": burst})),
        _ => Err(ClientError::Usage(format!(
            "--rate-limit {text:?}: use PER_SECOND or PER_SECOND/BURST, e.g. 10 or 10/5"
        ))),
    }
}

fn parse_headers(flags: &[String]) -> Result<Value, ClientError> {
    let mut headers = serde_json::Map::new();
    for flag in flags {
        let (name, value) = flag.split_once(':').ok_or_else(|| {
            ClientError::Usage(format!(
                "--header {flag:?} is not of the form 'Name: value'"
            ))
        })?;
        headers.insert(
            name.trim().to_string(),
            json!(value.trim_matches([' ', '\t'])),
        );
    }
    Ok(Value::Object(headers))
}

/// The token to send: `--token` / `HOOKHOST_ADMIN_TOKEN`, else the one a
/// local server stored in its data directory.
fn resolve_token(args: &ClientArgs) -> Option<String> {
    args.token.clone().filter(|t| !t.is_empty()).or_else(|| {
        let dir = std::env::var("HOOKHOST_DATA_DIR").unwrap_or_else(|_| DEFAULT_DATA_DIR.into());
        std::fs::read_to_string(std::path::Path::new(&dir).join(ADMIN_TOKEN_FILE))
            .ok()
            .map(|t| t.trim().to_string())
    })
}

/// Runs a client command and prints its result.
pub async fn run_client(args: &ClientArgs, command: Command) -> Result<(), ClientError> {
    let client = Client {
        http: reqwest::Client::new(),
        base: args.url.trim_end_matches('/').to_string(),
        token: resolve_token(args),
        workspace: args.workspace.clone().filter(|w| !w.is_empty()),
    };
    let (value, kind) = match command {
        Command::Serve(_)
        | Command::Run(_)
        | Command::Transform(_)
        | Command::Migrate(_)
        | Command::Export(_)
        | Command::Import(_) => {
            unreachable!("not a client command")
        }
        Command::Module(cmd) => module(&client, cmd).await?,
        Command::Webhook(cmd) => webhook(&client, cmd).await?,
        Command::Endpoint(cmd) => endpoint(&client, cmd).await?,
        Command::Delivery(cmd) => delivery(&client, cmd).await?,
        Command::Workspace(cmd) => workspace(&client, cmd).await?,
        Command::Token(cmd) => token(&client, cmd).await?,
        Command::EventType(cmd) => event_type(&client, cmd).await?,
        Command::PortalLink {
            workspace_id,
            revoke_all: true,
            ..
        } => {
            client
                .call(
                    Method::POST,
                    &format!("/workspaces/{workspace_id}/portal/revoke"),
                    &[],
                    None,
                )
                .await?;
            (
                json!({ "deleted": format!("every portal link of {workspace_id}") }),
                output::Kind::Deleted,
            )
        }
        Command::PortalLink {
            workspace_id,
            ttl,
            read_only,
            ..
        } => (
            client
                .call(
                    Method::POST,
                    &format!("/workspaces/{workspace_id}/portal"),
                    &[],
                    Some(Body::Json(json!({"ttl": ttl, "read_only": read_only}))),
                )
                .await?,
            output::Kind::PortalLink,
        ),
        Command::Event(EventCmd::Send {
            event_type,
            data,
            idempotency_key,
        }) => {
            let mut body = json!({ "type": event_type, "data": parse_json("--data", &data)? });
            if let Some(k) = idempotency_key {
                body["idempotency_key"] = json!(k);
            }
            (
                client
                    .call(Method::POST, "/events", &[], Some(Body::Json(body)))
                    .await?,
                output::Kind::Accepted,
            )
        }
        Command::Event(EventCmd::List {
            after,
            event_type,
            limit,
        }) => {
            let mut q = vec![("limit", limit.to_string())];
            q.extend(after.map(|a| ("after", a)));
            q.extend(event_type.map(|t| ("type", t)));
            (
                client.call(Method::GET, "/events", &q, None).await?,
                output::Kind::Events,
            )
        }
        Command::Emission(EmissionCmd::List {
            after,
            entity_type,
            webhook,
            limit,
        }) => {
            let mut q = vec![("limit", limit.to_string())];
            q.extend(after.map(|a| ("after", a)));
            q.extend(entity_type.map(|t| ("entity_type", t)));
            q.extend(webhook.map(|w| ("webhook", w)));
            (
                client.call(Method::GET, "/emissions", &q, None).await?,
                output::Kind::Emissions,
            )
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        output::print(kind, &value);
    }
    Ok(())
}

async fn workspace(
    client: &Client,
    cmd: WorkspaceCmd,
) -> Result<(Value, output::Kind), ClientError> {
    Ok(match cmd {
        WorkspaceCmd::Create {
            name,
            description,
            quotas,
            branding,
        } => {
            let mut body = json!({"name": name, "description": description});
            if let Some(q) = quotas {
                body["quotas"] = parse_json("--quotas", &q)?;
            }
            if let Some(b) = branding {
                body["branding"] = parse_json("--branding", &b)?;
            }
            let v = client
                .call(Method::POST, "/workspaces", &[], Some(Body::Json(body)))
                .await?;
            (v, output::Kind::Workspace)
        }
        WorkspaceCmd::List => (
            client.call(Method::GET, "/workspaces", &[], None).await?,
            output::Kind::Workspaces,
        ),
        WorkspaceCmd::Get { id } => (
            client
                .call(Method::GET, &format!("/workspaces/{id}"), &[], None)
                .await?,
            output::Kind::Workspace,
        ),
        WorkspaceCmd::Update {
            id,
            name,
            description,
            quotas,
            branding,
        } => {
            let mut body = json!({});
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            if let Some(q) = quotas {
                body["quotas"] = parse_json("--quotas", &q)?;
            }
            if let Some(b) = branding {
                body["branding"] = parse_json("--branding", &b)?;
            }
            let v = client
                .call(
                    Method::PATCH,
                    &format!("/workspaces/{id}"),
                    &[],
                    Some(Body::Json(body)),
                )
                .await?;
            (v, output::Kind::Workspace)
        }
        WorkspaceCmd::Delete { id, force } => {
            client
                .call(
                    Method::DELETE,
                    &format!("/workspaces/{id}"),
                    &[("force", force.to_string())],
                    None,
                )
                .await?;
            (json!({ "deleted": id }), output::Kind::Deleted)
        }
    })
}

async fn token(client: &Client, cmd: TokenCmd) -> Result<(Value, output::Kind), ClientError> {
    Ok(match cmd {
        TokenCmd::Create {
            workspace_id,
            role,
            description,
            expires_at,
        } => {
            let mut body = json!({"role": role, "description": description});
            if let Some(e) = expires_at {
                body["expires_at"] = json!(e);
            }
            let v = client
                .call(
                    Method::POST,
                    &format!("/workspaces/{workspace_id}/tokens"),
                    &[],
                    Some(Body::Json(body)),
                )
                .await?;
            (v, output::Kind::Token)
        }
        TokenCmd::List { workspace_id } => (
            client
                .call(
                    Method::GET,
                    &format!("/workspaces/{workspace_id}/tokens"),
                    &[],
                    None,
                )
                .await?,
            output::Kind::Tokens,
        ),
        TokenCmd::Revoke {
            workspace_id,
            token_id,
        } => {
            client
                .call(
                    Method::DELETE,
                    &format!("/workspaces/{workspace_id}/tokens/{token_id}"),
                    &[],
                    None,
                )
                .await?;
            (json!({ "deleted": token_id }), output::Kind::Deleted)
        }
    })
}

async fn event_type(
    client: &Client,
    cmd: EventTypeCmd,
) -> Result<(Value, output::Kind), ClientError> {
    Ok(match cmd {
        EventTypeCmd::Put {
            name,
            description,
            schema,
        } => {
            let mut body = json!({"name": name, "description": description});
            if let Some(s) = schema {
                body["schema"] = parse_json("--schema", &s)?;
            }
            let v = client
                .call(Method::POST, "/event-types", &[], Some(Body::Json(body)))
                .await?;
            (v, output::Kind::EventType)
        }
        EventTypeCmd::List => (
            client.call(Method::GET, "/event-types", &[], None).await?,
            output::Kind::EventTypes,
        ),
        EventTypeCmd::Delete { name } => {
            client
                .call(Method::DELETE, &format!("/event-types/{name}"), &[], None)
                .await?;
            (json!({ "deleted": name }), output::Kind::Deleted)
        }
    })
}

async fn module(client: &Client, cmd: ModuleCmd) -> Result<(Value, output::Kind), ClientError> {
    Ok(match cmd {
        ModuleCmd::Upload { file, name } => {
            let name = match name {
                Some(n) => n,
                None => file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(|s| s.replace('_', "-"))
                    .ok_or_else(|| ClientError::Usage("give --name".into()))?,
            };
            let bytes = std::fs::read(&file)
                .map_err(|e| ClientError::Usage(format!("cannot read {}: {e}", file.display())))?;
            let v = client
                .call(
                    Method::POST,
                    "/modules",
                    &[("name", name)],
                    Some(Body::Bytes(bytes)),
                )
                .await?;
            (v, output::Kind::Module)
        }
        ModuleCmd::List => (
            client.call(Method::GET, "/modules", &[], None).await?,
            output::Kind::Modules,
        ),
        ModuleCmd::Get { name } => (
            client
                .call(Method::GET, &format!("/modules/{name}"), &[], None)
                .await?,
            output::Kind::Module,
        ),
        ModuleCmd::Delete { name } => {
            client
                .call(Method::DELETE, &format!("/modules/{name}"), &[], None)
                .await?;
            (json!({ "deleted": name }), output::Kind::Deleted)
        }
    })
}

async fn webhook(client: &Client, cmd: WebhookCmd) -> Result<(Value, output::Kind), ClientError> {
    Ok(match cmd {
        WebhookCmd::Create {
            module,
            payload,
            description,
            disabled,
            verify,
            dedup,
            capture,
            outbound_hosts,
            reuse_instances,
        } => {
            let mut body = json!({ "module": module, "description": description,
                                   "enabled": !disabled, "capture": capture,
                                   "outbound_hosts": outbound_hosts,
                                   "reuse_instances": reuse_instances });
            if let Some(p) = payload {
                body["payload"] = parse_json("--payload", &p)?;
            }
            if let Some(v) = verify {
                body["verify"] = parse_json("--verify", &v)?;
            }
            if let Some(d) = dedup {
                body["dedup"] = parse_json("--dedup", &d)?;
            }
            (
                client
                    .call(Method::POST, "/webhooks", &[], Some(Body::Json(body)))
                    .await?,
                output::Kind::Webhook,
            )
        }
        WebhookCmd::List { module } => {
            let q: Vec<_> = module.map(|m| ("module", m)).into_iter().collect();
            (
                client.call(Method::GET, "/webhooks", &q, None).await?,
                output::Kind::Webhooks,
            )
        }
        WebhookCmd::Get { id } => (
            client
                .call(Method::GET, &format!("/webhooks/{id}"), &[], None)
                .await?,
            output::Kind::Webhook,
        ),
        WebhookCmd::Update {
            id,
            module,
            payload,
            clear_payload,
            description,
            enable,
            disable,
            verify,
            clear_verify,
            dedup,
            clear_dedup,
            capture,
            outbound_hosts,
            clear_outbound_hosts,
            reuse_instances,
        } => {
            let mut body = json!({});
            if let Some(c) = capture {
                body["capture"] = json!(c);
            }
            if let Some(r) = reuse_instances {
                body["reuse_instances"] = json!(r);
            }
            if !outbound_hosts.is_empty() || clear_outbound_hosts {
                body["outbound_hosts"] = json!(outbound_hosts);
            }
            if let Some(v) = verify {
                body["verify"] = parse_json("--verify", &v)?;
            }
            if clear_verify {
                body["verify"] = Value::Null;
            }
            if let Some(d) = dedup {
                body["dedup"] = parse_json("--dedup", &d)?;
            }
            if clear_dedup {
                body["dedup"] = Value::Null;
            }
            if let Some(m) = module {
                body["module"] = json!(m);
            }
            if let Some(p) = payload {
                body["payload"] = parse_json("--payload", &p)?;
            }
            if clear_payload {
                body["payload"] = Value::Null;
            }
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            if enable || disable {
                body["enabled"] = json!(enable);
            }
            let path = format!("/webhooks/{id}");
            (
                client
                    .call(Method::PATCH, &path, &[], Some(Body::Json(body)))
                    .await?,
                output::Kind::Webhook,
            )
        }
        WebhookCmd::Delete { id } => {
            client
                .call(Method::DELETE, &format!("/webhooks/{id}"), &[], None)
                .await?;
            (json!({ "deleted": id }), output::Kind::Deleted)
        }
        WebhookCmd::Replay {
            id,
            invocation_id,
            module,
            commit,
        } => {
            let mut body = json!({ "commit": commit });
            if let Some(m) = module {
                body["module"] = json!(m);
            }
            let path = format!("/webhooks/{id}/invocations/{invocation_id}/replay");
            (
                client
                    .call(Method::POST, &path, &[], Some(Body::Json(body)))
                    .await?,
                output::Kind::Replay,
            )
        }
        WebhookCmd::Invocations { id, limit } => {
            let path = format!("/webhooks/{id}/invocations");
            (
                client
                    .call(Method::GET, &path, &[("limit", limit.to_string())], None)
                    .await?,
                output::Kind::Invocations,
            )
        }
    })
}

async fn endpoint(client: &Client, cmd: EndpointCmd) -> Result<(Value, output::Kind), ClientError> {
    let path = |id: &str, rest: &str| format!("/endpoints/{id}{rest}");
    Ok(match cmd {
        EndpointCmd::Create {
            endpoint_url,
            events,
            filters,
            filter,
            description,
            signature,
            secret,
            headers,
            rate_limit,
            ordering,
            transform,
            disabled,
        } => {
            let mut body = json!({
                "url": endpoint_url, "events": events, "description": description,
                "signature": signature, "active": !disabled,
            });
            if !headers.is_empty() {
                body["headers"] = parse_headers(&headers)?;
            }
            if let Some(f) = filters {
                body["filters"] = parse_json("--filters", &f)?;
            }
            if let Some(f) = filter {
                body["filter"] = parse_json("--where", &f)?;
            }
            if let Some(s) = secret {
                body["secret"] = json!(s);
            }
            if let Some(r) = rate_limit {
                body["rate_limit"] = parse_rate_limit(&r)?;
            }
            if let Some(o) = ordering {
                body["ordering"] = json!(o);
            }
            if let Some(t) = transform {
                body["transform"] = json!(t);
            }
            (
                client
                    .call(Method::POST, "/endpoints", &[], Some(Body::Json(body)))
                    .await?,
                output::Kind::Endpoint,
            )
        }
        EndpointCmd::List => (
            client.call(Method::GET, "/endpoints", &[], None).await?,
            output::Kind::Endpoints,
        ),
        EndpointCmd::Get { id } => (
            client.call(Method::GET, &path(&id, ""), &[], None).await?,
            output::Kind::Endpoint,
        ),
        EndpointCmd::Update {
            id,
            endpoint_url,
            events,
            filters,
            filter,
            description,
            signature,
            headers,
            clear_headers,
            rate_limit,
            ordering,
            enable,
            transform,
            disable,
        } => {
            let mut body = json!({});
            if let Some(r) = rate_limit {
                body["rate_limit"] = parse_rate_limit(&r)?;
            }
            if let Some(o) = ordering {
                body["ordering"] = json!(o);
            }
            match transform.as_deref() {
                Some("none") => body["transform"] = Value::Null,
                Some(t) => body["transform"] = json!(t),
                None => {}
            }
            if !headers.is_empty() {
                body["headers"] = parse_headers(&headers)?;
            }
            if clear_headers {
                body["headers"] = Value::Null;
            }
            if let Some(u) = endpoint_url {
                body["url"] = json!(u);
            }
            if let Some(e) = events {
                body["events"] = json!(e);
            }
            if let Some(f) = filters {
                body["filters"] = parse_json("--filters", &f)?;
            }
            if let Some(f) = filter {
                body["filter"] = parse_json("--where", &f)?;
            }
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            if let Some(s) = signature {
                body["signature"] = json!(s);
            }
            if enable || disable {
                body["active"] = json!(enable);
            }
            (
                client
                    .call(Method::PATCH, &path(&id, ""), &[], Some(Body::Json(body)))
                    .await?,
                output::Kind::Endpoint,
            )
        }
        EndpointCmd::Delete { id } => {
            client
                .call(Method::DELETE, &path(&id, ""), &[], None)
                .await?;
            (json!({ "deleted": id }), output::Kind::Deleted)
        }
        EndpointCmd::Secret { id } => (
            client
                .call(Method::GET, &path(&id, "/secret"), &[], None)
                .await?,
            output::Kind::Secret,
        ),
        EndpointCmd::RotateSecret { id } => (
            client
                .call(Method::POST, &path(&id, "/rotate-secret"), &[], None)
                .await?,
            output::Kind::Secret,
        ),
        EndpointCmd::Recover { id, since } => {
            let body = json!({ "since": since });
            (
                client
                    .call(
                        Method::POST,
                        &path(&id, "/recover"),
                        &[],
                        Some(Body::Json(body)),
                    )
                    .await?,
                output::Kind::Raw,
            )
        }
        EndpointCmd::Test { id } => (
            client
                .call(Method::POST, &path(&id, "/test"), &[], None)
                .await?,
            output::Kind::Raw,
        ),
    })
}

async fn delivery(client: &Client, cmd: DeliveryCmd) -> Result<(Value, output::Kind), ClientError> {
    Ok(match cmd {
        DeliveryCmd::List {
            endpoint,
            event,
            status,
            limit,
        } => {
            let mut q = vec![("limit", limit.to_string())];
            q.extend(endpoint.map(|e| ("endpoint", e)));
            q.extend(event.map(|e| ("event", e)));
            q.extend(status.map(|s| ("status", s)));
            (
                client.call(Method::GET, "/deliveries", &q, None).await?,
                output::Kind::Deliveries,
            )
        }
        DeliveryCmd::Get { id } => (
            client
                .call(Method::GET, &format!("/deliveries/{id}"), &[], None)
                .await?,
            output::Kind::Delivery,
        ),
        DeliveryCmd::Retry { id } => (
            client
                .call(Method::POST, &format!("/deliveries/{id}/retry"), &[], None)
                .await?,
            output::Kind::Delivery,
        ),
    })
}
