//! The HTTP edge: the only code that knows HTTP, SOAP and MTOM.
//!
//! Requests are framed here ([`transport`]), identified ([`auth`]), dispatched to the registry
//! ([`registry`]), and every typed error is mapped to a SOAP fault or an ebRS `RegistryError` in
//! one place ([`respond`]).

pub mod auth;
pub mod registry;
pub mod respond;
pub mod transport;

use soap::ElementSlice;
use xds_model::message::Message;

/// Parses the SOAP body's element as an XDS message, with the namespaces it inherits from
/// the envelope.
pub fn parse_body(body: &ElementSlice<'_>) -> Result<Message, xds_model::xml::ParseError> {
    let inherited: Vec<(Option<&str>, &str)> = body
        .namespaces
        .iter()
        .map(|b| (b.prefix.as_deref(), b.uri.as_str()))
        .collect();
    xds_model::message::parse_message_in_scope(
        body.bytes(),
        &inherited,
        xds_model::limits::XmlLimits::default(),
    )
}
