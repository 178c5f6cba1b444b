//! The ID card attack matrix: every way a card can be forged, replayed, wrapped or smuggled is
//! rejected with the cause it names, and every role's genuine card is accepted.
//!
//! All cases go through one helper, [`check`], which verifies a header against a verifier that
//! trusts only the first development STS. Cards that need a *valid* signature over something
//! unusual are built from `DevSts::card_template` and signed with the trusted key, so the
//! rejection is proven to come from the structural check and not from a broken signature.

use std::path::PathBuf;
use std::sync::OnceLock;

use identity::{
    CardRequest, DevSts, Rejection, Role, TrustStore, Verifier, VerifyConfig, security_header,
};
use time::OffsetDateTime;

const CPR: &str = "0101011234";
const OTHER_CPR: &str = "0202025678";
const SOR: &str = "123456789012345";
const CVR: &str = "12345678";

struct Env {
    sts: DevSts,
    other_sts: DevSts,
    verifier: Verifier,
    legacy_verifier: Verifier,
}

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("identity-test-{name}-{}", uuid::Uuid::new_v4()))
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let sts = DevSts::open_or_create(&temp_dir("trusted")).expect("trusted sts");
        let other_sts = DevSts::open_or_create(&temp_dir("other")).expect("other sts");
        let verifier = Verifier::new(TrustStore::with_dev_sts(&sts), VerifyConfig::default());
        let legacy_verifier = Verifier::new(
            TrustStore::with_dev_sts(&sts),
            VerifyConfig {
                allow_legacy_sha1: true,
                ..VerifyConfig::default()
            },
        );
        Env {
            sts,
            other_sts,
            verifier,
            legacy_verifier,
        }
    })
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn request(role: Role) -> CardRequest {
    let mut r = CardRequest::new(role);
    match role {
        Role::System => r.org_cvr = Some(CVR.into()),
        Role::Citizen | Role::Admin => r.cpr = Some(CPR.into()),
        _ => {
            r.cpr = Some(CPR.into());
            r.org_sor = Some(SOR.into());
            r.org_name = Some("Testafdeling".into());
            r.auth_code = Some("ABC12".into());
        }
    }
    r.it_system = Some("Test EPJ".into());
    r
}

fn doctor_card() -> String {
    env().sts.issue(&request(Role::Doctor)).expect("issue")
}

/// A doctor card template valid now, to be changed and then signed by the trusted STS.
fn template() -> String {
    let t = now();
    env()
        .sts
        .card_template(&request(Role::Doctor), t, t + time::Duration::hours(1))
        .expect("template")
}

fn sign(template: &str) -> String {
    env().sts.sign_template(template).expect("sign")
}

fn header(card: &str) -> String {
    security_header(card, now())
}

/// The one check helper: verify a header with the default verifier.
fn check(header: &str) -> Result<identity::Caller, Rejection> {
    env().verifier.verify(header.as_bytes(), &[], now())
}

#[track_caller]
fn assert_rejected(header: &str, kind: &str) {
    match check(header) {
        Ok(caller) => panic!("accepted, expected {kind}: {caller:?}"),
        Err(e) => assert_eq!(e.kind(), kind, "rejected for another cause: {e}"),
    }
}

/// Replaces exactly one occurrence (the test is wrong if there is not exactly one).
#[track_caller]
fn replace_one(haystack: &str, from: &str, to: &str) -> String {
    assert_eq!(haystack.matches(from).count(), 1, "expected one {from:?}");
    haystack.replacen(from, to, 1)
}

fn signature_of(card: &str) -> &str {
    let start = card.find("<ds:Signature ").expect("signature start");
    let end = card.find("</ds:Signature>").expect("signature end") + "</ds:Signature>".len();
    &card[start..end]
}

fn without_signature(card: &str) -> String {
    card.replace(signature_of(card), "")
}

const WSSE_OPEN: &str = "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">";
const WSSE_CLOSE: &str = "</wsse:Security>";

// ---- happy paths ----

#[test]
fn every_role_is_accepted_with_its_attributes() {
    for role in Role::ALL {
        let card = env().sts.issue(&request(role)).expect("issue");
        let caller = check(&header(&card)).unwrap_or_else(|e| panic!("{role}: {e}"));
        assert_eq!(caller.role, role);
        assert_eq!(caller.issuer, identity::DEV_STS_NAME);
        assert_eq!(caller.it_system.as_deref(), Some("Test EPJ"));
        assert!(caller.valid_until > now());
        assert!(!caller.card_id.is_empty());
        if role == Role::System {
            assert_eq!(caller.person, None);
            assert_eq!(caller.organisation.cvr.as_deref(), Some(CVR));
        } else {
            let person = caller.person.as_ref().expect("person");
            assert_eq!(person.cpr, CPR);
            assert!(!person.name().is_empty());
        }
        if role.is_health_professional() {
            assert_eq!(caller.organisation.sor.as_deref(), Some(SOR));
            assert_eq!(caller.organisation.name.as_deref(), Some("Testafdeling"));
            assert_eq!(caller.authorisation_code.as_deref(), Some("ABC12"));
        }
    }
}

#[test]
fn on_behalf_of_and_names_travel() {
    let mut r = request(Role::Secretary);
    r.name = Some("Anne Marie Sørensen & Co".into());
    r.on_behalf_of = Some(OTHER_CPR.into());
    let card = env().sts.issue(&r).expect("issue");
    let caller = check(&header(&card)).expect("accepted");
    let person = caller.person.expect("person");
    assert_eq!(person.given_name, "Anne Marie Sørensen &");
    assert_eq!(person.surname, "Co");
    assert_eq!(caller.on_behalf_of.as_deref(), Some(OTHER_CPR));
}

#[test]
fn a_bare_card_is_verified_like_a_header() {
    let caller = env()
        .verifier
        .verify_card(doctor_card().as_bytes(), now())
        .expect("accepted");
    assert_eq!(caller.role, Role::Doctor);
}

#[test]
fn prefixes_declared_on_the_envelope_are_honoured() {
    // The Security element uses prefixes declared only by its ancestors.
    let card = doctor_card();
    let header = format!(
        "<wsse:Security><wsu:Timestamp><wsu:Created>2026-01-01T00:00:00Z</wsu:Created></wsu:Timestamp>{card}</wsse:Security>"
    );
    let in_scope = [
        ("soap", "http://www.w3.org/2003/05/soap-envelope"),
        ("wsse", identity::ns::WSSE),
        ("wsu", identity::ns::WSU),
        ("saml", "urn:example:wrong"),
        ("saml", identity::ns::SAML2), // the nearer declaration wins
    ];
    let caller = env()
        .verifier
        .verify(header.as_bytes(), &in_scope, now())
        .expect("accepted");
    assert_eq!(caller.role, Role::Doctor);
    // Without them the header is not namespace-well-formed.
    assert!(check(&header).is_err());
    // Passed on as a standalone element (a repository asking the registry for its caller),
    // it verifies on its own to the same caller.
    let standalone = identity::standalone_security_header(header.as_bytes(), &in_scope).unwrap();
    assert_eq!(check(&standalone).expect("standalone accepted"), caller);
}

#[test]
fn a_card_from_disk_verifies_after_reopening_the_sts() {
    let dir = temp_dir("reopen");
    let first = DevSts::open_or_create(&dir).expect("create");
    let card = first.issue(&request(Role::Nurse)).expect("issue");
    let again = DevSts::open_or_create(&dir).expect("open");
    assert_eq!(first.certificate_der(), again.certificate_der());
    let trust = TrustStore::from_pem_files(&[dir.join(identity::STS_CERT_FILE)]).expect("pem");
    let verifier = Verifier::new(trust, VerifyConfig::default());
    verifier
        .verify(header(&card).as_bytes(), &[], now())
        .expect("accepted");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(identity::STS_KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

// ---- missing pieces ----

#[test]
fn no_header() {
    assert_eq!(
        env().verifier.verify(b"", &[], now()),
        Err(Rejection::HeaderMissing)
    );
}

#[test]
fn no_assertion() {
    let h = format!(
        "{WSSE_OPEN}<wsu:Timestamp><wsu:Created>2026-01-01T00:00:00Z</wsu:Created></wsu:Timestamp>{WSSE_CLOSE}"
    );
    assert_rejected(&h, "assertion_missing");
}

#[test]
fn unsigned_card() {
    assert_rejected(
        &header(&without_signature(&doctor_card())),
        "signature_missing",
    );
}

// ---- tampering ----

#[test]
fn cpr_changed_after_signing() {
    let card = doctor_card().replace(CPR, OTHER_CPR);
    assert_rejected(&header(&card), "signature_invalid");
}

#[test]
fn role_changed_after_signing() {
    let card = replace_one(
        &doctor_card(),
        "<saml:AttributeValue>doctor</saml:AttributeValue>",
        "<saml:AttributeValue>admin</saml:AttributeValue>",
    );
    assert_rejected(&header(&card), "signature_invalid");
}

#[test]
fn validity_extended_after_signing() {
    let card = doctor_card();
    let at = card.find("NotOnOrAfter=\"").expect("condition") + "NotOnOrAfter=\"".len();
    let mut bytes = card.into_bytes();
    // The hour's tens digit: 0 -> 1 or 1 -> 0 or 2 -> 3.
    bytes[at + 11] ^= 0x01;
    let card = String::from_utf8(bytes).expect("utf8");
    assert!(matches!(
        check(&header(&card)).map_err(|e| e.kind()),
        Err("signature_invalid" | "lifetime_too_long" | "invalid_attribute")
    ));
}

#[test]
fn comment_spliced_into_the_cpr_cannot_change_what_is_read() {
    // Exclusive c14n without comments drops the comment, so the signature still verifies;
    // what is read must then be the signed value, not the text before the comment.
    let card = doctor_card().replace(CPR, "01010<!-- -->11234");
    let caller = check(&header(&card)).expect("the signed content is unchanged");
    assert_eq!(caller.cpr(), Some(CPR));
    // And a card signed for a longer value cannot be truncated to a shorter one.
    let t = replace_one(
        &template(),
        "<saml:AttributeValue>Lene</saml:AttributeValue>",
        "<saml:AttributeValue>Lene.evil</saml:AttributeValue>",
    );
    let card = sign(&t).replace(">Lene.evil<", ">Lene<!---->.evil<");
    let caller = check(&header(&card)).expect("accepted");
    assert_eq!(caller.person.expect("person").given_name, "Lene.evil");
}

// ---- signature placement and wrapping ----

#[test]
fn signature_moved_into_another_element() {
    let card = doctor_card();
    let sig = signature_of(&card).to_owned();
    let moved = without_signature(&card).replacen(
        "</saml:AttributeStatement>",
        &format!("{sig}</saml:AttributeStatement>"),
        1,
    );
    assert_rejected(&header(&moved), "signature_misplaced");
    // First child instead of last.
    let first =
        without_signature(&card).replacen("<saml:Issuer>", &format!("{sig}<saml:Issuer>"), 1);
    assert_rejected(&header(&first), "signature_misplaced");
}

#[test]
fn signature_moved_to_the_security_header() {
    let card = doctor_card();
    let sig = signature_of(&card).to_owned();
    let open = WSSE_OPEN.replacen(">", " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">", 1);
    let h = format!("{open}{}{sig}{WSSE_CLOSE}", without_signature(&card));
    assert_rejected(&h, "signature_misplaced");
}

/// The evil twin of the doctor card: same ids, unsigned, CPR changed.
fn evil(card: &str) -> String {
    without_signature(card).replace(CPR, OTHER_CPR)
}

/// Gives every id of a card a suffix, so that only the assertion count can catch it.
fn rename_ids(card: &str) -> String {
    [
        "IDCard",
        "IDCardData",
        "UserLog",
        "SystemLog",
        "OCESSignature",
    ]
    .iter()
    .fold(card.to_owned(), |c, id| {
        c.replace(&format!("id=\"{id}\""), &format!("id=\"{id}-evil\""))
    })
}

#[test]
fn signed_assertion_wrapped_in_extensions_under_an_evil_one() {
    let card = doctor_card();
    let evil = evil(&card);
    let wrapped = evil.replacen(
        "</saml:Assertion>",
        &format!("<saml:Extensions>{card}</saml:Extensions></saml:Assertion>"),
        1,
    );
    assert_rejected(&header(&wrapped), "duplicate_id");
    // Same with the evil assertion's ids renamed, so only the count catches it.
    let renamed = rename_ids(&evil).replacen(
        "</saml:Assertion>",
        &format!("<saml:Extensions>{card}</saml:Extensions></saml:Assertion>"),
        1,
    );
    assert_rejected(&header(&renamed), "multiple_assertions");
}

#[test]
fn unsigned_assertion_placed_first() {
    let card = doctor_card();
    let twin = evil(&card);
    assert_rejected(
        &format!("{WSSE_OPEN}{twin}{card}{WSSE_CLOSE}"),
        "duplicate_id",
    );
    let renamed = rename_ids(&twin);
    assert_rejected(
        &format!("{WSSE_OPEN}{renamed}{card}{WSSE_CLOSE}"),
        "multiple_assertions",
    );
}

#[test]
fn signed_assertion_moved_into_another_header_element() {
    let card = doctor_card();
    let nested =
        format!("{WSSE_OPEN}<dds:Other xmlns:dds=\"urn:dds:2026\">{card}</dds:Other>{WSSE_CLOSE}");
    assert_rejected(&nested, "wrapping");
    let evil = rename_ids(&evil(&card));
    let with_evil = format!(
        "{WSSE_OPEN}{evil}<dds:Other xmlns:dds=\"urn:dds:2026\">{card}</dds:Other>{WSSE_CLOSE}"
    );
    assert_rejected(&with_evil, "multiple_assertions");
}

#[test]
fn ds_object_wrapping() {
    let card = doctor_card();
    // Unsigned content smuggled into the signature itself.
    let smuggled = card.replacen(
        "</ds:Signature>",
        "<ds:Object><saml:AttributeValue>admin</saml:AttributeValue></ds:Object></ds:Signature>",
        1,
    );
    assert_rejected(&header(&smuggled), "wrapping");
    // The classic: the original signed assertion inside ds:Object of the evil one's signature.
    let with_object = |sig: &str| {
        sig.replacen(
            "</ds:Signature>",
            &format!("<ds:Object>{card}</ds:Object></ds:Signature>"),
            1,
        )
    };
    let sig = signature_of(&card).to_owned();
    let twin = evil(&card).replacen(
        "</saml:Assertion>",
        &format!("{}</saml:Assertion>", with_object(&sig)),
        1,
    );
    assert_rejected(&header(&twin), "duplicate_id");
    // With the evil assertion's and signature's ids renamed, the count still catches it.
    let renamed = rename_ids(&evil(&card)).replacen(
        "</saml:Assertion>",
        &format!("{}</saml:Assertion>", with_object(&rename_ids(&sig))),
        1,
    );
    assert_rejected(&header(&renamed), "multiple_assertions");
}

#[test]
fn reference_to_a_different_id() {
    // Validly signed by the trusted STS, but the signature covers only IDCardData.
    let t = replace_one(&template(), "URI=\"#IDCard\"", "URI=\"#IDCardData\"");
    assert_rejected(&header(&sign(&t)), "reference_mismatch");
    // Retargeting a genuine card's reference after signing.
    let card = replace_one(&doctor_card(), "URI=\"#IDCard\"", "URI=\"#UserLog\"");
    assert_rejected(&header(&card), "reference_mismatch");
    // An empty URI (whole document) is not the assertion either.
    let card = replace_one(&doctor_card(), "URI=\"#IDCard\"", "URI=\"\"");
    assert_rejected(&header(&card), "reference_mismatch");
}

#[test]
fn two_assertions() {
    let a = doctor_card();
    let b = env().sts.issue(&request(Role::Nurse)).expect("issue");
    assert_rejected(&format!("{WSSE_OPEN}{a}{b}{WSSE_CLOSE}"), "duplicate_id");
    // Two validly signed cards with distinct ids.
    let t = template()
        .replace("id=\"IDCard\"", "id=\"IDCard2\"")
        .replace("URI=\"#IDCard\"", "URI=\"#IDCard2\"")
        .replace("id=\"IDCardData\"", "id=\"IDCardData2\"")
        .replace("id=\"UserLog\"", "id=\"UserLog2\"")
        .replace("id=\"SystemLog\"", "id=\"SystemLog2\"")
        .replace("id=\"OCESSignature\"", "id=\"OCESSignature2\"");
    let b = sign(&t);
    assert_rejected(
        &format!("{WSSE_OPEN}{a}{b}{WSSE_CLOSE}"),
        "multiple_assertions",
    );
}

#[test]
fn id_duplicated_on_another_element() {
    let card = doctor_card();
    let h = format!(
        "{WSSE_OPEN}<wsu:Timestamp wsu:Id=\"IDCard\"><wsu:Created>2026-01-01T00:00:00Z</wsu:Created></wsu:Timestamp>{card}{WSSE_CLOSE}"
    );
    assert_rejected(&h, "duplicate_id");
    let inner = replace_one(&card, "<saml:Issuer>", "<saml:Issuer ID=\"IDCard\">");
    assert_rejected(&header(&inner), "duplicate_id");
}

#[test]
fn signature_referencing_the_parent() {
    // A signature over the whole wsse:Security element, made with the trusted key.
    let t = replace_one(&template(), "URI=\"#IDCard\"", "URI=\"#sec\"");
    let doc = format!(
        "<wsse:Security xmlns:wsse=\"{}\" xmlns:wsu=\"{}\" wsu:Id=\"sec\">{t}{WSSE_CLOSE}",
        identity::ns::WSSE,
        identity::ns::WSU
    );
    let signed = sign(&doc);
    assert_rejected(&signed, "reference_mismatch");
}

// ---- validity window ----

#[test]
fn expired() {
    let card = env()
        .sts
        .issue_at(
            &CardRequest {
                valid_minutes: 60,
                ..request(Role::Doctor)
            },
            now() - time::Duration::hours(3),
        )
        .expect("issue");
    assert_rejected(&header(&card), "expired");
}

#[test]
fn not_yet_valid() {
    let card = env()
        .sts
        .issue_at(&request(Role::Doctor), now() + time::Duration::hours(1))
        .expect("issue");
    assert_rejected(&header(&card), "not_yet_valid");
}

#[test]
fn clock_skew_is_tolerated() {
    let card = env()
        .sts
        .issue_at(&request(Role::Doctor), now() + time::Duration::minutes(2))
        .expect("issue");
    check(&header(&card)).expect("within the default 5 minutes of skew");
}

#[test]
fn lifetime_over_24_hours() {
    let mut r = request(Role::Doctor);
    r.valid_minutes = 24 * 60 + 1;
    assert!(env().sts.issue(&r).is_err(), "the STS refuses to issue it");
    let t = now();
    let template = env()
        .sts
        .card_template(
            &request(Role::Doctor),
            t - time::Duration::hours(1),
            t + time::Duration::hours(24),
        )
        .expect("template");
    assert_rejected(&header(&sign(&template)), "lifetime_too_long");
}

// ---- trust and algorithms ----

#[test]
fn untrusted_issuer() {
    let card = env()
        .other_sts
        .issue(&request(Role::Doctor))
        .expect("issue");
    assert_rejected(&header(&card), "untrusted_issuer");
    // Swapping in the trusted certificate does not help: the key does not match.
    let ours = base64_cert(&env().sts);
    let theirs = base64_cert(&env().other_sts);
    assert_rejected(&header(&card.replace(&theirs, &ours)), "signature_invalid");
    // Nor does an empty trust store trust anybody.
    let nobody = Verifier::new(TrustStore::empty(), VerifyConfig::default());
    let err = nobody
        .verify(header(&doctor_card()).as_bytes(), &[], now())
        .expect_err("rejected");
    assert_eq!(err.kind(), "untrusted_issuer");
}

fn base64_cert(sts: &DevSts) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(sts.certificate_der())
}

#[test]
fn key_info_must_be_the_verifying_certificate() {
    let card = doctor_card();
    let other = base64_cert(&env().other_sts);
    let swapped = card.replace(&base64_cert(&env().sts), &other);
    assert_rejected(&header(&swapped), "signature_invalid");
}

#[test]
fn rsa_sha1_only_when_legacy_cards_are_allowed() {
    let t = template()
        .replace(identity::ns::alg::RSA_SHA256, identity::ns::alg::RSA_SHA1)
        .replace(identity::ns::alg::SHA256, identity::ns::alg::SHA1);
    let h = header(&sign(&t));
    assert_rejected(&h, "algorithm_not_allowed");
    env()
        .legacy_verifier
        .verify(h.as_bytes(), &[], now())
        .expect("accepted when legacy SHA-1 is allowed");
    // A SHA-256 digest with an RSA-SHA1 signature is legacy as well.
    let t = template().replace(identity::ns::alg::RSA_SHA256, identity::ns::alg::RSA_SHA1);
    assert_rejected(&header(&sign(&t)), "algorithm_not_allowed");
}

#[test]
fn hmac_and_none_are_not_signature_methods() {
    let card = doctor_card();
    for method in [
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        "none",
        "",
    ] {
        let forged = replace_one(&card, identity::ns::alg::RSA_SHA256, method);
        assert_rejected(&header(&forged), "algorithm_not_allowed");
    }
    let forged = card.replace(
        identity::ns::alg::EXC_C14N,
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    );
    assert_rejected(&header(&forged), "algorithm_not_allowed");
    let forged = replace_one(
        &card,
        identity::ns::alg::SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#md5",
    );
    assert_rejected(&header(&forged), "algorithm_not_allowed");
    let xslt = card.replacen(
        "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
        1,
    );
    assert_rejected(&header(&xslt), "algorithm_not_allowed");
}

// ---- XML-level attacks ----

#[test]
fn doctype_is_forbidden() {
    let card = doctor_card();
    let h = format!(
        "<!DOCTYPE wsse:Security [<!ENTITY cpr \"{OTHER_CPR}\">]>{}",
        header(&card)
    );
    assert_rejected(&h, "doctype_forbidden");
    let inner = header(&card).replacen("<wsu:Timestamp>", "<!DOCTYPE x><wsu:Timestamp>", 1);
    assert!(check(&inner).is_err());
}

#[test]
fn entity_references_and_pis_are_refused() {
    let card = doctor_card().replacen(CPR, "&cpr;", 1);
    assert_rejected(&header(&card), "malformed");
    let pi = header(&doctor_card()).replacen("<wsu:Timestamp>", "<?evil x?><wsu:Timestamp>", 1);
    assert_rejected(&pi, "malformed");
}

#[test]
fn limits() {
    let big = format!(
        "{WSSE_OPEN}{}{WSSE_CLOSE}",
        " ".repeat(identity::SECURITY_HEADER_BYTES_MAX)
    );
    assert_rejected(&big, "header_too_large");
    let deep = format!(
        "{WSSE_OPEN}{}{}{WSSE_CLOSE}",
        "<a>".repeat(identity::XML_DEPTH_MAX + 1),
        "</a>".repeat(identity::XML_DEPTH_MAX + 1)
    );
    assert_rejected(&deep, "malformed");
    assert_rejected("<wsse:Security", "malformed");
}

#[test]
fn any_single_byte_change_inside_the_signed_assertion_is_rejected() {
    let card = doctor_card();
    let h = header(&card);
    check(&h).expect("the unmodified card is accepted");
    let start = h.find("<saml:Assertion").expect("assertion");
    let end = h.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
    // Every position, three different changes each (a low bit, a middle bit, the ASCII case
    // bit), plus replacing the byte by a space; together a few seconds.
    let mut tried = 0;
    for at in start..end {
        let original = h.as_bytes()[at];
        let replacements = [original ^ 0x01, original ^ 0x04, original ^ 0x20, b' ']
            .into_iter()
            .filter(|&b| b != original);
        for replacement in replacements {
            let mut bytes = h.clone().into_bytes();
            bytes[at] = replacement;
            if let Ok(caller) = env().verifier.verify(&bytes, &[], now()) {
                panic!(
                    "byte {} ({:?} -> {:?}) changed and still accepted: {caller:?}",
                    at - start,
                    original as char,
                    replacement as char
                );
            }
            tried += 1;
        }
    }
    assert!(tried > 1000);
}

// ---- claimed subject for the rejected-attempt record ----

#[test]
fn claimed_subject_of_a_rejected_card() {
    let card = doctor_card().replace(CPR, OTHER_CPR);
    assert!(check(&header(&card)).is_err());
    assert_eq!(
        identity::claimed_subject(header(&card).as_bytes()),
        Some(identity::ClaimedSubject::Cpr(OTHER_CPR.into()))
    );
    let system = env().sts.issue(&request(Role::System)).expect("issue");
    assert_eq!(
        identity::claimed_subject(system.as_bytes()),
        Some(identity::ClaimedSubject::Cvr(CVR.into()))
    );
    assert_eq!(identity::claimed_subject(b"<!DOCTYPE x><x/>"), None);
    assert_eq!(identity::claimed_subject(b"garbage"), None);
}

#[test]
fn rejections_map_to_ws_security_subcodes() {
    use identity::FaultSubcode;
    assert_eq!(
        Rejection::HeaderMissing.fault_subcode(),
        FaultSubcode::InvalidSecurity
    );
    assert_eq!(
        Rejection::Wrapping("x").fault_subcode(),
        FaultSubcode::InvalidSecurity
    );
    assert_eq!(
        Rejection::Expired.fault_subcode(),
        FaultSubcode::InvalidSecurityToken
    );
    assert_eq!(
        Rejection::UntrustedIssuer.fault_subcode(),
        FaultSubcode::FailedAuthentication
    );
    assert_eq!(
        Rejection::SignatureInvalid("x").fault_subcode().qname(),
        "wsse:FailedAuthentication"
    );
    // No card content in messages.
    let card = doctor_card().replace(CPR, OTHER_CPR);
    let err = check(&header(&card)).expect_err("rejected");
    assert!(!err.to_string().contains(OTHER_CPR));
}

#[test]
fn an_expired_sts_certificate_verifies_nothing() {
    // The development certificate is valid for ten years; eleven years on, a card that is
    // itself within its window is refused because its STS certificate is not.
    let later = now() + time::Duration::days(11 * 365);
    let card = env()
        .sts
        .issue_at(&request(Role::Doctor), later)
        .expect("issue");
    let err = env()
        .verifier
        .verify(
            header(&card).as_bytes(),
            &[],
            later + time::Duration::minutes(1),
        )
        .expect_err("rejected");
    assert_eq!(err.kind(), "untrusted_issuer");
}

#[test]
fn the_verifier_can_be_shared_between_request_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Verifier>();
    shareable::<DevSts>();
    shareable::<identity::Policy>();
}

#[test]
fn signed_cards_with_unacceptable_content() {
    // Each is genuinely signed by the trusted STS; the content itself is refused.
    let role = |value: &str| {
        replace_one(
            &template(),
            "<saml:AttributeValue>doctor</saml:AttributeValue>",
            &format!("<saml:AttributeValue>{value}</saml:AttributeValue>"),
        )
    };
    assert_rejected(&header(&sign(&role("pilot"))), "unknown_role");
    // A user card cannot make itself a system.
    assert_rejected(&header(&sign(&role("system"))), "unknown_role");
    // The Danish word is understood.
    let caller = check(&header(&sign(&role("Læge")))).expect("accepted");
    assert_eq!(caller.role, Role::Doctor);

    let t = template();
    let surname = t
        .find("<saml:Attribute Name=\"medcom:UserSurName\">")
        .expect("surname");
    let surname_end =
        t[surname..].find("</saml:Attribute>").expect("end") + surname + "</saml:Attribute>".len();
    let without = format!("{}{}", &t[..surname], &t[surname_end..]);
    assert_eq!(
        check(&header(&sign(&without))),
        Err(Rejection::MissingAttribute("medcom:UserSurName"))
    );

    let twice = replace_one(
        &template(),
        "</saml:AttributeStatement><saml:AttributeStatement id=\"SystemLog\">",
        &format!(
            "<saml:Attribute Name=\"medcom:UserCivilRegistrationNumber\"><saml:AttributeValue>{OTHER_CPR}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement><saml:AttributeStatement id=\"SystemLog\">"
        ),
    );
    assert_rejected(&header(&sign(&twice)), "invalid_attribute");

    let name_id = replace_one(
        &template(),
        &format!(">{CPR}</saml:NameID>"),
        &format!(">{OTHER_CPR}</saml:NameID>"),
    );
    assert_rejected(&header(&sign(&name_id)), "invalid_attribute");

    let version = replace_one(&template(), "Version=\"2.0\"", "Version=\"1.1\"");
    assert_rejected(&header(&sign(&version)), "invalid_attribute");
}

/// A verifier of its own, so that what it remembers comes from this test alone.
fn fresh_verifier() -> (Verifier, TrustStore) {
    let trust = TrustStore::with_dev_sts(&env().sts);
    (Verifier::new(trust.clone(), VerifyConfig::default()), trust)
}

#[test]
fn a_remembered_card_is_still_held_to_its_validity_window() {
    let (verifier, _) = fresh_verifier();
    // Issued an hour ahead, so that "before it was issued" is still within the STS
    // certificate's validity (the certificate was made when the test started).
    let issued = now() + time::Duration::hours(1);
    let card = env()
        .sts
        .issue_at(&request(Role::Doctor), issued)
        .expect("issue");
    let header = security_header(&card, issued);
    // Clients send the same card in headers whose timestamp changes: remembered once.
    for timestamp in [issued, issued + time::Duration::seconds(20)] {
        let caller = verifier
            .verify(
                security_header(&card, timestamp).as_bytes(),
                &[],
                issued + time::Duration::minutes(1),
            )
            .expect("accepted, then accepted again from memory");
        assert_eq!(caller.cpr(), Some(CPR));
        assert_eq!(verifier.remembered_signatures(), 1);
    }
    let expired = verifier
        .verify(header.as_bytes(), &[], issued + time::Duration::hours(9))
        .expect_err("eight-hour card, nine hours on");
    assert_eq!(expired.kind(), "expired");
    let early = verifier
        .verify(header.as_bytes(), &[], issued - time::Duration::minutes(30))
        .expect_err("half an hour before it was issued");
    assert_eq!(early.kind(), "not_yet_valid");
    // A single changed byte is another card, verified in full.
    let tampered = header.replacen(CPR, OTHER_CPR, 1);
    let err = verifier
        .verify(
            tampered.as_bytes(),
            &[],
            issued + time::Duration::minutes(1),
        )
        .expect_err("tampered");
    assert_eq!(err.kind(), "signature_invalid");
}

#[test]
fn a_remembered_card_is_refused_once_its_sts_certificate_expires() {
    let (verifier, trust) = fresh_verifier();
    let certificate_expires = trust.certs()[0].not_after;
    let issued = certificate_expires - time::Duration::hours(1);
    let card = env()
        .sts
        .issue_at(&request(Role::Doctor), issued)
        .expect("issue");
    let header = security_header(&card, issued);
    verifier
        .verify(header.as_bytes(), &[], issued + time::Duration::minutes(1))
        .expect("accepted while the certificate is valid");
    let err = verifier
        .verify(
            header.as_bytes(),
            &[],
            certificate_expires + time::Duration::minutes(1),
        )
        .expect_err("the card is within its window, its certificate is not");
    assert_eq!(err.kind(), "untrusted_issuer");
}
