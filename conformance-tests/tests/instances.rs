//! Two `dds serve` instances on one PostgreSQL database, each sent at the same moment an
//! ITI-42 submission with the same uniqueId, many times over: each time exactly one instance
//! answers Success and stores the whole submission, the other answers Failure with the error a
//! sequential submission would get and stores nothing, and both instances then answer queries
//! alike.
//!
//! Three instances on one PostgreSQL schema — every store shared: registry, consent, MinLog,
//! the BRS outbox — with one BRS receiver: the same race three ways; then doctors' queries
//! spread over the three, whose follow-ups the three outbox workers together deliver exactly
//! once each and in order per patient, and whose MinLog records every instance reads alike.
//!
//! Runs when `DDS_TEST_DATABASE_URL` names a PostgreSQL database (`.ci/run` sets it when a
//! server answers on 127.0.0.1:5432); on SQLite there is no database two instances can share,
//! and the test says that it did not run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance_tests::harness::{DATABASE_URL_VARIABLE, test_database_url};
use conformance_tests::{Answer, Card, Doc, Harness, Query, Submission, query_id, response_status};

/// Races; even ones share the SubmissionSets' uniqueId, odd ones a DocumentEntry's.
const ROUNDS: usize = 20;

const CPR: &str = "0201919990";

/// Whether the race of `round` is over the SubmissionSets' uniqueId (else a DocumentEntry's).
fn shares_submission_set(round: usize) -> bool {
    round.is_multiple_of(2)
}

/// One side of a race: the submission, and the uniqueId of a document only it carries.
struct Side {
    submission: Submission,
    own_document_unique_id: String,
}

fn side(round: usize, shared: &str, tag: usize) -> Side {
    let contested = if !shares_submission_set(round) {
        Doc::new(CPR).unique_id(shared).hash(&format!("{tag:040x}"))
    } else {
        Doc::new(CPR)
    };
    let own = Doc::new(CPR);
    let mut submission = Submission::new(CPR).doc(&contested).doc(&own);
    if shares_submission_set(round) {
        submission.submission_set_unique_id = shared.to_owned();
    }
    Side {
        submission,
        own_document_unique_id: own.unique_id,
    }
}

async fn documents_with_unique_id(server: &Harness, unique_id: &str) -> usize {
    let query = Query::new(query_id::GET_DOCUMENTS)
        .list("$XDSDocumentEntryUniqueId", &[unique_id])
        .object_ref()
        .envelope();
    let (http, body) = server.post_registry(&Card::System, &query).await;
    let answer = Answer::decode(http, body).unwrap_or_else(|e| panic!("GetDocuments: {e}"));
    assert_eq!(answer.status, response_status::SUCCESS, "{answer:?}");
    answer.ids.len()
}

fn difference(
    before: &BTreeMap<&'static str, i64>,
    after: &BTreeMap<&'static str, i64>,
) -> BTreeMap<&'static str, i64> {
    after
        .iter()
        .map(|(table, n)| (*table, n - before.get(table).copied().unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_register_a_unique_id_once() {
    if test_database_url().is_none() {
        println!("not run: {DATABASE_URL_VARIABLE} names no PostgreSQL database");
        return;
    }
    let mut first = Harness::start().await;
    let second = first.start_beside().await;
    let mut rows_per_submission: Option<BTreeMap<&'static str, i64>> = None;
    for round in 0..ROUNDS {
        let shared = conformance_tests::metadata::new_unique_id();
        let sides = [
            side(round, &shared, 2 * round),
            side(round, &shared, 2 * round + 1),
        ];
        let expected_code = if shares_submission_set(round) {
            "XDSDuplicateUniqueIdInRegistry"
        } else {
            "XDSNonIdenticalHash"
        };
        let before = first.row_counts().await;
        let envelopes = sides.each_ref().map(|side| side.submission.register());
        let (to_first, to_second) = tokio::join!(
            first.post_registry(&Card::System, &envelopes[0]),
            second.post_registry(&Card::System, &envelopes[1]),
        );
        let answers = [to_first, to_second].map(|(http, body)| {
            Answer::decode(http, body).unwrap_or_else(|e| panic!("round {round}: {e}"))
        });
        let winners: Vec<usize> = (0..2)
            .filter(|&i| answers[i].status == response_status::SUCCESS)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: answers {answers:#?}");
        let winner = winners[0];
        let loser = 1 - winner;
        assert!(answers[winner].error_codes.is_empty(), "{answers:#?}");
        assert_eq!(
            answers[loser].status,
            response_status::FAILURE,
            "{answers:#?}"
        );
        assert_eq!(
            answers[loser].error_codes,
            [expected_code],
            "round {round}: the loser's errors"
        );

        let added = difference(&before, &first.row_counts().await);
        match &rows_per_submission {
            None => rows_per_submission = Some(added),
            Some(expected) => assert_eq!(
                &added, expected,
                "round {round}: rows added differ from one whole submission"
            ),
        }
        for server in [&first, &second] {
            assert_eq!(
                documents_with_unique_id(server, &sides[winner].own_document_unique_id).await,
                1,
                "round {round}: the winner's document"
            );
            assert_eq!(
                documents_with_unique_id(server, &sides[loser].own_document_unique_id).await,
                0,
                "round {round}: the loser's document was stored"
            );
        }
    }
    second.finish().await;
    first.finish().await;
}

/// The three-instance test's patients (not the races' [`CPR`]); each gets one document, then
/// [`ACCESSES`] queries.
const PATIENTS_3: [&str; 4] = ["0101700013", "2512489996", "1212121212", "0606606060"];
/// Doctor's queries per patient, one after another, each through the next instance.
const ACCESSES: usize = 9;
/// Races of the same uniqueId sent to all three instances at once.
const ROUNDS_3: usize = 6;
/// Longest wait for the follow-ups to arrive (a generous bound, not a measurement).
const DELIVERY_WAIT_MAX: Duration = Duration::from_secs(120);

/// A BRS stand-in on 127.0.0.1 answering 200 to every follow-up and keeping them in arrival
/// order.
async fn start_receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/brs",
            axum::routing::post(
                |axum::extract::State(seen): axum::extract::State<
                    Arc<Mutex<Vec<serde_json::Value>>>,
                >,
                 body: String| async move {
                    let payload: serde_json::Value =
                        serde_json::from_str(&body).expect("a follow-up is JSON");
                    seen.lock().expect("not poisoned").push(payload);
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the receiver");
    let url = format!("http://{}/brs", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A patient's MinLog as one instance answers it (every entry, newest first).
async fn minlog_of(server: &Harness, cpr: &str) -> Vec<serde_json::Value> {
    let (status, page) = server
        .get_json(
            &Card::Citizen(cpr.to_owned()),
            &format!("/minlog/v1/patients/{cpr}/entries?limit=500"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page["next_cursor"].is_null(), "one page holds them all");
    page["items"].as_array().expect("items").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_every_store_and_deliver_each_follow_up_once() {
    if test_database_url().is_none() {
        println!("SKIPPED: {DATABASE_URL_VARIABLE} names no PostgreSQL database");
        return;
    }
    let (brs_url, received) = start_receiver().await;
    let with_brs = |config: &mut dds::config::Config| config.brs_url = Some(brs_url.clone());
    let mut first = Harness::start_with(with_brs).await;
    let second = first.start_beside_with(with_brs).await;
    let third = first.start_beside_with(with_brs).await;

    // (a) The same uniqueId to all three at once: one Success, nothing half-stored.
    let mut rows_per_submission: Option<BTreeMap<&'static str, i64>> = None;
    for round in 0..ROUNDS_3 {
        let shared = conformance_tests::metadata::new_unique_id();
        let sides: Vec<Side> = (0..3)
            .map(|i| side(round, &shared, 3 * round + i))
            .collect();
        let before = first.row_counts().await;
        let envelopes: Vec<String> = sides.iter().map(|s| s.submission.register()).collect();
        let (a, b, c) = tokio::join!(
            first.post_registry(&Card::System, &envelopes[0]),
            second.post_registry(&Card::System, &envelopes[1]),
            third.post_registry(&Card::System, &envelopes[2]),
        );
        let answers: Vec<Answer> = [a, b, c]
            .into_iter()
            .map(|(http, body)| {
                Answer::decode(http, body).unwrap_or_else(|e| panic!("round {round}: {e}"))
            })
            .collect();
        let winners: Vec<usize> = (0..3)
            .filter(|&i| answers[i].status == response_status::SUCCESS)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:#?}");
        let expected_code = if shares_submission_set(round) {
            "XDSDuplicateUniqueIdInRegistry"
        } else {
            "XDSNonIdenticalHash"
        };
        for (i, answer) in answers.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(answer.status, response_status::FAILURE, "{answers:#?}");
                assert_eq!(answer.error_codes, [expected_code], "round {round}");
            }
        }
        let added = difference(&before, &first.row_counts().await);
        match &rows_per_submission {
            None => rows_per_submission = Some(added),
            Some(expected) => assert_eq!(&added, expected, "round {round}: not one submission"),
        }
        for server in [&first, &second, &third] {
            for (i, side) in sides.iter().enumerate() {
                let stored = documents_with_unique_id(server, &side.own_document_unique_id).await;
                assert_eq!(
                    stored,
                    usize::from(i == winners[0]),
                    "round {round}, side {i}"
                );
            }
        }
    }

    // (b) Doctors' queries spread over the three instances: each patient's one after another
    // (so their order is defined), the patients at the same time.
    for cpr in PATIENTS_3 {
        let envelope = Submission::new(cpr).doc(&Doc::new(cpr)).register();
        let answer = decoded(first.post_registry(&Card::System, &envelope).await);
        assert_eq!(answer.status, response_status::SUCCESS, "{answer:?}");
    }
    let servers = [&first, &second, &third];
    let query = |cpr: &str| {
        Query::new(query_id::FIND_DOCUMENTS)
            .string(
                "$XDSDocumentEntryPatientId",
                &conformance_tests::patient_id(cpr),
            )
            .list(
                "$XDSDocumentEntryStatus",
                &[conformance_tests::status::APPROVED],
            )
            .envelope()
    };
    let accesses = PATIENTS_3.iter().enumerate().map(|(p, cpr)| {
        let envelope = query(cpr);
        async move {
            for access in 0..ACCESSES {
                let server = servers[(p + access) % servers.len()];
                let answer = decoded(server.post_registry(&Card::Doctor, &envelope).await);
                assert_eq!(answer.status, response_status::SUCCESS, "{answer:?}");
                assert_eq!(answer.ids.len(), 1, "the patient's document: {answer:?}");
            }
        }
    });
    futures_util::future::join_all(accesses).await;

    let expected = PATIENTS_3.len() * ACCESSES;
    let deadline = tokio::time::Instant::now() + DELIVERY_WAIT_MAX;
    loop {
        let distinct: std::collections::BTreeSet<String> = received
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|f| f["event_id"].as_str().expect("event_id").to_owned())
            .collect();
        if distinct.len() >= expected {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {expected} follow-ups arrived",
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let a duplicate, if any worker were to send one, arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = received.lock().expect("not poisoned").clone();
    let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
    for followup in &received {
        *per_event
            .entry(followup["event_id"].as_str().expect("event_id").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_event.len(), expected, "one follow-up per access");
    assert!(
        per_event.values().all(|n| *n == 1),
        "delivered more than once: {per_event:?}"
    );
    for cpr in PATIENTS_3 {
        let times: Vec<&str> = received
            .iter()
            .filter(|f| f["patient_cpr"] == cpr)
            .map(|f| f["time"].as_str().expect("time"))
            .collect();
        assert_eq!(times.len(), ACCESSES, "{cpr}");
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "{cpr}: follow-ups out of order: {times:?}"
        );
    }

    // (c) Every access has exactly one MinLog record, and every instance reads the same log.
    for cpr in PATIENTS_3 {
        let logs = [
            minlog_of(&first, cpr).await,
            minlog_of(&second, cpr).await,
            minlog_of(&third, cpr).await,
        ];
        assert_eq!(logs[0], logs[1], "{cpr}");
        assert_eq!(logs[0], logs[2], "{cpr}");
        let queries = logs[0]
            .iter()
            .filter(|e| e["action"] == "query" && e["user"]["role"] == "doctor")
            .count();
        assert_eq!(queries, ACCESSES, "{cpr}: {:#?}", logs[0]);
    }

    third.finish().await;
    second.finish().await;
    first.finish().await;
}

fn decoded((http, body): (u16, String)) -> Answer {
    Answer::decode(http, body).unwrap_or_else(|e| panic!("{e}"))
}
