//! The registry content most stored-query scenarios start from, and shorthands for steps.
//!
//! Karen Sofie Holm (0201919990) has one SubmissionSet with two DocumentEntries and a Folder
//! holding the first; Jens Peter Mikkelsen (0101700013) has one SubmissionSet with one
//! DocumentEntry. The two documents of Karen differ in eventCode, creationTime and
//! referenceIdList so that filters can tell them apart.

use conformance_tests::{
    Card, Doc, Folder, Query, Step, Submission, association, patient_id, status,
};

pub const KAREN: &str = "0201919990";
pub const JENS: &str = "0101700013";

/// The referenceIdList value (CXi) of `doc_a`.
pub const REFERRAL: &str =
    "HEN-2026-114471^^^&1.2.208.176.43210.8.1.101&ISO^urn:ihe:iti:xds:2013:referral";

pub struct World {
    pub karen: Submission,
    /// Osteoporosis (ALAL23), created 2026-12-03, in `folder`, with referenceId `REFERRAL`.
    pub doc_a: Doc,
    /// KOL (ALAL21), created 2026-11-10, in no folder.
    pub doc_b: Doc,
    pub folder: Folder,
    pub jens: Submission,
    pub doc_c: Doc,
}

impl World {
    pub fn new() -> World {
        let doc_a = Doc::new(KAREN).reference_id(REFERRAL);
        let doc_b = Doc::new(KAREN)
            .event_code("ALAL21")
            .creation_time("20261110080000");
        let folder = Folder::new(KAREN);
        let karen = Submission::new(KAREN)
            .doc(&doc_a)
            .doc(&doc_b)
            .folder(&folder, &[&doc_a]);
        let doc_c = Doc::new(JENS);
        let jens = Submission::new(JENS).doc(&doc_c);
        World {
            karen,
            doc_a,
            doc_b,
            folder,
            jens,
            doc_c,
        }
    }

    /// Registers both submissions; each must succeed.
    pub fn setup(&self) -> Vec<Step> {
        vec![
            Step::new("register Karen's set", Card::System, self.karen.register()).succeeds(),
            Step::new("register Jens' set", Card::System, self.jens.register()).succeeds(),
        ]
    }

    /// The entryUUID of Karen's HasMember association from `source` to `target`.
    pub fn assoc(&self, source: &str, target: &str) -> String {
        self.karen
            .associations
            .iter()
            .find(|a| a.kind == association::HAS_MEMBER && a.source == source && a.target == target)
            .map(|a| a.entry_uuid.clone())
            .unwrap_or_else(|| panic!("no HasMember {source} -> {target} in the world"))
    }

    /// `setup()` followed by `steps`.
    pub fn then(&self, steps: Vec<Step>) -> Vec<Step> {
        let mut all = self.setup();
        all.extend(steps);
        all
    }
}

/// `('…Approved')`.
pub fn approved() -> String {
    format!("('{}')", status::APPROVED)
}

/// `'CPR^^^&1.2.208.176.1.2&ISO'`.
pub fn patient(cpr: &str) -> String {
    format!("'{}'", patient_id(cpr))
}

/// A query step sent with a system card.
pub fn query(name: &'static str, query: Query) -> Step {
    Step::new(name, Card::System, query.envelope())
}

/// `('CPR1^^^&…&ISO','CPR2^^^&…&ISO')`.
pub fn patient_id_list(cprs: &[&str]) -> String {
    let items: Vec<String> = cprs.iter().map(|cpr| patient(cpr)).collect();
    format!("({})", items.join(","))
}
