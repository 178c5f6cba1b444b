//! The document-sharing service: the HTTP edge and the composition of the registry,
//! repository, consent and MinLog crates behind the SOAP and JSON endpoints of INTERFACE.md.
//!
//! Invariant: this crate is the only one that knows HTTP, SOAP framing and MTOM; the service
//! crates it composes take typed messages and an authenticated caller.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod consent_api;
pub mod edge;
pub mod http_client;
pub mod idcard;
pub mod metrics;
pub mod minlog_api;
pub mod minlog_page;
pub mod remote;
pub mod request_id;
pub mod search;
pub mod serve;
pub mod tls;
pub mod validate;
