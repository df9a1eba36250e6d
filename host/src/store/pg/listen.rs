//! The change feed: registry changes made by any node, from PostgreSQL's
//! LISTEN/NOTIFY.
//!
//! Writes of modules, webhooks and endpoints call `pg_notify(channel,
//! '<kind>:<id>')` in their own statement, so a change is announced exactly
//! when it commits. Each node holds one connection of its own (not from the
//! pool: a pooled connection is shared, and LISTEN belongs to a session)
//! that listens and republishes what arrives as [`Change`]s. When that
//! connection is lost, changes may be missed until it is back: subscribers
//! get [`Change::All`] then, and again once it listens anew.

use super::db;
use crate::store::backend::Change;
use crate::store::{StoreError, StoreResult};
use std::future::poll_fn;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Socket};

/// First wait before reconnecting; doubled after each failure.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// A listening session.
pub(super) struct Feed {
    /// Kept alive: the session ends when its client goes.
    _client: Client,
    connection: Connection<Socket, NoTlsStream>,
}

/// The notification payload of a change of `kind` (`module`, `webhook`,
/// `endpoint`) `id`.
pub(super) fn payload(kind: &str, id: &str) -> String {
    format!("{kind}:{id}")
}

/// The change a payload names; anything unknown drops every cache.
fn parse(payload: &str) -> Change {
    match payload.split_once(':') {
        Some(("module", name)) => Change::Module(name.to_string()),
        Some(("webhook", id)) => Change::Webhook(id.to_string()),
        Some(("endpoint", id)) => Change::Endpoint(id.to_string()),
        Some(("meta", _)) => Change::Meta,
        _ => Change::All,
    }
}

/// Opens a session listening on `channel`; returns once LISTEN is in effect.
pub(super) async fn subscribe(config: &Config, channel: &str) -> StoreResult<Feed> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(db)?;
    {
        // The connection makes progress only while polled: drive it until
        // the LISTEN is acknowledged.
        let sql = format!("LISTEN \"{channel}\"");
        let mut listen = std::pin::pin!(client.batch_execute(&sql));
        loop {
            tokio::select! {
                done = &mut listen => {
                    done.map_err(db)?;
                    break;
                }
                message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(db(e)),
                    None => return Err(StoreError::Db("PostgreSQL closed the connection".into())),
                },
            }
        }
    }
    Ok(Feed {
        _client: client,
        connection,
    })
}

/// Forwards the notifications of `feed` to `changes`, reconnecting (with
/// backoff) whenever the session is lost. Runs until aborted.
pub(super) async fn forward(
    config: Config,
    channel: String,
    changes: broadcast::Sender<Change>,
    mut feed: Feed,
) {
    loop {
        let why = loop {
            match poll_fn(|cx| feed.connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    // No subscriber is not an error.
                    let _ = changes.send(parse(n.payload()));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
                None => break "connection closed".to_string(),
            }
        };
        tracing::warn!(error = %why, "PostgreSQL change feed lost; reconnecting");
        let _ = changes.send(Change::All);
        let mut wait = RECONNECT_MIN;
        feed = loop {
            tokio::time::sleep(wait).await;
            match subscribe(&config, &channel).await {
                Ok(feed) => break feed,
                Err(e) => {
                    tracing::warn!(error = %e, "reconnecting the PostgreSQL change feed failed");
                    wait = (wait * 2).min(RECONNECT_MAX);
                }
            }
        };
        tracing::info!("PostgreSQL change feed back");
        // Whatever changed while it was down went unannounced.
        let _ = changes.send(Change::All);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_their_change() {
        assert_eq!(
            parse(&payload("webhook", "wh_1")),
            Change::Webhook("wh_1".into())
        );
        assert_eq!(
            parse(&payload("module", "a:b")),
            Change::Module("a:b".into())
        );
        assert_eq!(
            parse(&payload("endpoint", "ep_1")),
            Change::Endpoint("ep_1".into())
        );
        assert_eq!(parse("gibberish"), Change::All);
    }
}
