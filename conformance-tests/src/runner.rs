//! Scenarios, their steps and expectations, and [`check`], the one runner.
//!
//! A [`Scenario`] is data: a name, its purpose, the NIST test it mirrors, and steps. Each
//! [`Step`] sends one SOAP request with a given card and lists what must hold of the answer
//! ([`Expect`]). Every id a step needs is chosen when the scenario is built (submissions carry
//! `urn:uuid:` entryUUIDs), so steps never depend on parsing an earlier response.
//!
//! Invariant: [`check`] starts a fresh server per scenario, runs every step in order, and on
//! the first step with an unmet expectation panics with the scenario, the NIST test, the step
//! (number and name), every unmet expectation, and the response body.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use xds_model::message::{Message, RegistryResponse};
use xds_model::rim::Identifiable;

use crate::harness::{Card, Harness};

/// Response status URNs.
pub mod response_status {
    pub const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
    pub const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
    pub const PARTIAL_SUCCESS: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
}

/// One conformance scenario.
#[derive(Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub purpose: &'static str,
    /// The NIST XDS toolkit test it mirrors (`"11897/classcode_one"`), if any.
    pub nist: Option<&'static str>,
    pub steps: Vec<Step>,
}

/// One request and what must hold of its answer.
#[derive(Debug)]
pub struct Step {
    pub name: &'static str,
    pub card: Card,
    /// The SOAP envelope, without the ID card (the harness adds it).
    pub envelope: String,
    pub expect: Vec<Expect>,
}

impl Step {
    pub fn new(name: &'static str, card: Card, envelope: String) -> Step {
        Step {
            name,
            card,
            envelope,
            expect: Vec::new(),
        }
    }

    pub fn expect(mut self, expect: Expect) -> Step {
        self.expect.push(expect);
        self
    }

    /// HTTP 200, status Success, no RegistryError at all.
    pub fn succeeds(self) -> Step {
        self.expect(Expect::Http(200))
            .expect(Expect::Status(response_status::SUCCESS))
            .expect(Expect::NoErrors)
    }

    /// HTTP 200, status Failure, a RegistryError with `code`.
    pub fn fails_with(self, code: &'static str) -> Step {
        self.expect(Expect::Http(200))
            .expect(Expect::Status(response_status::FAILURE))
            .expect(Expect::ErrorCode(code))
    }

    /// Success, and the result holds exactly these objects (by entryUUID, any order).
    pub fn returns(self, ids: &[&str]) -> Step {
        self.succeeds().expect(Expect::ExactlyIds(
            ids.iter().map(|id| (*id).to_owned()).collect(),
        ))
    }
}

/// What kind of object a count is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ExtrinsicObject,
    RegistryPackage,
    Association,
    ObjectRef,
}

/// One expectation on a step's answer.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The HTTP status code.
    Http(u16),
    /// The `RegistryResponse/@status` URN.
    Status(&'static str),
    /// Some RegistryError carries this `errorCode`.
    ErrorCode(&'static str),
    /// Some RegistryError carries one of these codes (where the spec lets the registry choose).
    AnyErrorCode(&'static [&'static str]),
    /// No RegistryError (not even a warning).
    NoErrors,
    /// A SOAP Fault whose Subcode value contains this text (`wsse:FailedAuthentication`).
    Fault(&'static str),
    /// The RegistryObjectList holds exactly these ids (objects or ObjectRefs), in any order.
    ExactlyIds(BTreeSet<String>),
    /// The RegistryObjectList holds this id.
    Includes(String),
    /// The RegistryObjectList does not hold this id.
    Excludes(String),
    /// So many objects of this kind in the RegistryObjectList.
    Count(Kind, usize),
    /// The returned object with this id has this availability status.
    ObjectStatus(String, &'static str),
    /// The returned object with this id has this logicalId.
    ObjectLid(String, String),
    /// No registry table changed row count during this step.
    StoresNothing,
}

/// What a registry answered, for checks a [`Scenario`] cannot express (requests racing on two
/// servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The `RegistryResponse/@status` URN ([`response_status`]).
    pub status: String,
    /// The `errorCode` of every RegistryError.
    pub error_codes: Vec<String>,
    /// The ids of the objects (or ObjectRefs) of a query answer.
    pub ids: BTreeSet<String>,
}

impl Answer {
    /// Decodes an HTTP answer of `/xds/registry`; `Err` holds the status, why it is not a
    /// registry response, and the body.
    pub fn decode(http: u16, body: String) -> Result<Answer, String> {
        let outcome = Outcome::decode(http, body);
        match &outcome.response {
            Some(response) => Ok(Answer {
                status: response.status.clone(),
                error_codes: outcome
                    .error_codes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                ids: outcome.ids(),
            }),
            None => Err(format!(
                "HTTP {}: {}\n{}",
                outcome.http,
                outcome.decode_error.as_deref().unwrap_or("no response"),
                outcome.body
            )),
        }
    }
}

/// What came back, decoded as far as it goes.
struct Outcome {
    http: u16,
    body: String,
    response: Option<RegistryResponse>,
    objects: Vec<Identifiable>,
    decode_error: Option<String>,
}

impl Outcome {
    fn decode(http: u16, body: String) -> Outcome {
        let mut outcome = Outcome {
            http,
            body,
            response: None,
            objects: Vec::new(),
            decode_error: None,
        };
        let envelope = match soap::parse_envelope(
            outcome.body.as_bytes(),
            &soap::EnvelopeOptions::default(),
        ) {
            Ok(envelope) => envelope,
            Err(error) => {
                outcome.decode_error = Some(format!("not a SOAP envelope: {error}"));
                return outcome;
            }
        };
        let inherited: Vec<(Option<&str>, &str)> = envelope
            .body
            .namespaces
            .iter()
            .map(|b| (b.prefix.as_deref(), b.uri.as_str()))
            .collect();
        match xds_model::message::parse_message_in_scope(
            envelope.body.bytes(),
            &inherited,
            xds_model::limits::XmlLimits::default(),
        ) {
            Ok(Message::RegistryResponse(response)) => outcome.response = Some(response),
            Ok(Message::AdhocQueryResponse(response)) => {
                outcome.response = Some(response.response);
                outcome.objects = response.registry_object_list.objects;
            }
            Ok(other) => {
                outcome.decode_error = Some(format!("unexpected body {other:?}"));
            }
            Err(error) => outcome.decode_error = Some(format!("not an ebRS response: {error}")),
        }
        outcome
    }

    fn error_codes(&self) -> Vec<&str> {
        self.response
            .as_ref()
            .and_then(|r| r.errors.as_ref())
            .map(|list| list.errors.iter().map(|e| e.error_code.as_str()).collect())
            .unwrap_or_default()
    }

    fn ids(&self) -> BTreeSet<String> {
        self.objects.iter().map(|o| o.id().to_owned()).collect()
    }

    fn object(&self, id: &str) -> Option<&Identifiable> {
        self.objects.iter().find(|o| o.id() == id)
    }

    /// Checks one expectation; `Err` says what was found instead.
    fn meets(&self, expect: &Expect, rows: Option<&RowChange>) -> Result<(), String> {
        let need_response = || {
            self.response.as_ref().ok_or_else(|| {
                format!(
                    "no ebRS response ({})",
                    self.decode_error.as_deref().unwrap_or("?")
                )
            })
        };
        match expect {
            Expect::Http(code) => (self.http == *code)
                .then_some(())
                .ok_or(format!("HTTP {}", self.http)),
            Expect::Status(status) => {
                let response = need_response()?;
                (response.status == *status)
                    .then_some(())
                    .ok_or(format!("status {}", response.status))
            }
            Expect::ErrorCode(code) => {
                need_response()?;
                let codes = self.error_codes();
                codes
                    .contains(code)
                    .then_some(())
                    .ok_or(format!("error codes {codes:?}"))
            }
            Expect::AnyErrorCode(choices) => {
                need_response()?;
                let codes = self.error_codes();
                codes
                    .iter()
                    .any(|c| choices.contains(c))
                    .then_some(())
                    .ok_or(format!("error codes {codes:?}"))
            }
            Expect::NoErrors => {
                need_response()?;
                let codes = self.error_codes();
                codes
                    .is_empty()
                    .then_some(())
                    .ok_or(format!("error codes {codes:?}"))
            }
            Expect::Fault(subcode) => {
                let is_fault = self.body.contains(":Fault") && self.body.contains(subcode);
                is_fault
                    .then_some(())
                    .ok_or("no SOAP Fault with that subcode".to_owned())
            }
            Expect::ExactlyIds(ids) => {
                need_response()?;
                let found = self.ids();
                (&found == ids)
                    .then_some(())
                    .ok_or(format!("ids {found:?}"))
            }
            Expect::Includes(id) => {
                need_response()?;
                let found = self.ids();
                found
                    .contains(id)
                    .then_some(())
                    .ok_or(format!("ids {found:?}"))
            }
            Expect::Excludes(id) => {
                need_response()?;
                let found = self.ids();
                (!found.contains(id))
                    .then_some(())
                    .ok_or(format!("ids {found:?}"))
            }
            Expect::Count(kind, n) => {
                need_response()?;
                let count = self
                    .objects
                    .iter()
                    .filter(|o| {
                        matches!(
                            (kind, o),
                            (Kind::ExtrinsicObject, Identifiable::ExtrinsicObject(_))
                                | (Kind::RegistryPackage, Identifiable::RegistryPackage(_))
                                | (Kind::Association, Identifiable::Association(_))
                                | (Kind::ObjectRef, Identifiable::ObjectRef(_))
                        )
                    })
                    .count();
                (count == *n)
                    .then_some(())
                    .ok_or(format!("{count} of kind {kind:?}"))
            }
            Expect::ObjectStatus(id, status) => {
                let object = self
                    .object(id)
                    .and_then(Identifiable::registry_object)
                    .ok_or(format!("no object {id} in {:?}", self.ids()))?;
                (object.status.as_deref() == Some(status))
                    .then_some(())
                    .ok_or(format!("status {:?}", object.status))
            }
            Expect::ObjectLid(id, lid) => {
                let object = self
                    .object(id)
                    .and_then(Identifiable::registry_object)
                    .ok_or(format!("no object {id} in {:?}", self.ids()))?;
                (object.lid.as_deref() == Some(lid.as_str()))
                    .then_some(())
                    .ok_or(format!("lid {:?}", object.lid))
            }
            Expect::StoresNothing => {
                let Some(rows) = rows else {
                    return Err("row counts were not taken".into());
                };
                (rows.before == rows.after).then_some(()).ok_or(format!(
                    "rows before {:?}, after {:?}",
                    rows.before, rows.after
                ))
            }
        }
    }
}

struct RowChange {
    before: BTreeMap<&'static str, i64>,
    after: BTreeMap<&'static str, i64>,
}

/// Runs `scenario` against a fresh server; panics with a full report at the first failing step.
pub async fn check(scenario: Scenario) {
    check_configured(scenario, |_| {}).await
}

/// [`check`] against a server whose default configuration `configure` changed.
pub async fn check_configured(
    scenario: Scenario,
    configure: impl FnOnce(&mut dds::config::Config),
) {
    let mut harness = Harness::start_with(configure).await;
    for (index, step) in scenario.steps.iter().enumerate() {
        let counts_rows = step
            .expect
            .iter()
            .any(|e| matches!(e, Expect::StoresNothing));
        let before = if counts_rows {
            Some(harness.row_counts().await)
        } else {
            None
        };
        let (http, body) = harness.post_registry(&step.card, &step.envelope).await;
        let rows = match before {
            Some(before) => Some(RowChange {
                before,
                after: harness.row_counts().await,
            }),
            None => None,
        };
        let outcome = Outcome::decode(http, body);
        let mut unmet = String::new();
        for expect in &step.expect {
            if let Err(found) = outcome.meets(expect, rows.as_ref()) {
                let _ = writeln!(unmet, "  - expected {expect:?}\n    found {found}");
            }
        }
        if !unmet.is_empty() {
            panic!(
                "scenario `{}` (NIST {}) failed at step {} `{}`\npurpose: {}\nunmet expectations:\n{unmet}request:\n{}\nresponse (HTTP {}):\n{}",
                scenario.name,
                scenario.nist.unwrap_or("-"),
                index + 1,
                step.name,
                scenario.purpose,
                step.envelope,
                outcome.http,
                outcome.body,
            );
        }
    }
    harness.finish().await;
}

#[cfg(test)]
mod tests {
    //! The checker against the sample responses: each expectation passes on what the response
    //! holds and fails on what it does not, so a green scenario is not a vacuous one.

    use super::*;

    fn sample(path: &str) -> Outcome {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples")
            .join(path);
        let body = std::fs::read_to_string(&path).expect("sample response");
        Outcome::decode(200, body)
    }

    const DOC_1: &str = "urn:uuid:ee983d75-3a3a-55a3-b15c-0f0ca84afd2a";
    const DOC_2: &str = "urn:uuid:5b5eae00-15ab-51aa-8312-b725760f6b92";

    #[test]
    fn query_response_expectations_hold_and_fail_as_they_should() {
        let outcome = sample("iti-18/find-documents-leafclass.response.xml");
        assert!(outcome.decode_error.is_none(), "{:?}", outcome.decode_error);
        let holds = [
            Expect::Http(200),
            Expect::Status(response_status::SUCCESS),
            Expect::NoErrors,
            Expect::ExactlyIds([DOC_1, DOC_2].map(str::to_owned).into()),
            Expect::Includes(DOC_1.into()),
            Expect::Excludes("urn:uuid:00000000-0000-4000-8000-000000000000".into()),
            Expect::Count(Kind::ExtrinsicObject, 2),
            Expect::Count(Kind::ObjectRef, 0),
            Expect::ObjectStatus(
                DOC_1.into(),
                "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
            ),
        ];
        for expect in &holds {
            assert_eq!(outcome.meets(expect, None), Ok(()), "{expect:?}");
        }
        let fails = [
            Expect::Http(400),
            Expect::Status(response_status::FAILURE),
            Expect::ErrorCode("XDSRegistryError"),
            Expect::Fault("wsse:FailedAuthentication"),
            Expect::ExactlyIds([DOC_1].map(str::to_owned).into()),
            Expect::Excludes(DOC_2.into()),
            Expect::Count(Kind::ExtrinsicObject, 1),
            Expect::ObjectStatus(
                DOC_2.into(),
                "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated",
            ),
            Expect::StoresNothing,
        ];
        for expect in &fails {
            assert!(
                outcome.meets(expect, None).is_err(),
                "{expect:?} should fail"
            );
        }
    }

    #[test]
    fn failure_response_carries_its_error_code() {
        let outcome = sample("iti-18/find-documents-missing-patientid.response-failure.xml");
        assert_eq!(
            outcome.meets(&Expect::ErrorCode("XDSStoredQueryMissingParam"), None),
            Ok(())
        );
        assert!(outcome.meets(&Expect::NoErrors, None).is_err());
        assert_eq!(
            outcome.meets(
                &Expect::AnyErrorCode(&["XDSStoredQueryParamNumber", "XDSStoredQueryMissingParam"]),
                None
            ),
            Ok(())
        );
    }

    #[test]
    fn row_changes_are_detected() {
        let outcome = Outcome::decode(200, String::new());
        let same = RowChange {
            before: [("registry_object", 3)].into(),
            after: [("registry_object", 3)].into(),
        };
        let grown = RowChange {
            before: [("registry_object", 3)].into(),
            after: [("registry_object", 5)].into(),
        };
        assert_eq!(outcome.meets(&Expect::StoresNothing, Some(&same)), Ok(()));
        assert!(outcome.meets(&Expect::StoresNothing, Some(&grown)).is_err());
    }
}
