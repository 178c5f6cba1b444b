//! Verification of the ID card in a `wsse:Security` header.
//!
//! The order of checks, each a [`Rejection`] variant of its own:
//! 1. the gate ([`crate::scan`]): size, UTF-8, DOCTYPE, depth, element count, PIs, entities;
//! 2. structure, on the same DOM the signature library verifies over: no duplicate id values
//!    anywhere in the header, exactly one assertion and it a direct child of `wsse:Security`,
//!    exactly one `ds:Signature` in the whole header and it the assertion's last child, a
//!    `SignedInfo` with exactly one `Reference` whose URI is `#` + the assertion's own id,
//!    transforms exactly enveloped + exclusive c14n, and only allowed algorithms;
//! 3. cryptography (bergshamra, only the trusted STS keys; never a key from the card), and
//!    then the binding: the node the library says its one reference resolved to must be the
//!    very assertion node checked in step 2, and its signature node the one checked there;
//! 4. validity window and lifetime; 5. the attributes.
//!
//! Invariant: every value of the resulting [`Caller`] is read from the assertion node the
//! library hashed, in the DOM it hashed it from (no second parser, so no parser
//! differential). Text is read as the concatenation of an element's text and CDATA children,
//! which is exactly what exclusive c14n without comments signs; a comment spliced into a
//! value therefore cannot change what is read.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bergshamra_dsig::{DsigContext, VerifyResult};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uppsala::{Document, NodeId, NodeKind};

use crate::caller::{Caller, Organisation, Person, Role, is_cpr, is_cvr, is_sor};
use crate::error::Rejection;
use crate::ns::{self, alg, card};
use crate::scan;
use crate::trust::TrustStore;

/// Longest lifetime (NotOnOrAfter − NotBefore) of an acceptable card (INTERFACE.md).
pub const CARD_LIFETIME_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Largest clock skew a configuration may ask for.
pub const CLOCK_SKEW_MAX: Duration = Duration::from_secs(15 * 60);

/// Attribute local names that make an element referencable by a same-document URI (what
/// bergshamra registers, plus `wsu:Id`, whose local name is `Id`). Checked for duplicates.
const ID_ATTRIBUTE_NAMES: [&str; 4] = ["ID", "Id", "id", "AssertionID"];

/// The id DGWS gives the card's `ds:Signature`.
const SIGNATURE_ID: &str = "OCESSignature";

/// Longest id value quoted back in [`Rejection::DuplicateId`].
const ID_QUOTE_CHARS_MAX: usize = 64;

/// Verification settings (config section `[identity]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Tolerated difference between our clock and the STS's, in seconds (at most 900).
    pub clock_skew_seconds: u64,
    /// Accept cards signed with RSA-SHA1 / SHA-1 digests (legacy DGWS STSs). Off by default.
    pub allow_legacy_sha1: bool,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            clock_skew_seconds: 300,
            allow_legacy_sha1: false,
        }
    }
}

impl VerifyConfig {
    fn clock_skew(&self) -> time::Duration {
        let secs = self.clock_skew_seconds.min(CLOCK_SKEW_MAX.as_secs());
        time::Duration::seconds(i64::try_from(secs).unwrap_or(0))
    }
}

/// Most verified signatures remembered (see [`VerifiedSignatures`]).
const VERIFIED_SIGNATURES_MAX: usize = 4096;

/// Verifies ID cards against a trust store.
#[derive(Debug, Clone)]
pub struct Verifier {
    trust: TrustStore,
    config: VerifyConfig,
    /// Shared by clones: they verify against the same trust store and configuration.
    verified: Arc<Mutex<VerifiedSignatures>>,
}

/// Signed assertions whose signature verified, by the SHA-256 of what the signature covers.
///
/// A client sends the same card with every request for as long as it is valid (in a header
/// whose `wsu:Timestamp` changes), and checking its signature (exclusive c14n, digest, RSA)
/// was most of card verification, a ninth of an ITI-18 request's CPU. Once the header passed
/// the structural checks (step 2: one assertion, a direct child of the header, its one
/// signature its last child, no id twice), the signature's outcome depends only on the
/// assertion's bytes, the namespaces in scope at it (all declared on the header's start tag,
/// see `scan::build_document`) and the trust store, which never changes in a verifier's life;
/// and on the moment only through the certificate's validity. So the digest of the header's
/// start tag and the assertion's bytes is remembered with the index of the trusted certificate
/// that verified it, and the same signed content is accepted again without cryptography only
/// while that certificate is valid. Everything else (gate, DOM, structure, the card's window
/// and attributes) is checked on every request, and failures are never remembered.
#[derive(Debug, Default)]
struct VerifiedSignatures {
    signer_by_digest: HashMap<[u8; 32], usize>,
}

impl VerifiedSignatures {
    fn remember(&mut self, digest: [u8; 32], signer: usize) {
        if self.signer_by_digest.len() >= VERIFIED_SIGNATURES_MAX {
            // Cards live at most a day; starting over costs one verification per live card.
            self.signer_by_digest.clear();
        }
        self.signer_by_digest.insert(digest, signer);
    }
}

/// The nodes step 2 established; step 3 checks the library agrees.
struct Structure {
    assertion: NodeId,
    signature: NodeId,
    /// The DER of the certificate in `ds:KeyInfo`, if the signature carries one.
    key_info_certificate: Option<Vec<u8>>,
}

impl Verifier {
    pub fn new(trust: TrustStore, config: VerifyConfig) -> Self {
        Verifier {
            trust,
            config,
            verified: Arc::default(),
        }
    }

    pub fn trust_store(&self) -> &TrustStore {
        &self.trust
    }

    pub fn config(&self) -> &VerifyConfig {
        &self.config
    }

    /// Verifies the ID card in a `wsse:Security` header.
    ///
    /// `header` is the exact bytes of the `wsse:Security` element as it appears in the SOAP
    /// envelope (empty if the request has none). `in_scope_namespaces` are the namespace
    /// declarations of its ancestors as `(prefix, uri)` pairs, `""` for a default namespace,
    /// outermost first (a later pair for the same prefix wins).
    pub fn verify(
        &self,
        header: &[u8],
        in_scope_namespaces: &[(&str, &str)],
        now: OffsetDateTime,
    ) -> Result<Caller, Rejection> {
        let xml = scan::build_document(header, in_scope_namespaces)?;
        scan::gate(&xml)?;
        let doc = uppsala::parse(&xml)
            .map_err(|_| Rejection::Malformed("the header is not well-formed XML".into()))?;
        let root = doc
            .document_element()
            .ok_or_else(|| Rejection::Malformed("the header has no element".into()))?;
        if !is(&doc, root, ns::WSSE, "Security") {
            return Err(Rejection::Malformed(
                "the header is not a wsse:Security element".into(),
            ));
        }
        let structure = self.check_structure(&doc, root)?;
        let signed_content = signed_content_digest(&xml);
        let remembered = signed_content.and_then(|digest| self.remembered_signer(&digest, now));
        if remembered.is_none() {
            let signer = self.check_signature(&doc, &xml, &structure, now)?;
            if let (Some(digest), Some(signer)) = (signed_content, signer)
                && let Ok(mut verified) = self.verified.lock()
            {
                verified.remember(digest, signer);
            }
        }
        read_card(&doc, structure.assertion, now, self.config.clock_skew())
    }

    /// How many verified signatures this verifier (and its clones) remembers.
    pub fn remembered_signatures(&self) -> usize {
        self.verified
            .lock()
            .map(|v| v.signer_by_digest.len())
            .unwrap_or(0)
    }

    /// The trusted certificate that verified this signed content before, if it is still valid
    /// at `now` (the check `TrustStore::keys_manager` makes).
    fn remembered_signer(&self, digest: &[u8; 32], now: OffsetDateTime) -> Option<usize> {
        let signer = *self.verified.lock().ok()?.signer_by_digest.get(digest)?;
        self.trust
            .certs()
            .get(signer)
            .is_some_and(|cert| cert.is_valid_at(now))
            .then_some(signer)
    }

    /// Verifies a bare card (the `saml:Assertion` XML, as the JSON APIs receive it base64-encoded
    /// in `Authorization: SAML …`), with exactly the checks of [`Verifier::verify`].
    pub fn verify_card(&self, card: &[u8], now: OffsetDateTime) -> Result<Caller, Rejection> {
        let header = scan::wrap_bare_card(card)?;
        self.verify(&header, &[], now)
    }

    fn check_structure(&self, doc: &Document<'_>, root: NodeId) -> Result<Structure, Rejection> {
        let all: Vec<NodeId> = doc
            .descendants(root)
            .into_iter()
            .filter(|&n| doc.element(n).is_some())
            .chain(std::iter::once(root))
            .collect();

        // No id value twice anywhere: otherwise "#IDCard" could resolve to either element.
        let mut seen: HashSet<&str> = HashSet::new();
        for &node in &all {
            let Some(element) = doc.element(node) else {
                continue;
            };
            for attr in &element.attributes {
                if ID_ATTRIBUTE_NAMES.contains(&&*attr.name.local_name) && !seen.insert(&attr.value)
                {
                    return Err(Rejection::DuplicateId(
                        attr.value.chars().take(ID_QUOTE_CHARS_MAX).collect(),
                    ));
                }
            }
        }

        // Exactly one assertion, of any SAML version, in the whole header.
        let assertions: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|&n| local_name(doc, n) == Some("Assertion"))
            .collect();
        let assertion = match assertions.as_slice() {
            [] => return Err(Rejection::AssertionMissing),
            [one] => *one,
            _ => return Err(Rejection::MultipleAssertions),
        };
        if !is(doc, assertion, ns::SAML2, "Assertion") {
            return Err(Rejection::Malformed(
                "the assertion is not a SAML 2.0 assertion".into(),
            ));
        }
        if doc.parent(assertion) != Some(root) {
            return Err(Rejection::Wrapping(
                "the assertion is not a direct child of wsse:Security",
            ));
        }

        // Exactly one signature in the whole header, the assertion's last child.
        let signatures: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|&n| is(doc, n, ns::DS, "Signature"))
            .collect();
        let signature = match signatures.as_slice() {
            [] => return Err(Rejection::SignatureMissing),
            [one] => *one,
            _ => return Err(Rejection::MultipleSignatures),
        };
        if element_children(doc, assertion).last() != Some(&signature) {
            return Err(Rejection::SignatureMisplaced);
        }

        let assertion_id = own_id(doc, assertion)?;

        // The signature element's own attributes are not covered by the signature (the
        // enveloped transform removes the element). DGWS fixes them to `id="OCESSignature"`;
        // anything else is refused, so that no byte of the card is both unsigned and free.
        let signature_attributes_ok = doc.element(signature).is_some_and(|e| {
            e.attributes.iter().all(|a| {
                a.name.local_name == "id"
                    && a.name.namespace_uri.is_none()
                    && a.value == SIGNATURE_ID
            })
        });
        if !signature_attributes_ok {
            return Err(Rejection::Malformed(
                "ds:Signature may carry only id=\"OCESSignature\"".into(),
            ));
        }

        // ds:Signature = SignedInfo, SignatureValue, KeyInfo? — no ds:Object, whose content
        // would be unsigned by an enveloped signature yet look signed.
        let parts = element_children(doc, signature);
        let (signed_info, signature_value, key_info) = match parts.as_slice() {
            [si, sv] | [si, sv, _]
                if is(doc, *si, ns::DS, "SignedInfo")
                    && is(doc, *sv, ns::DS, "SignatureValue")
                    && parts.get(2).is_none_or(|&k| is(doc, k, ns::DS, "KeyInfo")) =>
            {
                (*si, *sv, parts.get(2).copied())
            }
            _ if parts.iter().any(|&p| is(doc, p, ns::DS, "Object")) => {
                return Err(Rejection::Wrapping("ds:Object inside the signature"));
            }
            _ => {
                return Err(Rejection::Malformed(
                    "ds:Signature must hold SignedInfo, SignatureValue and KeyInfo only".into(),
                ));
            }
        };

        let info = element_children(doc, signed_info);
        let (c14n, method, references) = match info.as_slice() {
            [c, m, refs @ ..]
                if is(doc, *c, ns::DS, "CanonicalizationMethod")
                    && is(doc, *m, ns::DS, "SignatureMethod") =>
            {
                (*c, *m, refs)
            }
            _ => {
                return Err(Rejection::Malformed(
                    "SignedInfo must start with CanonicalizationMethod and SignatureMethod".into(),
                ));
            }
        };
        let c14n_uri = algorithm(doc, c14n)?;
        if c14n_uri != alg::EXC_C14N {
            return Err(not_allowed("canonicalization", c14n_uri));
        }
        let method_uri = algorithm(doc, method)?;
        let legacy = self.config.allow_legacy_sha1;
        if !(method_uri == alg::RSA_SHA256 || (legacy && method_uri == alg::RSA_SHA1)) {
            return Err(not_allowed("signature method", method_uri));
        }
        if !element_children(doc, method).is_empty() {
            // HMACOutputLength and friends have no place in an RSA signature method.
            return Err(not_allowed("signature method", method_uri));
        }
        let reference = match references {
            [one] if is(doc, *one, ns::DS, "Reference") => *one,
            _ => return Err(Rejection::ReferenceMismatch),
        };
        let uri = doc.get_attribute(reference, "URI").unwrap_or("");
        if uri.strip_prefix('#') != Some(assertion_id) {
            return Err(Rejection::ReferenceMismatch);
        }

        let (transforms, digest_method, digest_value) =
            match element_children(doc, reference).as_slice() {
                [t, d, v]
                    if is(doc, *t, ns::DS, "Transforms")
                        && is(doc, *d, ns::DS, "DigestMethod")
                        && is(doc, *v, ns::DS, "DigestValue") =>
                {
                    (*t, *d, *v)
                }
                _ => {
                    return Err(Rejection::Malformed(
                        "Reference must hold Transforms, DigestMethod and DigestValue".into(),
                    ));
                }
            };
        let transform_uris = element_children(doc, transforms)
            .into_iter()
            .map(|t| {
                if is(doc, t, ns::DS, "Transform") {
                    algorithm(doc, t)
                } else {
                    Err(Rejection::Malformed(
                        "Transforms may hold only Transform".into(),
                    ))
                }
            })
            .collect::<Result<Vec<&str>, Rejection>>()?;
        if transform_uris != [alg::ENVELOPED, alg::EXC_C14N] {
            let offending = transform_uris
                .iter()
                .find(|u| **u != alg::ENVELOPED && **u != alg::EXC_C14N)
                .copied()
                .unwrap_or("transforms other than enveloped-signature, exc-c14n");
            return Err(not_allowed("transforms", offending));
        }
        let digest_uri = algorithm(doc, digest_method)?;
        if !(digest_uri == alg::SHA256 || (legacy && digest_uri == alg::SHA1)) {
            return Err(not_allowed("digest method", digest_uri));
        }

        // Values the library decodes must be canonical base64, so that no two spellings of
        // one signature exist (a lenient decoder ignores the padding bits of the last digit).
        strict_base64(doc, digest_value, "DigestValue")?;
        strict_base64(doc, signature_value, "SignatureValue")?;
        let key_info_certificate = match key_info {
            None => None,
            Some(k) => Some(key_info_certificate(doc, k)?),
        };

        Ok(Structure {
            assertion,
            signature,
            key_info_certificate,
        })
    }

    fn check_signature(
        &self,
        doc: &Document<'_>,
        xml: &str,
        structure: &Structure,
        now: OffsetDateTime,
    ) -> Result<Option<usize>, Rejection> {
        let keys = self.trust.keys_manager(now);
        if keys.is_empty() {
            return Err(Rejection::UntrustedIssuer);
        }
        // Secure defaults: trusted keys only (KeyInfo never supplies the key), strict
        // reference positions, every reference digest computed locally.
        let ctx = DsigContext::new(keys);
        let results =
            bergshamra_dsig::verify::verify_all_document_with_source(&ctx, doc, Some(xml))
                .map_err(|_| Rejection::SignatureInvalid("the signature could not be processed"))?;
        match results.as_slice() {
            [
                VerifyResult::Valid {
                    signature_node,
                    references,
                    key_info,
                },
            ] => {
                if *signature_node != structure.signature {
                    return Err(Rejection::Wrapping(
                        "the verified signature is another element",
                    ));
                }
                // KeyInfo is not signed; if it names a certificate, it must be the trusted
                // certificate whose key verified the card, byte for byte.
                if let Some(der) = &structure.key_info_certificate {
                    let verifying = key_info
                        .key_name
                        .as_deref()
                        .and_then(|n| n.strip_prefix("trusted-"))
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| self.trust.certs().get(i));
                    if verifying.is_none_or(|c| c.der != *der) {
                        return Err(Rejection::SignatureInvalid(
                            "the KeyInfo certificate is not the certificate that verifies",
                        ));
                    }
                }
                match references.as_slice() {
                    [r] if r.digest_verified && r.resolved_node == Some(structure.assertion) => {
                        // Which trusted certificate verified it (keys are named by their index
                        // in `TrustStore::keys_manager`).
                        Ok(key_info
                            .key_name
                            .as_deref()
                            .and_then(|n| n.strip_prefix("trusted-"))
                            .and_then(|i| i.parse::<usize>().ok()))
                    }
                    _ => Err(Rejection::Wrapping(
                        "the signed element is not the assertion that is read",
                    )),
                }
            }
            [VerifyResult::Invalid { .. }] => Err(self.classify_failure(doc, xml)),
            _ => Err(Rejection::MultipleSignatures),
        }
    }

    /// Tells an untrusted issuer from a tampered card, for the fault and the record only: the
    /// card is rejected either way. Verifies once more with the key from the card's own
    /// `KeyInfo` certificate; if that succeeds, the card is intact but signed by an STS we do
    /// not trust.
    fn classify_failure(&self, doc: &Document<'_>, xml: &str) -> Rejection {
        let ctx = DsigContext::new_permissive(bergshamra_keys::KeysManager::new());
        match bergshamra_dsig::verify::verify_all_document_with_source(&ctx, doc, Some(xml)) {
            Ok(results) if matches!(results.as_slice(), [VerifyResult::Valid { .. }]) => {
                Rejection::UntrustedIssuer
            }
            _ => Rejection::SignatureInvalid("digest or signature value does not match"),
        }
    }
}

/// SHA-256 of what decides a signature's outcome once the structure is checked: the header's
/// start tag (every namespace in scope at the assertion is declared there) and the exact bytes
/// of the assertion, its direct child. `None` if they cannot be told apart, and then nothing
/// is remembered.
fn signed_content_digest(xml: &str) -> Option<[u8; 32]> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0usize;
    let mut root_start_tag_end = None;
    let mut assertion_start = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        match reader.read_event().ok()? {
            Event::Start(element) => {
                depth += 1;
                if depth == 1 {
                    root_start_tag_end = Some(usize::try_from(reader.buffer_position()).ok()?);
                } else if depth == 2 && element.local_name().as_ref() == "Assertion" {
                    assertion_start = Some(before);
                }
            }
            Event::End(_) => {
                if depth == 2
                    && let Some(start) = assertion_start
                {
                    let end = usize::try_from(reader.buffer_position()).ok()?;
                    let mut hasher = Sha256::new();
                    hasher.update(xml.get(..root_start_tag_end?)?.as_bytes());
                    hasher.update(xml.get(start..end)?.as_bytes());
                    return Some(hasher.finalize().into());
                }
                depth = depth.checked_sub(1)?;
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn not_allowed(role: &'static str, uri: &str) -> Rejection {
    Rejection::AlgorithmNotAllowed {
        role,
        uri: uri.chars().take(200).collect(),
    }
}

/// The assertion's own id: DGWS uses `id`, SAML 2.0 `ID`; exactly one of the id attributes.
fn own_id<'d>(doc: &'d Document<'_>, node: NodeId) -> Result<&'d str, Rejection> {
    let element = doc.element(node).ok_or(Rejection::Malformed(
        "the assertion is not an element".into(),
    ))?;
    let ids: Vec<&str> = element
        .attributes
        .iter()
        .filter(|a| ID_ATTRIBUTE_NAMES.contains(&&*a.name.local_name))
        .map(|a| &*a.value)
        .collect();
    match ids.as_slice() {
        [] => Err(Rejection::MissingAttribute("assertion id")),
        [id] if !id.is_empty() => Ok(id),
        [_] => Err(Rejection::InvalidAttribute {
            name: "assertion id",
            why: "empty",
        }),
        _ => Err(Rejection::Malformed(
            "the assertion has more than one id attribute".into(),
        )),
    }
}

/// Decodes an element's text as canonical base64 (XML whitespace allowed between digits).
fn strict_base64(
    doc: &Document<'_>,
    node: NodeId,
    name: &'static str,
) -> Result<Vec<u8>, Rejection> {
    use base64::Engine;
    let raw = text(doc, node, name)?;
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .ok_or(Rejection::SignatureInvalid(
            "a base64 value is not canonical",
        ))
}

/// The certificate of `ds:KeyInfo`, which must be exactly
/// `X509Data/X509Certificate` (one certificate; nothing else that could steer key selection).
fn key_info_certificate(doc: &Document<'_>, key_info: NodeId) -> Result<Vec<u8>, Rejection> {
    let malformed =
        || Rejection::Malformed("ds:KeyInfo must hold exactly one X509Data/X509Certificate".into());
    let [data] = element_children(doc, key_info)[..] else {
        return Err(malformed());
    };
    if !is(doc, data, ns::DS, "X509Data") {
        return Err(malformed());
    }
    let [certificate] = element_children(doc, data)[..] else {
        return Err(malformed());
    };
    if !is(doc, certificate, ns::DS, "X509Certificate") {
        return Err(malformed());
    }
    strict_base64(doc, certificate, "X509Certificate")
}

fn algorithm<'d>(doc: &'d Document<'_>, node: NodeId) -> Result<&'d str, Rejection> {
    doc.get_attribute(node, "Algorithm")
        .ok_or(Rejection::Malformed(
            "an Algorithm attribute is missing".into(),
        ))
}

fn local_name<'d>(doc: &'d Document<'_>, node: NodeId) -> Option<&'d str> {
    doc.element(node).map(|e| &*e.name.local_name)
}

fn is(doc: &Document<'_>, node: NodeId, namespace: &str, local: &str) -> bool {
    doc.element(node).is_some_and(|e| {
        e.name.local_name == local && e.name.namespace_uri.as_deref() == Some(namespace)
    })
}

fn element_children(doc: &Document<'_>, node: NodeId) -> Vec<NodeId> {
    doc.children(node)
        .into_iter()
        .filter(|&c| doc.element(c).is_some())
        .collect()
}

fn child(doc: &Document<'_>, node: NodeId, namespace: &str, local: &str) -> Option<NodeId> {
    let mut found = element_children(doc, node)
        .into_iter()
        .filter(|&c| is(doc, c, namespace, local));
    let first = found.next()?;
    // A second one makes the card ambiguous; treat it as absent so the caller rejects.
    if found.next().is_some() {
        return None;
    }
    Some(first)
}

/// The signed text of an element: its text and CDATA children concatenated (comments are not
/// signed by exclusive c14n and so are not read either). Element content is refused.
fn text(doc: &Document<'_>, node: NodeId, name: &'static str) -> Result<String, Rejection> {
    let mut out = String::new();
    for c in doc.children(node) {
        match doc.node_kind(c) {
            Some(NodeKind::Text(t)) | Some(NodeKind::CData(t)) => out.push_str(t),
            Some(NodeKind::Comment(_)) => {}
            _ => {
                return Err(Rejection::InvalidAttribute {
                    name,
                    why: "not plain text",
                });
            }
        }
    }
    Ok(out.trim().to_owned())
}

/// One `saml:Attribute` of the card.
struct CardAttribute {
    name: String,
    name_format: Option<String>,
    value: String,
}

fn read_card(
    doc: &Document<'_>,
    assertion: NodeId,
    now: OffsetDateTime,
    skew: time::Duration,
) -> Result<Caller, Rejection> {
    // Validity first: an expired card says so regardless of its content.
    let conditions = child(doc, assertion, ns::SAML2, "Conditions")
        .ok_or(Rejection::MissingAttribute("saml:Conditions"))?;
    let not_before = instant(doc, conditions, "NotBefore")?;
    let not_on_or_after = instant(doc, conditions, "NotOnOrAfter")?;
    if not_on_or_after <= not_before {
        return Err(Rejection::InvalidAttribute {
            name: "saml:Conditions",
            why: "NotOnOrAfter is not after NotBefore",
        });
    }
    if not_on_or_after - not_before > CARD_LIFETIME_MAX {
        return Err(Rejection::LifetimeTooLong);
    }
    if now + skew < not_before {
        return Err(Rejection::NotYetValid);
    }
    if now - skew >= not_on_or_after {
        return Err(Rejection::Expired);
    }

    if doc.get_attribute(assertion, "Version") != Some("2.0") {
        return Err(Rejection::InvalidAttribute {
            name: "saml:Assertion Version",
            why: "not 2.0",
        });
    }
    let issuer_node = child(doc, assertion, ns::SAML2, "Issuer")
        .ok_or(Rejection::MissingAttribute("saml:Issuer"))?;
    let issuer = text(doc, issuer_node, "saml:Issuer")?;
    if issuer.is_empty() {
        return Err(Rejection::MissingAttribute("saml:Issuer"));
    }
    let subject = child(doc, assertion, ns::SAML2, "Subject")
        .ok_or(Rejection::MissingAttribute("saml:Subject"))?;
    let name_id_node = child(doc, subject, ns::SAML2, "NameID")
        .ok_or(Rejection::MissingAttribute("saml:NameID"))?;
    let name_id = text(doc, name_id_node, "saml:NameID")?;
    let name_id_format = doc.get_attribute(name_id_node, "Format").unwrap_or("");

    let attributes = attributes(doc, assertion)?;
    let one = |name: &'static str| -> Result<Option<&str>, Rejection> {
        let mut values = attributes
            .iter()
            .filter(|a| a.name == name)
            .map(|a| a.value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Rejection::InvalidAttribute {
                name,
                why: "given more than once",
            });
        }
        Ok(first)
    };
    let required = |name: &'static str| -> Result<&str, Rejection> {
        match one(name)? {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Rejection::MissingAttribute(name)),
        }
    };

    let card_id = required(card::ID_CARD_ID)?.to_owned();
    required(card::ID_CARD_VERSION)?;
    let card_type = required(card::ID_CARD_TYPE)?;
    let level = required(card::AUTHENTICATION_LEVEL)?;
    if !matches!(level, "1" | "2" | "3" | "4" | "5") {
        return Err(Rejection::InvalidAttribute {
            name: card::AUTHENTICATION_LEVEL,
            why: "not 1 to 5",
        });
    }

    // Organisation: CareProviderID may appear once per NameFormat.
    let mut organisation = Organisation::default();
    for a in attributes
        .iter()
        .filter(|a| a.name == card::CARE_PROVIDER_ID)
    {
        let slot = match a.name_format.as_deref() {
            Some(card::FORMAT_SOR) if is_sor(&a.value) => &mut organisation.sor,
            Some(card::FORMAT_CVR) if is_cvr(&a.value) => &mut organisation.cvr,
            Some(card::FORMAT_SOR) | Some(card::FORMAT_CVR) => {
                return Err(Rejection::InvalidAttribute {
                    name: card::CARE_PROVIDER_ID,
                    why: "not a SOR code or CVR number of the stated format",
                });
            }
            // ynumber, pnumber, skscode: DGWS formats we do not use to identify organisations.
            _ => continue,
        };
        if slot.replace(a.value.clone()).is_some() {
            return Err(Rejection::InvalidAttribute {
                name: card::CARE_PROVIDER_ID,
                why: "given more than once with the same format",
            });
        }
    }
    organisation.name = one(card::CARE_PROVIDER_NAME)?
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let it_system = one(card::IT_SYSTEM_NAME)?
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let on_behalf_of = match one(card::ON_BEHALF_OF)?.filter(|v| !v.is_empty()) {
        Some(cpr) if is_cpr(cpr) => Some(cpr.to_owned()),
        Some(_) => {
            return Err(Rejection::InvalidAttribute {
                name: card::ON_BEHALF_OF,
                why: "not a CPR number",
            });
        }
        None => None,
    };

    let (person, role, authorisation_code) = match card_type {
        "system" => {
            if name_id_format != card::FORMAT_CVR || !is_cvr(&name_id) {
                return Err(Rejection::InvalidAttribute {
                    name: "saml:NameID",
                    why: "a system card must name a CVR number (format medcom:cvrnumber)",
                });
            }
            if one(card::USER_CPR)?.is_some() || one(card::USER_ROLE)?.is_some() {
                return Err(Rejection::InvalidAttribute {
                    name: card::ID_CARD_TYPE,
                    why: "a system card names no user",
                });
            }
            match &organisation.cvr {
                Some(cvr) if *cvr != name_id => {
                    return Err(Rejection::InvalidAttribute {
                        name: card::CARE_PROVIDER_ID,
                        why: "differs from the CVR number in saml:NameID",
                    });
                }
                Some(_) => {}
                None => organisation.cvr = Some(name_id.clone()),
            }
            (None, Role::System, None)
        }
        "user" => {
            let cpr = required(card::USER_CPR)?;
            if !is_cpr(cpr) {
                return Err(Rejection::InvalidAttribute {
                    name: card::USER_CPR,
                    why: "not a CPR number",
                });
            }
            if name_id_format == card::FORMAT_CPR && name_id != cpr {
                return Err(Rejection::InvalidAttribute {
                    name: "saml:NameID",
                    why: "differs from the user's CPR number",
                });
            }
            let role =
                Role::from_user_role(required(card::USER_ROLE)?).ok_or(Rejection::UnknownRole)?;
            let person = Person {
                cpr: cpr.to_owned(),
                given_name: required(card::USER_GIVEN_NAME)?.to_owned(),
                surname: required(card::USER_SURNAME)?.to_owned(),
            };
            let code = one(card::USER_AUTHORIZATION_CODE)?
                .filter(|v| !v.is_empty())
                .map(str::to_owned);
            (Some(person), role, code)
        }
        _ => {
            return Err(Rejection::InvalidAttribute {
                name: card::ID_CARD_TYPE,
                why: "neither user nor system",
            });
        }
    };
    let needs_organisation = role.is_health_professional() || role == Role::System;
    if needs_organisation && organisation.sor.is_none() && organisation.cvr.is_none() {
        return Err(Rejection::MissingAttribute(card::CARE_PROVIDER_ID));
    }

    Ok(Caller {
        person,
        role,
        authorisation_code,
        organisation,
        it_system,
        on_behalf_of,
        card_id,
        issuer,
        valid_until: not_on_or_after,
    })
}

fn instant(
    doc: &Document<'_>,
    conditions: NodeId,
    name: &'static str,
) -> Result<OffsetDateTime, Rejection> {
    let value = doc
        .get_attribute(conditions, name)
        .ok_or(Rejection::MissingAttribute("saml:Conditions validity"))?;
    OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|_| Rejection::InvalidAttribute {
        name: "saml:Conditions validity",
        why: "not an RFC 3339 date-time",
    })
}

/// Every `saml:Attribute` of the assertion's attribute statements, each with exactly one value.
fn attributes(doc: &Document<'_>, assertion: NodeId) -> Result<Vec<CardAttribute>, Rejection> {
    let mut out = Vec::new();
    for statement in element_children(doc, assertion)
        .into_iter()
        .filter(|&c| is(doc, c, ns::SAML2, "AttributeStatement"))
    {
        for attribute in element_children(doc, statement) {
            if !is(doc, attribute, ns::SAML2, "Attribute") {
                continue;
            }
            let Some(name) = doc.get_attribute(attribute, "Name") else {
                return Err(Rejection::Malformed("a saml:Attribute has no Name".into()));
            };
            let values: Vec<NodeId> = element_children(doc, attribute)
                .into_iter()
                .filter(|&v| is(doc, v, ns::SAML2, "AttributeValue"))
                .collect();
            let [value] = values.as_slice() else {
                return Err(Rejection::Malformed(
                    "a saml:Attribute does not have exactly one AttributeValue".into(),
                ));
            };
            out.push(CardAttribute {
                name: name.to_owned(),
                name_format: doc
                    .get_attribute(attribute, "NameFormat")
                    .map(str::to_owned),
                value: text(doc, *value, "saml:AttributeValue")?,
            });
        }
    }
    Ok(out)
}
