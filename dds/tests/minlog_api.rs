//! The access log end to end: a hospital system stores an appointment, a doctor queries and
//! retrieves it, and the citizen reads both accesses in their MinLog; nobody else may.

mod support;

use identity::Role;
use support::{TestServer, base64_encode, sample, with_card};

const JENS: &str = "0101700013";
const UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const REPOSITORY: &str = "1.2.208.176.43210.8.10.11";

fn find_documents(patient_cpr: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:8a6e5f4c-1111-4222-8333-944455556667</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{patient_cpr}^^^&amp;1.2.208.176.1.2&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot>
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#
    )
}

fn retrieve(unique_id: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:0b0c5f3e-1111-4222-8333-944455556667</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{unique_id}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#
    )
}

async fn log_of(
    server: &TestServer,
    reader: &str,
    cpr: &str,
    query: &str,
) -> (u16, serde_json::Value) {
    let card = server.card(Role::Citizen, Some(reader));
    let response = server
        .http
        .get(format!(
            "{}/minlog/v1/patients/{cpr}/entries{query}",
            server.base
        ))
        .header(
            "authorization",
            format!("SAML {}", base64_encode(card.as_bytes())),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_citizen_sees_the_doctors_query_and_retrieval() {
    let server = TestServer::start().await;
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post(
            "/xds/repository",
            with_card(&sample("iti-41/pnr-single-apd.xml"), &system),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ResponseStatusType:Success"), "{body}");

    let doctor = server.card(Role::Doctor, Some("0804569723"));
    let (status, body) = server
        .post("/xds/registry", with_card(&find_documents(JENS), &doctor))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(UNIQUE_ID), "{body}");
    let (status, body) = server
        .post("/xds/repository", with_card(&retrieve(UNIQUE_ID), &doctor))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, log) = log_of(&server, JENS, JENS, "").await;
    assert_eq!(status, 200, "{log}");
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    assert_eq!(items[0]["action"], "retrieve", "newest first: {log}");
    assert_eq!(items[1]["action"], "query", "{log}");
    assert_eq!(items[2]["action"], "register", "{log}");
    assert_eq!(items[2]["user"]["role"], "system", "{log}");
    assert_eq!(
        items[2]["documents"],
        serde_json::json!([UNIQUE_ID]),
        "{log}"
    );
    for item in &items[..2] {
        assert_eq!(item["documents"], serde_json::json!([UNIQUE_ID]), "{log}");
        assert_eq!(item["user"]["role"], "doctor", "{log}");
        assert_eq!(
            item["user"]["organisation"]["sor"], "328081000016004",
            "{log}"
        );
        assert_eq!(item["outcome"], "allowed", "{log}");
        assert_eq!(item["override"], serde_json::Value::Null, "{log}");
    }
    assert_eq!(log["next_cursor"], serde_json::Value::Null);

    let (_, page) = log_of(&server, JENS, JENS, "?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = log_of(&server, JENS, JENS, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["action"], "query", "{rest}");

    let (_, none) = log_of(&server, JENS, JENS, "?to=2000-01-01").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
    let (status, bad) = log_of(&server, JENS, JENS, "?from=yesterday").await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"], "bad_time");

    // Another citizen may not read Jens's log; the refusal is recorded.
    let (status, _) = log_of(&server, "0201919990", JENS, "").await;
    assert_eq!(status, 403);
    assert_eq!(server.rejected().await.len(), 1);
}

/// GET /minlog/v1/delegations/{doctor_cpr}/entries as `card` (base64'd here).
async fn delegations_of(
    server: &TestServer,
    card: &str,
    doctor_cpr: &str,
    query: &str,
) -> (u16, serde_json::Value) {
    let response = server
        .http
        .get(format!(
            "{}/minlog/v1/delegations/{doctor_cpr}/entries{query}",
            server.base
        ))
        .header(
            "authorization",
            format!("SAML {}", base64_encode(card.as_bytes())),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_doctor_sees_what_a_delegate_did_on_their_behalf() {
    const DOCTOR: &str = "0804569723";
    let server = TestServer::start().await;
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post(
            "/xds/repository",
            with_card(&sample("iti-41/pnr-single-apd.xml"), &system),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut secretary = identity::CardRequest::new(Role::Secretary);
    secretary.cpr = Some("1502801236".into());
    secretary.org_sor = Some("328081000016004".into());
    secretary.on_behalf_of = Some(DOCTOR.into());
    let secretary = server.sts.issue(&secretary).unwrap();
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents(JENS), &secretary),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .post(
            "/xds/repository",
            with_card(&retrieve(UNIQUE_ID), &secretary),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The doctor's own access is not a delegation.
    let doctor = server.card(Role::Doctor, Some(DOCTOR));
    let (status, body) = server
        .post("/xds/registry", with_card(&find_documents(JENS), &doctor))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, log) = delegations_of(&server, &doctor, DOCTOR, "").await;
    assert_eq!(status, 200, "{log}");
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(items[0]["action"], "retrieve", "newest first: {log}");
    assert_eq!(items[1]["action"], "query", "{log}");
    for item in items {
        assert_eq!(item["patient_cpr"], JENS, "{log}");
        assert_eq!(item["on_behalf_of"], DOCTOR, "{log}");
        assert_eq!(item["user"]["role"], "secretary", "{log}");
        assert_eq!(item["documents"], serde_json::json!([UNIQUE_ID]), "{log}");
        assert_eq!(item["override"], serde_json::Value::Null, "{log}");
        assert_eq!(item["outcome"], "allowed", "{log}");
    }
    // The same entry as the citizen's view (where the doctor's own query came after it),
    // plus the patient.
    let (_, citizen_log) = log_of(&server, JENS, JENS, "").await;
    let mut as_citizen_sees_it = items[0].clone();
    as_citizen_sees_it
        .as_object_mut()
        .unwrap()
        .remove("patient_cpr");
    assert_eq!(as_citizen_sees_it, citizen_log["items"][1]);

    let (_, page) = delegations_of(&server, &doctor, DOCTOR, "?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = delegations_of(
        &server,
        &doctor,
        DOCTOR,
        &format!("?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(rest["items"][0]["action"], "query", "{rest}");
    assert_eq!(rest["next_cursor"], serde_json::Value::Null, "{rest}");
    let (_, none) = delegations_of(&server, &doctor, DOCTOR, "?to=2000-01-01").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
    let (_, all) = delegations_of(
        &server,
        &doctor,
        DOCTOR,
        "?from=2000-01-01T00:00:00%2B01:00",
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let (status, bad) = delegations_of(&server, &doctor, DOCTOR, "?cursor=x").await;
    assert_eq!((status, bad["error"].as_str()), (400, Some("bad_cursor")));

    // An admin may read it; another doctor, the delegate and the citizen may not.
    let admin = server.card(Role::Admin, Some("0101700013"));
    let (status, log) = delegations_of(&server, &admin, DOCTOR, "").await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
    let other_doctor = server.card(Role::Doctor, Some("2512484916"));
    let citizen = server.card(Role::Citizen, Some(JENS));
    for card in [&other_doctor, &secretary, &citizen] {
        let (status, body) = delegations_of(&server, card, DOCTOR, "").await;
        assert_eq!(status, 403, "{body}");
    }
    assert_eq!(server.rejected().await.len(), 3);
}
