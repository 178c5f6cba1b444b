//! XML namespaces and algorithm URIs the ID card uses, spelled once.
//!
//! The XDS namespaces are the same strings as `xds_model::vocabulary::ns`; they are repeated
//! here so that `identity` does not depend on `xds-model` (ARCHITECTURE.md: service crates
//! depend on nothing they do not need).

pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// DGWS/SOSI (DK-PROFILE.md §2).
pub const SOSI: &str = "http://www.sosi.dk/sosi/2006/04/sosi-1.0.xsd";
/// DGWS MedCom header and attribute names (DK-PROFILE.md §2).
pub const MEDCOM: &str = "http://www.medcom.dk/dgws/2006/04/dgws-1.0.xsd";

/// Algorithm URIs (XML-DSig 1.0/1.1, RFC 6931).
pub mod alg {
    pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
    pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    /// Legacy: only when `VerifyConfig::allow_legacy_sha1` is set.
    pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
    pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    /// Legacy: only when `VerifyConfig::allow_legacy_sha1` is set.
    pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
}

/// SAML and DGWS vocabulary used inside the card.
pub mod card {
    pub const HOLDER_OF_KEY: &str = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key";
    pub const FORMAT_CPR: &str = "medcom:cprnumber";
    pub const FORMAT_CVR: &str = "medcom:cvrnumber";
    pub const FORMAT_SOR: &str = "medcom:sornumber";
    pub const ID_CARD_ID: &str = "sosi:IDCardID";
    pub const ID_CARD_VERSION: &str = "sosi:IDCardVersion";
    pub const ID_CARD_TYPE: &str = "sosi:IDCardType";
    pub const AUTHENTICATION_LEVEL: &str = "sosi:AuthenticationLevel";
    pub const OCES_CERT_HASH: &str = "sosi:OCESCertHash";
    pub const USER_CPR: &str = "medcom:UserCivilRegistrationNumber";
    pub const USER_GIVEN_NAME: &str = "medcom:UserGivenName";
    pub const USER_SURNAME: &str = "medcom:UserSurName";
    pub const USER_ROLE: &str = "medcom:UserRole";
    pub const USER_AUTHORIZATION_CODE: &str = "medcom:UserAuthorizationCode";
    pub const IT_SYSTEM_NAME: &str = "medcom:ITSystemName";
    pub const CARE_PROVIDER_ID: &str = "medcom:CareProviderID";
    pub const CARE_PROVIDER_NAME: &str = "medcom:CareProviderName";
    /// Ours: the CPR of the health professional a delegate (e.g. a secretary) acts for. DGWS
    /// has no attribute for it; HSUID calls the same person
    /// `nsi:ResponsibleUserCivilRegistrationNumber`.
    pub const ON_BEHALF_OF: &str = "dds:OnBehalfOfCivilRegistrationNumber";
    pub const ID_CARD_VERSION_VALUE: &str = "1.0.1";
}
