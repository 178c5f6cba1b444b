//! Named limits on outside input, enforced while parsing (never after the fact).
//!
//! Each limit is an ordinary error when exceeded, never a panic or a silent truncation.
//! Parsers take a [`XmlLimits`] value so a caller can tighten them; the defaults below are what
//! the service uses.

/// Deepest element nesting accepted. An ebRIM submission nests at most about 12 levels
/// (Envelope/Body/ProvideAndRegister/SubmitObjectsRequest/RegistryObjectList/ExtrinsicObject/
/// Classification/Slot/ValueList/Value); 64 leaves room for extensions and stops stack-depth
/// attacks.
pub const XML_DEPTH_MAX: usize = 64;

/// Most attributes on one element. ebRIM elements carry at most 6; namespace declarations count.
pub const XML_ATTRIBUTES_MAX: usize = 64;

/// Most elements in one XML document. A 1,000-document submission with rich metadata has about
/// 200 elements per document; 2 million leaves room and bounds the memory of a parsed message.
pub const XML_ELEMENTS_MAX: usize = 2_000_000;

/// Largest single text or attribute value, in bytes, for metadata. Inline (non-MTOM) documents
/// are bounded separately by [`DOCUMENT_BYTES_MAX`].
pub const XML_TEXT_BYTES_MAX: usize = 1024 * 1024;

/// Largest SOAP request body accepted on the registry endpoint.
pub const SOAP_BODY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Largest document accepted by the repository (also the default of the config key).
pub const DOCUMENT_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Limits an XML parser enforces while it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    pub depth_max: usize,
    pub attributes_max: usize,
    pub elements_max: usize,
    pub text_bytes_max: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            depth_max: XML_DEPTH_MAX,
            attributes_max: XML_ATTRIBUTES_MAX,
            elements_max: XML_ELEMENTS_MAX,
            text_bytes_max: XML_TEXT_BYTES_MAX,
        }
    }
}
