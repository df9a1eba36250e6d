//! Outbound delivery: which endpoints an event goes to ([`matching`]) and
//! which addresses deliveries may reach ([`guard`]).
//!
//! Work in progress (issue 3): endpoints, the durable delivery queue and the
//! workers come next; nothing sends events yet.

pub mod guard;
pub mod matching;
