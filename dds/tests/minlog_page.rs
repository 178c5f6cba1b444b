//! The citizen's "My log" page (`GET /minlog/`).
//!
//! The browser test renders it in a real headless browser (Debian's chromium) behind a tiny
//! "portal" that fetches the page server-side with the citizen's card and serves it under its
//! own URL, exactly as a citizen portal embeds it (a browser cannot send the card itself). It
//! needs `/usr/bin/chromium` and fails without it: run `.ci/install-chromium`. The phone
//! screenshot goes to a temporary file; with `DDS_UPDATE_DOCS=1` it replaces
//! `docs/minlog-page.png` (not on every run: the times on the page change each run).
//!
//! The other tests read the page over plain HTTP: refusals, the period filter in Danish local
//! days, and paging with the cursor.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use identity::{CardRequest, Role};
use minlog::{AccessAction, AccessOutcome, AccessRecord};
use support::{TestServer, base64_encode, sample, with_card};

const JENS: &str = "0101700013";
const OTHER_PATIENT: &str = "0201919990";
const DOCTOR: &str = "0804569723";
const SECRETARY: &str = "1502801236";
const UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const REPOSITORY: &str = "1.2.208.176.43210.8.10.11";
const SOR_RIGSHOSPITALET: &str = "328081000016004";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one chromium run may take before the test gives up (a cold start in a busy
/// container takes seconds, not minutes).
const BROWSER_WAIT: Duration = Duration::from_secs(120);

/// A doctor Jens has blocked, who overrides the block in an emergency.
const OVERRIDING_DOCTOR: &str = "2512484916";
const OVERRIDE_REASON: &str = "Bevidstløs i akutmodtagelsen; medicinlisten var nødvendig";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizen_reads_their_log_in_a_real_browser() {
    let chromium = chromium();
    let server = TestServer::start().await;
    seed_accesses_over_soap(&server).await;
    // Værdispring: a doctor Jens has blocked retrieves his appointment with an override.
    let (status, body) = server
        .http
        .post(format!("{}/consent/v1/patients/{JENS}/blocks", server.base))
        .header(
            "authorization",
            format!(
                "SAML {}",
                base64_encode(citizen_card(&server, JENS).as_bytes())
            ),
        )
        .json(&serde_json::json!({"kind": "professional", "professional_cpr": OVERRIDING_DOCTOR}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 201, "{body:?}");
    let mut peter = CardRequest::new(Role::Doctor);
    peter.cpr = Some(OVERRIDING_DOCTOR.into());
    peter.name = Some("Peter Skov".into());
    peter.org_sor = Some(SOR_RIGSHOSPITALET.into());
    peter.org_name = Some("Rigshospitalet".into());
    let peter = server.sts.issue(&peter).unwrap();
    let override_header = format!(
        r#"<soap:Header><dds:ConsentOverride xmlns:dds="urn:dds:2026"><dds:Reason>{OVERRIDE_REASON}</dds:Reason></dds:ConsentOverride>"#
    );
    let request =
        with_card(&retrieve(UNIQUE_ID), &peter).replacen("<soap:Header>", &override_header, 1);
    let (status, body) = server.post("/xds/repository", request).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ResponseStatusType:Success"), "{body}");

    let portal = start_portal(&server, citizen_card(&server, JENS)).await;
    let dom = run_chromium(&chromium, &["--dump-dom", &portal]).await;
    let dom = String::from_utf8(dom).unwrap();

    assert!(dom.contains(r#"<html lang="da">"#), "{dom}");
    assert!(dom.contains("<h1>Min log</h1>"), "{dom}");
    assert!(dom.contains("Jens Hansen"), "the citizen is named: {dom}");
    // Four accesses concern Jens (the query about another patient is not his): the
    // registration, the doctor's query, the secretary's retrieval and the override.
    let entries: Vec<&str> = dom.split(r#"<li class="minlog-entry"#).skip(1).collect();
    assert_eq!(entries.len(), 4, "{dom}");
    // Newest first: the override, the secretary's retrieval, the doctor's query.
    assert!(entries[0].contains("minlog-override"), "{}", entries[0]);
    assert!(entries[0].contains("Værdispring"), "{}", entries[0]);
    assert!(entries[0].contains(OVERRIDE_REASON), "{}", entries[0]);
    assert!(entries[0].contains("Peter Skov"), "{}", entries[0]);
    assert!(entries[1].contains("Hentning"), "{}", entries[1]);
    assert!(
        entries[1].contains("Ida Engel, Lægesekretær"),
        "{}",
        entries[1]
    );
    assert!(
        entries[1].contains("Sundhedsperson med CPR 080456-xxxx"),
        "on whose behalf, masked: {}",
        entries[1]
    );
    assert!(
        !dom.contains(DOCTOR),
        "no full CPR of a professional: {dom}"
    );
    assert!(entries[2].contains("Opslag"), "{}", entries[2]);
    assert!(entries[2].contains("Karen Holm, Læge"), "{}", entries[2]);
    assert!(entries[3].contains("Registrering"), "{}", entries[3]);
    for entry in &entries[..3] {
        assert!(
            entry.contains(&format!("Rigshospitalet (SOR {SOR_RIGSHOSPITALET})")),
            "{entry}"
        );
        assert!(entry.contains(UNIQUE_ID), "{entry}");
        assert!(entry.contains("Oplysningerne blev vist"), "{entry}");
        assert!(entry.contains(r#"<time datetime="20"#), "{entry}");
        assert!(entry.contains(" kl. "), "Danish local time: {entry}");
        assert!(!entry.contains("minlog-override") || entry == &entries[0]);
    }
    // Form fields have labels; the landmarks are there.
    for field in ["minlog-from", "minlog-to"] {
        assert!(dom.contains(&format!(r#"<label for="{field}">"#)), "{dom}");
        assert!(dom.contains(&format!(r#"id="{field}""#)), "{dom}");
    }
    for landmark in ["<header>", "<main ", "<footer "] {
        assert!(dom.contains(landmark), "{landmark}: {dom}");
    }

    let screenshot_dir = tempfile::tempdir().unwrap();
    let screenshot = screenshot_dir.path().join("minlog-page.png");
    run_chromium(
        &chromium,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=390,844",
            "--hide-scrollbars",
            &portal,
        ],
    )
    .await;
    let png = std::fs::read(&screenshot).expect("chromium wrote no screenshot");
    assert_eq!(png_size(&png), (390, 844), "a phone-sized screenshot");
    if std::env::var_os("DDS_UPDATE_DOCS").is_some_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("minlog-page.png"), &png).unwrap();
    }
}

#[tokio::test]
async fn no_card_and_other_cards_get_a_page_saying_why() {
    let server = TestServer::start().await;
    let (status, content_type, body) = get_page(&server, None, "").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(body.contains(r#"<html lang="da">"#), "{body}");
    assert!(body.contains("Du er ikke logget ind"), "{body}");

    let doctor = server.card(Role::Doctor, Some(DOCTOR));
    let (status, _, body) = get_page(&server, Some(&doctor), "").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Siden er kun for borgere"), "{body}");
    let admin = server.card(Role::Admin, Some(DOCTOR));
    let (status, _, _) = get_page(&server, Some(&admin), "").await;
    assert_eq!(status, 403);

    let citizen = citizen_card(&server, JENS);
    let (status, _, body) = get_page(&server, Some(&citizen), "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Der er ingen registreringer"), "{body}");
    assert_eq!(server.rejected().await.len(), 3, "each refusal is recorded");
}

#[tokio::test]
async fn the_period_is_in_danish_days_and_older_entries_are_a_link_away() {
    let server = TestServer::start().await;
    let audit = server.audit_store().await;
    // 23:30 UTC is 00:30 the next day in Denmark in winter: these two sit on the edges of
    // the Danish days 10 to 12 January.
    let times = [
        "2026-01-09T22:59:59Z",        // 9 January, 23:59:59 Danish time: outside
        "2026-01-09T23:30:00Z",        // 10 January: inside
        "2026-01-11T12:00:00.123456Z", // inside
        "2026-01-12T22:59:59.9Z",      // 12 January, 23:59:59.9: inside
        "2026-01-12T23:30:00Z",        // 13 January: outside
    ];
    for time in times {
        audit
            .record_access(&record(JENS, time, None), false)
            .await
            .unwrap();
    }
    for day in 1..=26 {
        let time = format!("2026-02-{day:02}T09:00:00Z");
        audit
            .record_access(&record(JENS, &time, None), false)
            .await
            .unwrap();
    }
    let card = citizen_card(&server, JENS);

    let (status, _, body) = get_page(&server, Some(&card), "?from=2026-01-10&to=2026-01-12").await;
    assert_eq!(status, 200, "{body}");
    let shown = datetimes(&body);
    assert_eq!(shown, [times[3], times[2], times[1]], "{body}");
    assert!(
        body.contains(r#"value="2026-01-10""#),
        "the form keeps the period"
    );
    assert!(
        body.contains("fra og med lørdag 10. januar 2026 til og med mandag 12. januar 2026"),
        "{body}"
    );

    // 31 entries in all: 25 on the first page, then "Ældre" leads to the other 6.
    let (_, _, first) = get_page(&server, Some(&card), "").await;
    assert_eq!(datetimes(&first).len(), 25);
    assert_eq!(datetimes(&first)[0], "2026-02-26T09:00:00Z", "newest first");
    let older = link(&first, "rel=\"next\"").expect("an Ældre link");
    assert!(older.starts_with("?cursor="), "{older}");
    let (_, _, second) = get_page(&server, Some(&card), &older).await;
    assert_eq!(datetimes(&second).len(), 6, "{second}");
    assert_eq!(datetimes(&second)[5], times[0]);
    assert!(link(&second, "rel=\"next\"").is_none(), "the last page");
    assert!(second.contains(">Nyeste</a>"), "{second}");

    // The period and the cursor travel together.
    let (_, _, filtered) = get_page(&server, Some(&card), "?from=2026-02-01&to=&cursor=").await;
    let older = link(&filtered, "rel=\"next\"").expect("an Ældre link");
    assert!(older.starts_with("?from=2026-02-01&cursor="), "{older}");

    for (query, notice) in [
        ("?from=i+g%C3%A5r", "skal være en dato"),
        ("?from=2026-02-02&to=2026-02-01", "ligger efter"),
        ("?cursor=abc", "ikke gyldigt"),
    ] {
        let (status, _, body) = get_page(&server, Some(&card), query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(r#"role="alert""#), "{body}");
        assert!(body.contains(notice), "{query}: {body}");
    }
}

#[tokio::test]
async fn every_record_field_reaches_the_page_as_text() {
    let server = TestServer::start().await;
    let audit = server.audit_store().await;
    let mut hostile = record(
        JENS,
        "2026-03-01T10:00:00Z",
        Some("<b>akut</b> & \"straks\""),
    );
    hostile.user_name = Some("<script>alert(1)</script>".into());
    hostile.organisation_name = Some("<i>Klinik</i>".into());
    hostile.documents = vec![r#"2.25.1"><img src=x onerror=alert(1)>"#.into()];
    audit.record_access(&hostile, false).await.unwrap();

    let (status, _, body) = get_page(&server, Some(&citizen_card(&server, JENS)), "").await;
    assert_eq!(status, 200, "{body}");
    for markup in ["<script", "<b>akut", "<i>Klinik", "<img"] {
        assert!(!body.contains(markup), "{markup} got through: {body}");
    }
    for text in [
        "&#60;script&#62;",
        "&#60;b&#62;akut&#60;/b&#62;",
        "&#60;img src=x",
    ] {
        assert!(body.contains(text), "{text} missing: {body}");
    }
}

fn chromium() -> PathBuf {
    let path = PathBuf::from(CHROMIUM);
    assert!(
        path.exists(),
        "{CHROMIUM} is missing: this test renders the My log page in a real browser. \
         Install Debian's chromium with `.ci/install-chromium` (as root) and run it again."
    );
    path
}

/// Runs headless chromium on `args` and returns its stdout.
async fn run_chromium(chromium: &Path, args: &[&str]) -> Vec<u8> {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(BROWSER_WAIT, command.output())
        .await
        .expect("chromium did not finish in time")
        .expect("chromium could not be started");
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A citizen portal in a few lines: it fetches `/minlog/` server-side with the citizen's
/// card, passing the query string through, and serves the page under its own path.
async fn start_portal(server: &TestServer, card: String) -> String {
    #[derive(Clone)]
    struct Portal {
        dds: String,
        authorization: String,
        http: reqwest::Client,
    }
    async fn my_log(State(portal): State<Portal>, uri: Uri) -> impl IntoResponse {
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let response = portal
            .http
            .get(format!("{}/minlog/{query}", portal.dds))
            .header(header::AUTHORIZATION, &portal.authorization)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let body = response.text().await.unwrap();
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
    }
    let portal = Portal {
        dds: server.base.clone(),
        authorization: format!("SAML {}", base64_encode(card.as_bytes())),
        http: server.http.clone(),
    };
    let app = axum::Router::new()
        .route("/borger/min-log", axum::routing::get(my_log))
        .with_state(portal);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/borger/min-log")
}

/// A system stores Jens's appointment; his doctor finds it; a secretary retrieves it on the
/// doctor's behalf; the doctor also looks up another patient.
async fn seed_accesses_over_soap(server: &TestServer) {
    let system = server.card(Role::System, None);
    let (status, body) = server
        .post(
            "/xds/repository",
            with_card(&sample("iti-41/pnr-single-apd.xml"), &system),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ResponseStatusType:Success"), "{body}");

    let mut doctor = CardRequest::new(Role::Doctor);
    doctor.cpr = Some(DOCTOR.into());
    doctor.name = Some("Karen Holm".into());
    doctor.org_sor = Some(SOR_RIGSHOSPITALET.into());
    doctor.org_name = Some("Rigshospitalet".into());
    let doctor = server.sts.issue(&doctor).unwrap();
    let (status, body) = server
        .post("/xds/registry", with_card(&find_documents(JENS), &doctor))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(UNIQUE_ID), "{body}");

    let mut secretary = CardRequest::new(Role::Secretary);
    secretary.cpr = Some(SECRETARY.into());
    secretary.name = Some("Ida Engel".into());
    secretary.org_sor = Some(SOR_RIGSHOSPITALET.into());
    secretary.org_name = Some("Rigshospitalet".into());
    secretary.on_behalf_of = Some(DOCTOR.into());
    let secretary = server.sts.issue(&secretary).unwrap();
    let (status, body) = server
        .post(
            "/xds/repository",
            with_card(&retrieve(UNIQUE_ID), &secretary),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&find_documents(OTHER_PATIENT), &doctor),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn citizen_card(server: &TestServer, cpr: &str) -> String {
    let mut request = CardRequest::new(Role::Citizen);
    request.cpr = Some(cpr.into());
    request.name = Some("Jens Hansen".into());
    server.sts.issue(&request).unwrap()
}

/// A doctor's retrieval of Jens's appointment, as the edge records it.
fn record(patient: &str, time: &str, override_reason: Option<&str>) -> AccessRecord {
    AccessRecord {
        time: time.into(),
        patient_cpr: patient.into(),
        user_cpr: Some("2512484916".into()),
        user_name: Some("Peter Skov".into()),
        user_role: "doctor".into(),
        organisation_sor: Some(SOR_RIGSHOSPITALET.into()),
        organisation_cvr: None,
        organisation_name: Some("Rigshospitalet".into()),
        it_system: Some("EPJ".into()),
        on_behalf_of: None,
        action: AccessAction::Retrieve,
        documents: vec![UNIQUE_ID.into()],
        override_reason: override_reason.map(Into::into),
        outcome: AccessOutcome::Allowed,
    }
}

/// `GET /minlog/{query}` with `card` in `Authorization`: status, content type, body.
async fn get_page(server: &TestServer, card: Option<&str>, query: &str) -> (u16, String, String) {
    let mut request = server.http.get(format!("{}/minlog/{query}", server.base));
    if let Some(card) = card {
        request = request.header(
            "authorization",
            format!("SAML {}", base64_encode(card.as_bytes())),
        );
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

/// The UTC times of the entries shown, in page order.
fn datetimes(html: &str) -> Vec<&str> {
    html.split(r#"<time datetime=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// The (HTML-unescaped) href of the first link carrying `marker` before its href.
fn link(html: &str, marker: &str) -> Option<String> {
    let after = html.split(&format!("{marker} href=\"")).nth(1)?;
    let href = after.split('"').next()?;
    // askama writes `&` as `&#38;`; a browser reads both spellings the same.
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}

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
