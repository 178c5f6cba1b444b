//! Two `dds serve` instances on one PostgreSQL database, each sent at the same moment an
//! ITI-42 submission with the same uniqueId, many times over: each time exactly one instance
//! answers Success and stores the whole submission, the other answers Failure with the error a
//! sequential submission would get and stores nothing, and both instances then answer queries
//! alike.
//!
//! Runs when `DDS_TEST_DATABASE_URL` names a PostgreSQL database (`.ci/run` sets it when a
//! server answers on 127.0.0.1:5432); on SQLite there is no database two instances can share,
//! and the test says that it did not run.

use std::collections::BTreeMap;

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
