//! hookhost: a self-hosted webhook platform.
//!
//! * **Inbound**: WebAssembly components (handlers) are uploaded, webhooks
//!   are registered for them with a JSON payload, and every request to a
//!   webhook's unguessable URL runs the handler in a fresh wasmtime sandbox.
//! * **Outbound**: events (posted, or published by handlers) are delivered to
//!   subscribed endpoints as signed JSON POSTs, at least once, with retries.
//!
//! Layout: [`api`] (axum routers) calls [`registry`] (webhooks and modules,
//! cached in memory) which uses [`runtime`] (wasmtime) and [`store`] (sled);
//! [`delivery`] sends events, signed by [`signing`].
//! Inbound requests are checked by [`verify`] and [`dedup`] before a
//! handler runs. [`server`] wires them together; [`cli`] is the command line.
#![deny(missing_docs)]

pub mod api;
pub mod cli;
pub mod config;
pub mod dedup;
pub mod delivery;
pub mod inbound;
pub mod metrics;
pub mod names;
pub mod registry;
pub mod runtime;
pub mod server;
pub mod signing;
pub mod store;
pub mod tenancy;
pub mod verify;
