//! Caller identity from signed ID cards.
//!
//! Will own (identity issue): verification of the `saml:Assertion` ID card in `wsse:Security`
//! (enveloped XML signature, exclusive c14n, RSA-SHA256; validity window; trusted issuer), the
//! development STS of a data dir, the `Caller` value every service call receives, and the
//! role → operation policy.
//!
//! Invariant: the assertion the business logic reads is exactly the element the signature
//! covers; nothing downstream re-reads the XML.
