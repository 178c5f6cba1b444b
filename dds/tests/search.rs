//! FindDocumentsByText against the real server over SOAP: ranking on a Danish corpus, the
//! consent filter (results, order and snippets), and the index in step with ITI-57 status
//! updates and ITI-62 deletes.

mod support;

use identity::Role;
use serde_json::{Value, json};
use support::search::*;
use support::{TestServer, base64_encode, sample, with_card};

/// The SOR unit the corpus is authored at, and one the citizen blocks.
const SOR: &str = "328081000016004";
const BLOCKED_SOR: &str = "242621000016001";
const DOCTOR: &str = "0804569723";

/// (title, text) of the corpus: a patient's documents over some years.
const CORPUS: &[(&str, &str)] = &[
    (
        "Ekkokardiografi af hjertet",
        "Ultralydsundersøgelse af hjertet. Hjertet pumper normalt; ingen klapfejl.",
    ),
    (
        "Kardiologisk ambulatorium, kontrol",
        "Kontrol i kardiologisk ambulatorium efter blodprop. Kardiologisk opfølgning om et år.",
    ),
    (
        "Henvisning til Bispebjerg",
        "Patienten er flyttet til København og henvises til Bispebjerg Hospital i København NV.",
    ),
    (
        "Røntgen af thorax",
        "Lungerne er frie. Hjertet har normal størrelse. Ingen væske i lungehinderne, ingen tegn på lungebetændelse, knogler ubemærkede, bløddele ubemærkede, sammenlignet med tidligere billeder fra Aarhus.",
    ),
    (
        "Lungefunktionsundersøgelse",
        "Spirometri viser let nedsat lungefunktion, forenelig med KOL i stadie 2.",
    ),
    (
        "Blodprøver",
        "Hæmoglobin, leukocytter og trombocytter normale. Kolesterol let forhøjet.",
    ),
    (
        "Fysioterapi efter knæoperation",
        "Genoptræning af højre knæ, tre gange ugentligt i seks uger.",
    ),
    (
        "Diabetesambulatoriet",
        "Blodsukker velreguleret. Fodundersøgelse uden sår. Næste kontrol om et halvt år.",
    ),
    (
        "Epikrise fra akutmodtagelsen",
        "Indlagt med brystsmerter, udelukket akut hjerteinfarkt; udskrevet til egen læge. Tidligere boet i København.",
    ),
    (
        "Øjenundersøgelse",
        "Ingen diabetisk retinopati. Synsstyrke uændret.",
    ),
    (
        "Tandlægeerklæring",
        "Parodontose behandlet; kontrol hos tandlæge om seks måneder.",
    ),
    (
        "Hudlægen",
        "Eksem på hænderne, behandles med creme i fire uger.",
    ),
    (
        "Psykolog, forløbsplan",
        "Samtaleforløb om søvnbesvær, otte sessioner.",
    ),
    (
        "Vaccination",
        "Influenzavaccine og covid-19 booster givet i venstre overarm.",
    ),
    (
        "Allergitest",
        "Priktest positiv for birkepollen og græs; antihistamin efter behov.",
    ),
    (
        "Ortopædkirurgisk vurdering",
        "Slidgigt i højre knæ; ikke operationskrævende endnu.",
    ),
    (
        "Ernæringsvejledning",
        "Kostomlægning ved forhøjet kolesterol; færre mættede fedtsyrer.",
    ),
    (
        "Søvnapnø-undersøgelse",
        "Natlig måling viser let søvnapnø; CPAP ikke indiceret.",
    ),
    (
        "Audiologi",
        "Let høretab på venstre øre; høreapparat tilbydes.",
    ),
    ("Urinprøve", "Ingen bakterier, ingen protein."),
];

/// The document of another organisation, which the citizen blocks: it matches every query of
/// the tests, so that it would show (and shift the ranking) if the filter let it through.
const BLOCKED: (&str, &str) = (
    "Privat kardiologisk klinik",
    "Hjertet undersøgt på privat kardiologisk klinik i København; hjertet kardiologisk vurderet, hjertet.",
);

async fn search(server: &TestServer, text: &str, statuses: &[&str]) -> Answer {
    let card = server.card(Role::Doctor, Some(DOCTOR));
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&search_request(text, statuses), &card),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    answer(&body)
}

async fn soap(server: &TestServer, path: &str, envelope: &str, role: Role) -> String {
    let cpr = (role != Role::System).then_some(DOCTOR);
    let (status, body) = server
        .post(path, with_card(envelope, &server.card(role, cpr)))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn block_organisation(server: &TestServer, sor: &str) {
    let card = server.card(Role::Citizen, Some(PATIENT));
    let response = server
        .http
        .post(format!(
            "{}/consent/v1/patients/{PATIENT}/blocks",
            server.base
        ))
        .header(
            "authorization",
            format!("SAML {}", base64_encode(card.as_bytes())),
        )
        .json(&json!({"kind": "organisation", "sor": sor}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

/// The citizen's newest MinLog entry.
async fn newest_log_entry(server: &TestServer) -> Value {
    let card = server.card(Role::Citizen, Some(PATIENT));
    let response = server
        .http
        .get(format!(
            "{}/minlog/v1/patients/{PATIENT}/entries",
            server.base
        ))
        .header(
            "authorization",
            format!("SAML {}", base64_encode(card.as_bytes())),
        )
        .send()
        .await
        .unwrap();
    let page: Value = response.json().await.unwrap();
    page["items"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_a_danish_corpus_through_consent_minlog_and_every_kind_of_write() {
    let server = TestServer::start().await;
    for (title, text) in CORPUS {
        submit_text(&server.base, server.data_dir(), title, text, SOR).await;
    }

    // Ranking: the document about the searched thing first, inflections and ASCII spellings
    // matching the Danish words.
    let hjertet = search(&server, "hjertet", &[]).await;
    assert_eq!(hjertet.status, "Success", "{hjertet:?}");
    assert_eq!(
        hjertet.titles()[0],
        "Ekkokardiografi af hjertet",
        "{hjertet:?}"
    );
    assert!(hjertet.titles().contains(&"Røntgen af thorax"));
    assert_eq!(hjertet.hits.len(), 2, "{hjertet:?}");
    let kardiologisk = search(&server, "Kardiologiske", &[]).await;
    assert_eq!(
        kardiologisk.titles(),
        ["Kardiologisk ambulatorium, kontrol"]
    );
    let kobenhavn = search(&server, "Kobenhavn", &[]).await;
    assert_eq!(
        kobenhavn.titles(),
        ["Henvisning til Bispebjerg", "Epikrise fra akutmodtagelsen"]
    );
    let snippet = kobenhavn.hits[0].snippet.as_deref().unwrap();
    assert!(snippet.contains("«København»"), "{snippet}");
    // Words the index never saw and stop words find nothing; query syntax is only words.
    for text in ["xylofon", "og i på", "*", "\"", "'", "("] {
        let nothing = search(&server, text, &[]).await;
        assert_eq!(
            (nothing.status.as_str(), nothing.hits.len()),
            ("Success", 0),
            "{text}"
        );
    }
    let syntax = search(&server, "title:hjertet AND (", &[]).await;
    assert_eq!(syntax.titles(), hjertet.titles());

    // MinLog records the search with exactly the documents returned.
    let entry = newest_log_entry(&server).await.to_string();
    let before_block = search(&server, "hjertet kardiologisk København", &[]).await;
    let logged = newest_log_entry(&server).await.to_string();
    assert_ne!(entry, logged, "the search was not logged");
    for hit in &before_block.hits {
        assert!(logged.contains(&hit.unique_id), "{logged}");
    }

    // Consent: a document of a blocked organisation matching every word is absent, without a
    // snippet, and changes neither the order nor the snippets of the others.
    block_organisation(&server, BLOCKED_SOR).await;
    submit_text(
        &server.base,
        server.data_dir(),
        BLOCKED.0,
        BLOCKED.1,
        BLOCKED_SOR,
    )
    .await;
    let after_block = search(&server, "hjertet kardiologisk København", &[]).await;
    assert!(
        after_block.codes.contains(&"DDSConsentFiltered".to_owned()),
        "{after_block:?}"
    );
    assert_eq!(after_block.hits, before_block.hits);
    // MinLog names exactly the documents returned (the citizen sees the outcome "filtered").
    let logged = newest_log_entry(&server).await;
    let mut documents: Vec<&str> = logged["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    documents.sort_unstable();
    let mut returned: Vec<&str> = after_block
        .hits
        .iter()
        .map(|h| h.unique_id.as_str())
        .collect();
    returned.sort_unstable();
    assert_eq!(documents, returned, "{logged}");
    assert_eq!(logged["outcome"], "filtered", "{logged}");
    // Nor does the warning tell whether a withheld document contained the words: it is the
    // same for words only the blocked document has as for words of visible ones.
    let only_blocked = search(&server, "privat", &[]).await;
    assert!(only_blocked.hits.is_empty(), "{only_blocked:?}");
    let visible_only = search(&server, "spirometri", &[]).await;
    assert_eq!(visible_only.hits.len(), 1);
    assert_eq!(only_blocked.codes, visible_only.codes);
    for hit in &after_block.hits {
        assert!(
            !hit.snippet
                .as_deref()
                .unwrap_or_default()
                .contains("privat"),
            "{hit:?}"
        );
    }

    // ITI-57 status update: a deprecated entry leaves the Approved search and is found as
    // Deprecated.
    let ekko = hjertet.hit("Ekkokardiografi af hjertet").clone();
    let update = deprecate_request(
        &sample("iti-57/update-availability-status.xml"),
        &ekko.entry_uuid,
    );
    let body = soap(&server, "/xds/registry", &update, Role::System).await;
    assert!(body.contains("ResponseStatusType:Success"), "{body}");
    assert_eq!(
        search(&server, "hjertet", &[]).await.titles(),
        ["Røntgen af thorax"]
    );
    let deprecated = search(&server, "hjertet", &["Deprecated"]).await;
    assert_eq!(deprecated.titles(), ["Ekkokardiografi af hjertet"]);

    // ITI-62 delete: the deleted entry is gone from the index.
    let henvisning = kobenhavn.hit("Henvisning til Bispebjerg").clone();
    let found = soap(
        &server,
        "/xds/registry",
        &documents_and_associations_request(&henvisning.entry_uuid),
        Role::System,
    )
    .await;
    let ids = submission_ids(&found);
    assert_eq!(ids.len(), 3, "{found}");
    let body = soap(
        &server,
        "/xds/registry",
        &delete_request(&ids),
        Role::System,
    )
    .await;
    assert!(body.contains("ResponseStatusType:Success"), "{body}");
    assert_eq!(
        search(&server, "kobenhavn", &[]).await.titles(),
        ["Epikrise fra akutmodtagelsen"]
    );
}

#[tokio::test]
async fn a_search_needs_its_parameters_and_is_refused_like_any_query() {
    let server = TestServer::start().await;
    let card = server.card(Role::Doctor, Some(DOCTOR));
    let without_text = search_request("x", &[]).replace("$DdsText", "$Other");
    let (status, body) = server
        .post("/xds/registry", with_card(&without_text, &card))
        .await;
    assert_eq!(status, 200);
    let refused = answer(&body);
    assert_eq!(refused.status, "Failure", "{body}");
    // A citizen searching another patient's documents is refused (and the attempt logged).
    let citizen = server.card(Role::Citizen, Some("2512489996"));
    let (status, body) = server
        .post(
            "/xds/registry",
            with_card(&search_request("hjertet", &[]), &citizen),
        )
        .await;
    assert_ne!(
        (status, body.contains("ResponseStatusType:Success")),
        (200, true),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_document_leaves_the_search_and_its_replacement_is_found() {
    const KAREN: &str = "0201919990";
    let server = TestServer::start().await;
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    submit_file(
        &server.base,
        server.data_dir(),
        &samples.join("documents/apd-0201919990-osteoporose.xml"),
    )
    .await;
    let card = server.card(Role::Doctor, Some(DOCTOR));
    let search_karen = |text: &'static str, statuses: &'static [&'static str]| {
        let envelope = with_card(&search_request_for(KAREN, text, statuses), &card);
        let server = &server;
        async move {
            let (status, body) = server.post("/xds/registry", envelope).await;
            assert_eq!(status, 200, "{body}");
            answer(&body)
        }
    };
    let original = search_karen("osteoporose", &[]).await;
    assert_eq!(original.hits.len(), 1, "{original:?}");
    let original = original.hits[0].clone();
    // The RPLC sample, replacing the document just registered.
    let rplc = sample("iti-41/pnr-replace-rplc.xml").replace(
        "urn:uuid:f5ae2a84-e85b-5852-a8a5-089fa1f5c955",
        &original.entry_uuid,
    );
    let body = soap(&server, "/xds/repository", &rplc, Role::System).await;
    assert!(body.contains("ResponseStatusType:Success"), "{body}");
    let approved = search_karen("osteoporose", &[]).await;
    assert_eq!(approved.hits.len(), 1, "{approved:?}");
    assert_ne!(approved.hits[0].entry_uuid, original.entry_uuid);
    assert_eq!(approved.hits[0].title, "Aftale for 0201919990");
    let deprecated = search_karen("osteoporose", &["Deprecated"]).await;
    assert_eq!(deprecated.hits.len(), 1, "{deprecated:?}");
    assert_eq!(deprecated.hits[0].entry_uuid, original.entry_uuid);
}

/// The same index path on a PostgreSQL registry (its change log numbered under the advisory
/// lock): found after registration, gone after delete. Runs when `DDS_TEST_DATABASE_URL` names
/// a database, in a scratch schema of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_follows_a_postgresql_registry() {
    let Some(url) = std::env::var("DDS_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("SKIPPED search_follows_a_postgresql_registry: DDS_TEST_DATABASE_URL is unset");
        return;
    };
    let schema = registry::postgres::ScratchSchema::create(&url)
        .await
        .unwrap();
    let server = TestServer::start_with(dds::config::ServeFlags {
        database_url: Some(schema.url().to_owned()),
        ..Default::default()
    })
    .await;
    for (title, text) in &CORPUS[..3] {
        submit_text(&server.base, server.data_dir(), title, text, SOR).await;
    }
    let found = search(&server, "kobenhavn hjertet", &[]).await;
    assert_eq!(found.hits.len(), 2, "{found:?}");
    let henvisning = found.hit("Henvisning til Bispebjerg").clone();
    let ids = submission_ids(
        &soap(
            &server,
            "/xds/registry",
            &documents_and_associations_request(&henvisning.entry_uuid),
            Role::System,
        )
        .await,
    );
    let body = soap(
        &server,
        "/xds/registry",
        &delete_request(&ids),
        Role::System,
    )
    .await;
    assert!(body.contains("ResponseStatusType:Success"), "{body}");
    assert_eq!(
        search(&server, "kobenhavn hjertet", &[]).await.titles(),
        ["Ekkokardiografi af hjertet"]
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_update_is_searched_as_its_new_version() {
    const CPR: &str = "2512489996";
    let server = TestServer::start().await;
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    // A CDA document: its narrative is indexed (read from the repository by hash).
    submit_file(
        &server.base,
        server.data_dir(),
        &samples.join("documents/apd-2512489996-kol-kontrol.xml"),
    )
    .await;
    let card = server.card(Role::Doctor, Some(DOCTOR));
    let search_for = |text: &'static str, statuses: &'static [&'static str]| {
        let envelope = with_card(&search_request_for(CPR, text, statuses), &card);
        let server = &server;
        async move {
            let (status, body) = server.post("/xds/registry", envelope).await;
            assert_eq!(status, 200, "{body}");
            answer(&body)
        }
    };
    let found = search_for("Lungemedicinsk afdeling", &[]).await;
    assert_eq!(found.hits.len(), 1, "{found:?}");
    let original = found.hits[0].clone();
    assert!(
        original
            .snippet
            .as_deref()
            .unwrap_or_default()
            .contains("«Lungemedicinsk»"),
        "the narrative of the CDA document is searched: {original:?}"
    );
    assert!(search_for("tolk polsk", &[]).await.hits.is_empty());

    // The ITI-57 sample's new version (comments: the patient wants an interpreter), of ours.
    let update = sample("iti-57/update-document-metadata.xml")
        .replace(
            "urn:uuid:ee983d75-3a3a-55a3-b15c-0f0ca84afd2a",
            &original.entry_uuid,
        )
        .replace(
            "2.25.335118424317461607342625769023891058594",
            &original.unique_id,
        );
    let body = soap(&server, "/xds/registry", &update, Role::System).await;
    assert!(body.contains("ResponseStatusType:Success"), "{body}");

    let updated = search_for("tolk polsk", &[]).await;
    assert_eq!(updated.hits.len(), 1, "{updated:?}");
    assert_ne!(updated.hits[0].entry_uuid, original.entry_uuid);
    let approved = search_for("Lungemedicinsk", &[]).await;
    assert_eq!(approved.hits.len(), 1);
    assert_eq!(approved.hits[0].entry_uuid, updated.hits[0].entry_uuid);
    let deprecated = search_for("Lungemedicinsk", &["Deprecated"]).await;
    assert_eq!(deprecated.hits.len(), 1);
    assert_eq!(deprecated.hits[0].entry_uuid, original.entry_uuid);
}

/// With documents in an object store, their text is read from the bucket for the index: a
/// word only the document's body has finds it, with a snippet of that body.
#[tokio::test]
async fn the_text_of_documents_in_object_storage_is_searched() {
    let s3 = support::s3::S3Server::start().await;
    let server = TestServer::start_with(dds::config::ServeFlags {
        object_store_url: Some(format!("s3://{}/search", support::s3::BUCKET)),
        object_store_endpoint: Some(s3.endpoint.clone()),
        object_store_allow_http: Some(true),
        object_store_access_key_id: Some(support::s3::ACCESS_KEY_ID.to_owned()),
        object_store_secret_access_key: Some(support::s3::SECRET_ACCESS_KEY.parse().unwrap()),
        ..dds::config::ServeFlags::default()
    })
    .await;
    submit_text(
        &server.base,
        server.data_dir(),
        "Ambulant kontrol",
        "Patienten har en stenokardi, som behandles med nitroglycerin.",
        SOR,
    )
    .await;
    let found = search(&server, "nitroglycerin", &[]).await;
    assert_eq!(found.titles(), ["Ambulant kontrol"], "{found:?}");
    let snippet = found.hits[0].snippet.as_deref().unwrap_or_default();
    assert!(snippet.contains("nitroglycerin"), "{snippet}");
}
