//! The registry endpoint over a real socket: ITI-42 then ITI-18 with signed ID cards, and the
//! door refusing (and recording once) what has no valid card or role.

mod support;

use dds::config::ServeFlags;
use identity::Role;
use support::{TestServer, base64_encode, sample, with_card};

fn find_documents(patient_cpr: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:8a6e5f4c-1111-4222-8333-944455556666</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{patient_cpr}^^^&amp;1.2.208.176.1.2&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot>
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#
    )
}

const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";

#[tokio::test]
async fn registered_document_is_found_by_a_doctor_and_by_its_patient() {
    let server = TestServer::start().await;
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&sample("iti-42/register-apd.xml"), &system),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(SUCCESS), "{body}");
    assert!(
        body.contains("urn:ihe:iti:2007:RegisterDocumentSet-bResponse"),
        "{body}"
    );

    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents("0201919990"), &doctor),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(SUCCESS), "{body}");
    assert_eq!(body.matches("<rim:ExtrinsicObject").count(), 1, "{body}");
    assert!(
        body.contains("urn:uuid:8a6e5f4c-1111-4222-8333-944455556666"),
        "RelatesTo: {body}"
    );

    let citizen = server.card(Role::Citizen, Some("0201919990"));
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents("0201919990"), &citizen),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("<rim:ExtrinsicObject").count(), 1, "{body}");
    assert_eq!(server.rejected().await.len(), 0);
}

#[tokio::test]
async fn invalid_submission_fails_with_its_code_and_stores_nothing() {
    let server = TestServer::start().await;
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&sample("invalid/iti42-missing-submissionset.xml"), &system),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ResponseStatusType:Failure"), "{body}");
    assert!(body.contains("XDSRegistryMetadataError"), "{body}");

    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (_, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents("0201919990"), &doctor),
        )
        .await;
    assert_eq!(body.matches("<rim:ExtrinsicObject").count(), 0, "{body}");
}

#[tokio::test]
async fn refused_requests_get_a_wsse_fault_and_exactly_one_record_each() {
    let server = TestServer::start().await;
    // No card at all.
    let (status, body) = server
        .post("/xds/registry", find_documents("0201919990"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("wsse:InvalidSecurity"), "{body}");

    // A card whose signed content was changed after signing.
    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let tampered = doctor.replacen("0804569723", "0804569724", 1);
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents("0201919990"), &tampered),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("wsse:FailedAuthentication"), "{body}");

    // A citizen asking for another person's documents.
    let citizen = server.card(Role::Citizen, Some("0101700013"));
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents("0201919990"), &citizen),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("wsse:FailedAuthentication"), "{body}");

    // A secretary may not register.
    let secretary = server.card(Role::Secretary, Some("0804569723"));
    let (status, _) = server
        .post(
            "/xds/registry",
            with_card(&sample("iti-42/register-apd.xml"), &secretary),
        )
        .await;
    assert_eq!(status, 400);

    let items = server.rejected().await;
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[2]["claimed_subject"], "CPR 0804569724", "{items:?}");
    assert_eq!(
        items[0]["transaction"], "urn:ihe:iti:2007:RegisterDocumentSet-b",
        "{items:?}"
    );
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post("/xds/registry", "x".repeat(65 * 1024 * 1024))
        .await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test]
async fn a_single_changed_byte_anywhere_in_the_card_is_refused_and_recorded() {
    let server = TestServer::start().await;
    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents("0201919990"), &doctor),
        )
        .await;
    assert_eq!(status, 200, "the untouched card is accepted: {body}");

    let bytes = doctor.as_bytes();
    let step = (bytes.len() / 40).max(1);
    let mut attempts = 0;
    for position in (0..bytes.len()).step_by(step) {
        let mut changed = bytes.to_vec();
        // Swap to another printable ASCII byte so the text stays UTF-8.
        changed[position] = if changed[position] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let Ok(changed) = String::from_utf8(changed) else {
            continue;
        };
        let (status, body) = server
            .post(
                "/xds/registry",
                with_card(&find_documents("0201919990"), &changed),
            )
            .await;
        // Most changes break the signature (a wsse: fault); a few break the XML itself, which
        // the envelope parser refuses first. Either way: refused, and recorded below.
        assert_eq!(status, 400, "byte {position} changed yet accepted: {body}");
        assert!(body.contains("soap:Sender"), "{body}");
        attempts += 1;
    }
    let recorded = server.rejected().await.len();
    assert!(attempts >= 30, "only {attempts} positions tried");
    assert_eq!(recorded, attempts, "one record per refused attempt");
}

#[tokio::test]
async fn known_patient_policy_accepts_only_fed_patients() {
    let server = TestServer::start_with(ServeFlags {
        patient_policy: Some(dds::config::PatientPolicy::Known),
        ..ServeFlags::default()
    })
    .await;
    let system = server.card(Role::System, None);
    let admin = base64_encode(server.card(Role::Admin, Some("0101700013")).as_bytes());
    let (base, http) = (&server.base, &server.http);
    let register = || async {
        let response = http
            .post(format!("{base}/xds/registry"))
            .header("content-type", "application/soap+xml")
            .body(with_card(&sample("iti-42/register-apd.xml"), &system))
            .send()
            .await
            .unwrap();
        response.text().await.unwrap()
    };
    let body = register().await;
    assert!(body.contains("XDSUnknownPatientId"), "{body}");

    let fed = http
        .post(format!("{base}/admin/v1/patients"))
        .header("authorization", format!("SAML {admin}"))
        .json(&serde_json::json!({"cpr": "0201919990"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fed.status().as_u16(), 201);
    let bad = http
        .post(format!("{base}/admin/v1/patients"))
        .header("authorization", format!("SAML {admin}"))
        .json(&serde_json::json!({"cpr": "12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let error: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(error["error"], "bad_cpr");

    let body = register().await;
    assert!(body.contains(SUCCESS), "{body}");
}

#[tokio::test]
async fn every_answer_names_its_request_id() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let other = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id);
}
