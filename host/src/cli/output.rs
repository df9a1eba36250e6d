//! Human-readable rendering of API answers (`--json` prints them raw).

use serde_json::Value;

/// What a JSON answer holds.
#[derive(Clone, Copy)]
pub enum Kind {
    Module,
    Modules,
    Webhook,
    Webhooks,
    Invocations,
    Events,
    Emissions,
    Deleted,
    Accepted,
    Endpoint,
    Endpoints,
    Secret,
    Deliveries,
    Delivery,
    Workspace,
    Workspaces,
    Token,
    Tokens,
    EventType,
    EventTypes,
    PortalLink,
    Replay,
    Raw,
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

pub fn print(kind: Kind, v: &Value) {
    let rows = || v["data"].as_array().cloned().unwrap_or_default();
    match kind {
        Kind::Module => {
            println!("module   {}", s(&v["name"]));
            println!("sha256   {}", s(&v["sha256"]));
            println!("size     {} bytes", s(&v["size"]));
            println!("updated  {}", s(&v["updated_at"]));
            println!("webhooks {}", v["webhooks"].as_array().map_or(0, Vec::len));
        }
        Kind::Modules => {
            println!("{:<24} {:>10}  {:<16} WEBHOOKS", "NAME", "SIZE", "SHA256");
            for m in rows() {
                let sha = s(&m["sha256"]);
                println!(
                    "{:<24} {:>10}  {:<16} {}",
                    s(&m["name"]),
                    s(&m["size"]),
                    &sha[..sha.len().min(16)],
                    m["webhooks"].as_array().map_or(0, Vec::len)
                );
            }
        }
        Kind::Webhook => {
            println!("id          {}", s(&v["id"]));
            println!("url         {}", s(&v["url"]));
            println!("module      {}", s(&v["module"]));
            println!("enabled     {}", s(&v["enabled"]));
            println!("payload     {}", s(&v["payload"]));
            if !v["verify"].is_null() {
                println!("verify      {}", v["verify"]);
            }
            if !v["dedup"].is_null() {
                println!("dedup       {}", v["dedup"]);
            }
            if let Some(hosts) = v["outbound_hosts"].as_array().filter(|h| !h.is_empty()) {
                let hosts: Vec<_> = hosts.iter().map(s).collect();
                println!("may call    {}", hosts.join(", "));
            }
            if v["reuse_instances"] == true {
                println!("instances   reused between its calls");
            }
            println!("description {}", s(&v["description"]));
        }
        Kind::Webhooks => {
            println!("{:<36} {:<16} {:<8} URL", "ID", "MODULE", "ENABLED");
            for w in rows() {
                println!(
                    "{:<36} {:<16} {:<8} {}",
                    s(&w["id"]),
                    s(&w["module"]),
                    s(&w["enabled"]),
                    s(&w["url"])
                );
            }
        }
        Kind::Invocations => {
            println!(
                "{:<30} {:<7} {:>6} {:>9}  {:<14} ERROR",
                "RECEIVED", "METHOD", "STATUS", "MS", "OUTCOME"
            );
            for i in rows() {
                println!(
                    "{:<30} {:<7} {:>6} {:>9.2}  {:<14} {}",
                    s(&i["received_at"]),
                    s(&i["method"]),
                    s(&i["status"]),
                    i["duration_ms"].as_f64().unwrap_or(0.0),
                    s(&i["outcome"]),
                    i["error"].as_str().unwrap_or("")
                );
                // Outgoing calls, then follow-up webhooks, then guest
                // output (a traceback, log lines), indented below its row.
                for c in i["calls"].as_array().into_iter().flatten() {
                    let result = c["status"]
                        .as_u64()
                        .map_or_else(|| s(&c["error"]), |st| st.to_string());
                    println!(
                        "    > {} {}{}  {result}  ({:.1} ms)",
                        s(&c["method"]),
                        s(&c["host"]),
                        s(&c["path"]),
                        c["duration_ms"].as_f64().unwrap_or(0.0)
                    );
                }
                for w in i["registered"].as_array().into_iter().flatten() {
                    println!("    + registered webhook {}", s(w));
                }
                if let Some(out) = i["output"].as_str() {
                    for line in out.lines() {
                        println!("    | {line}");
                    }
                }
            }
        }
        Kind::Events => {
            for e in rows() {
                println!(
                    "{}  {}  {}  {}",
                    s(&e["id"]),
                    s(&e["created_at"]),
                    s(&e["type"]),
                    e["data"]
                );
            }
            if let Some(c) = v["next_cursor"].as_str() {
                println!("more: --after {c}");
            }
        }
        Kind::Emissions => {
            for e in rows() {
                println!(
                    "{}  {}  {}  {}",
                    s(&e["id"]),
                    s(&e["created_at"]),
                    s(&e["entity_type"]),
                    e["data"]
                );
            }
            if let Some(c) = v["next_cursor"].as_str() {
                println!("more: --after {c}");
            }
        }
        Kind::Deleted => println!("deleted {}", s(&v["deleted"])),
        Kind::Accepted => {
            let dup = if v["duplicate"] == true {
                " (duplicate idempotency key: first event)"
            } else {
                ""
            };
            println!(
                "event {} accepted, {} deliveries{dup}",
                s(&v["id"]),
                s(&v["deliveries"])
            );
        }
        Kind::Endpoint => {
            println!("id        {}", s(&v["id"]));
            println!("url       {}", s(&v["url"]));
            println!("events    {}", v["events"]);
            println!("filters   {}", v["filters"]);
            if !v["filter"].is_null() {
                println!("where     {}", v["filter"]);
            }
            if v["ordering"] == "fifo" {
                println!("ordering  fifo");
            }
            if !v["transform"].is_null() {
                println!("transform {}", s(&v["transform"]));
            }
            if !v["rate_limit"].is_null() {
                println!(
                    "rate      {}/s, burst {}",
                    v["rate_limit"]["per_second"], v["rate_limit"]["burst"]
                );
            }
            println!("active    {}", s(&v["active"]));
            for (name, value) in v["headers"].as_object().into_iter().flatten() {
                println!("header    {name}: {}", s(value));
            }
            println!("signature {}", s(&v["signature"]));
            if let Some(key) = v["secret"].as_str().filter(|k| k.starts_with("whpk_")) {
                println!("public key {key}   (`hookhost endpoint secret` shows it again)");
            } else if let Some(secret) = v["secret"].as_str() {
                println!(
                    "secret    {secret}   (shown once; `hookhost endpoint secret` shows it again)"
                );
            }
            if let Some(reason) = v["disabled_reason"].as_str() {
                println!("disabled  {reason}");
            }
        }
        Kind::Endpoints => {
            println!("{:<30} {:<7} {:<20} URL", "ID", "ACTIVE", "EVENTS");
            for e in rows() {
                println!(
                    "{:<30} {:<7} {:<20} {}",
                    s(&e["id"]),
                    s(&e["active"]),
                    e["events"].to_string(),
                    s(&e["url"])
                );
            }
        }
        Kind::Secret => println!("{}", s(&v["secret"])),
        Kind::Deliveries => {
            println!(
                "{:<36} {:<8} {:>8} {:<24} {:<30} LAST ERROR",
                "ID", "STATUS", "ATTEMPTS", "EVENT TYPE", "ENDPOINT"
            );
            for d in rows() {
                println!(
                    "{:<36} {:<8} {:>8} {:<24} {:<30} {}",
                    s(&d["id"]),
                    s(&d["status"]),
                    s(&d["attempts"]),
                    s(&d["event_type"]),
                    s(&d["endpoint_id"]),
                    d["last_error"].as_str().unwrap_or("")
                );
            }
        }
        Kind::Delivery => {
            println!(
                "delivery {}  {}  event {} -> endpoint {}",
                s(&v["id"]),
                s(&v["status"]),
                s(&v["event_id"]),
                s(&v["endpoint_id"])
            );
            for a in v["attempts"].as_array().cloned().unwrap_or_default() {
                println!(
                    "  #{} {}  status {}  {:.1} ms  {}",
                    s(&a["attempt"]),
                    s(&a["at"]),
                    s(&a["status_code"]),
                    a["latency_ms"].as_f64().unwrap_or(0.0),
                    a["error"].as_str().unwrap_or("")
                );
            }
        }
        Kind::Workspace => {
            println!("id          {}", s(&v["id"]));
            println!("name        {}", s(&v["name"]));
            println!("description {}", s(&v["description"]));
            println!("quotas      {}", v["quotas"]);
            println!("branding    {}", v["branding"]);
        }
        Kind::Workspaces => {
            println!("{:<35} NAME", "ID");
            for w in rows() {
                println!("{:<35} {}", s(&w["id"]), s(&w["name"]));
            }
        }
        Kind::Token => {
            println!("id          {}", s(&v["id"]));
            println!("workspace   {}", s(&v["workspace_id"]));
            println!("role        {}", s(&v["role"]));
            println!("expires     {}", s(&v["expires_at"]));
            println!("secret      {}", s(&v["secret"]));
            println!("(the secret is shown once; hookhost keeps only its hash)");
        }
        Kind::Tokens => {
            println!(
                "{:<36} {:<6} {:<6} {:<26} DESCRIPTION",
                "ID", "ROLE", "HINT", "EXPIRES"
            );
            for t in rows() {
                println!(
                    "{:<36} {:<6} {:<6} {:<26} {}",
                    s(&t["id"]),
                    s(&t["role"]),
                    s(&t["hint"]),
                    s(&t["expires_at"]),
                    s(&t["description"])
                );
            }
        }
        Kind::EventType => {
            println!("name        {}", s(&v["name"]));
            println!("description {}", s(&v["description"]));
            println!(
                "schema      {}",
                if v["schema"].is_null() {
                    "-".into()
                } else {
                    v["schema"].to_string()
                }
            );
        }
        Kind::EventTypes => {
            println!("{:<32} {:<6} DESCRIPTION", "NAME", "SCHEMA");
            for t in rows() {
                println!(
                    "{:<32} {:<6} {}",
                    s(&t["name"]),
                    if t["schema"].is_null() { "no" } else { "yes" },
                    s(&t["description"])
                );
            }
        }
        Kind::PortalLink => {
            println!("url         {}", s(&v["url"]));
            println!("expires     {}", s(&v["expires_at"]));
            println!("read only   {}", s(&v["read_only"]));
        }
        Kind::Replay => {
            for side in ["original", "replay"] {
                let a = &v[side];
                println!(
                    "{side:<9} {} {} {}  ({}, {:.2} ms)",
                    s(&a["invocation_id"]),
                    s(&a["status"]),
                    s(&a["outcome"]),
                    s(&a["module"]),
                    a["duration_ms"].as_f64().unwrap_or_default()
                );
                if !a["error"].is_null() {
                    println!("          error: {}", s(&a["error"]));
                }
                if let Some(b) = a["response"]["body_base64"].as_str() {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .unwrap_or_default();
                    println!("          {}", String::from_utf8_lossy(&bytes));
                }
            }
            for r in v["records"].as_array().into_iter().flatten() {
                println!("{:<9} {} {}", s(&r["kind"]), s(&r["type"]), r["data"]);
            }
            println!(
                "{}",
                if v["committed"] == true {
                    "committed: logged, and its records stored"
                } else {
                    "not committed: nothing was stored"
                }
            );
        }
        Kind::Raw => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
    }
}
