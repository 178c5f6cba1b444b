//! `GET /metrics` counts and times every transaction, errors included, and reports the stores.
mod support;

use identity::Role;
use support::{TestServer, sample, with_card};

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[tokio::test]
async fn transactions_errors_and_store_sizes_are_exposed() {
    let server = TestServer::start().await;
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post(
            "/xds/repository",
            with_card(&sample("iti-41/pnr-single-apd.xml"), &system),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let doctor = server.card(Role::Doctor, Some("0804569723"));
    // The stored document's patient, so each query returns it and orders a follow-up.
    let query = sample("iti-18/find-documents-leafclass.xml").replace("2512489996", "0101700013");
    for _ in 0..2 {
        let (status, body) = server
            .post("/xds/registry", with_card(&query, &doctor))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("ExtrinsicObject"), "{body}");
    }
    // A query missing its patient: an ebRS Failure, counted as an error of ITI-18.
    let (status, _) = server
        .post(
            "/xds/registry",
            with_card(
                &sample("iti-18/find-documents-leafclass.xml")
                    .replace("$XDSDocumentEntryPatientId", "$NotAParameter"),
                &doctor,
            ),
        )
        .await;
    assert_eq!(status, 200);
    // No card: a fault on the registry endpoint.
    let (status, _) = server
        .post(
            "/xds/registry",
            sample("iti-18/find-documents-leafclass.xml"),
        )
        .await;
    assert_eq!(status, 400);

    let response = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(
        metric(&text, r#"dds_requests_total{transaction="ITI-41"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"dds_requests_total{transaction="ITI-18"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"dds_request_errors_total{transaction="ITI-18"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"dds_requests_total{transaction="registry"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"dds_request_errors_total{transaction="registry"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"dds_request_duration_seconds_count{transaction="ITI-18"}"#
        ),
        Some(3.0),
        "{text}"
    );
    // Each of the doctor's two queries that found the document ordered a follow-up; no BRS is
    // configured, so they wait.
    assert_eq!(
        metric(&text, r#"dds_outbox_followups{state="pending"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"dds_outbox_followups{state="dead"}"#),
        Some(0.0),
        "{text}"
    );
    let registry_bytes = metric(&text, r#"dds_store_bytes{store="registry"}"#).unwrap();
    assert!(registry_bytes > 0.0, "{text}");
}
