//! The role → operation policy: the default table, the citizen's own-data rule, and the
//! configuration format.

use identity::{Caller, Operation, Organisation, Person, Policy, Rejection, Role};

const OWN: &str = "0101011234";
const OTHER: &str = "0202025678";

fn caller(role: Role) -> Caller {
    Caller {
        person: (role != Role::System).then(|| Person {
            cpr: OWN.into(),
            given_name: "Test".into(),
            surname: "Testesen".into(),
        }),
        role,
        authorisation_code: None,
        organisation: Organisation::default(),
        it_system: None,
        on_behalf_of: None,
        card_id: "card".into(),
        issuer: "sts".into(),
        valid_until: time::OffsetDateTime::now_utc(),
    }
}

/// One check helper: which operations the default policy allows `role` for another patient.
fn allowed(policy: &Policy, role: Role, patient: Option<&str>) -> Vec<Operation> {
    use Operation::*;
    [
        Register,
        Update,
        Delete,
        Query,
        Retrieve,
        MultiPatientQuery,
        Administer,
        ReadOwnLog,
        ReadDelegations,
        ManageConsent,
    ]
    .into_iter()
    .filter(|&op| policy.authorize(&caller(role), op, patient).is_ok())
    .collect()
}

#[test]
fn default_table() {
    use Operation::*;
    let p = Policy::default();
    assert_eq!(
        allowed(&p, Role::System, Some(OTHER)),
        [Register, Update, Delete, Query, Retrieve, MultiPatientQuery]
    );
    assert_eq!(
        allowed(&p, Role::Doctor, Some(OTHER)),
        [Register, Query, Retrieve]
    );
    assert_eq!(
        allowed(&p, Role::Doctor, Some(OWN)),
        [Register, Query, Retrieve, ReadDelegations]
    );
    assert_eq!(
        allowed(&p, Role::Nurse, Some(OTHER)),
        [Register, Query, Retrieve]
    );
    assert_eq!(allowed(&p, Role::Secretary, Some(OTHER)), [Query, Retrieve]);
    assert_eq!(
        allowed(&p, Role::Admin, Some(OTHER)),
        [Administer, ReadDelegations, ManageConsent]
    );
    assert_eq!(allowed(&p, Role::Citizen, Some(OTHER)), []);
    assert_eq!(
        allowed(&p, Role::Citizen, Some(OWN)),
        [Query, Retrieve, ReadOwnLog, ManageConsent]
    );
    assert_eq!(allowed(&p, Role::Citizen, None), []);
}

#[test]
fn citizen_asking_for_another_cpr_is_rejected_with_its_cause() {
    let p = Policy::default();
    assert_eq!(
        p.authorize(&caller(Role::Citizen), Operation::Query, Some(OTHER)),
        Err(Rejection::NotOwnData {
            operation: Operation::Query
        })
    );
    assert_eq!(
        p.authorize(&caller(Role::Citizen), Operation::Register, Some(OWN)),
        Err(Rejection::NotAuthorized {
            role: Role::Citizen,
            operation: Operation::Register
        })
    );
    let err = p
        .authorize(&caller(Role::Secretary), Operation::Delete, Some(OTHER))
        .expect_err("refused");
    assert_eq!(err.medcom_fault_code(), "not_authorized");
    assert_eq!(err.fault_subcode().qname(), "wsse:FailedAuthentication");
}

#[test]
fn delegation_view_is_for_the_named_professional_or_an_admin() {
    let p = Policy::default();
    let read = Operation::ReadDelegations;
    assert_eq!(p.authorize(&caller(Role::Doctor), read, Some(OWN)), Ok(()));
    assert_eq!(
        p.authorize(&caller(Role::Doctor), read, Some(OTHER)),
        Err(Rejection::NotOwnData { operation: read })
    );
    assert_eq!(
        p.authorize(&caller(Role::Doctor), read, None),
        Err(Rejection::NotOwnData { operation: read })
    );
    assert_eq!(p.authorize(&caller(Role::Admin), read, Some(OTHER)), Ok(()));
    assert_eq!(
        p.authorize(&caller(Role::Secretary), read, Some(OWN)),
        Err(Rejection::NotAuthorized {
            role: Role::Secretary,
            operation: read
        })
    );
    // A table that lets nurses read delegations still holds them to their own CPR.
    let nurses: Policy = toml::from_str(r#"nurse = ["read_delegations"]"#).expect("policy");
    assert_eq!(
        nurses.authorize(&caller(Role::Nurse), read, Some(OWN)),
        Ok(())
    );
    assert!(
        nurses
            .authorize(&caller(Role::Nurse), read, Some(OTHER))
            .is_err()
    );
}

#[test]
fn configured_table_replaces_the_default_and_citizens_stay_restricted() {
    let p: Policy = toml::from_str(
        r#"
        doctor = ["query"]
        citizen = ["query", "multi_patient_query"]
        "#,
    )
    .expect("policy");
    assert_eq!(allowed(&p, Role::Doctor, Some(OTHER)), [Operation::Query]);
    assert_eq!(allowed(&p, Role::System, Some(OTHER)), []);
    assert_eq!(allowed(&p, Role::Citizen, Some(OTHER)), []);
    assert_eq!(
        allowed(&p, Role::Citizen, Some(OWN)),
        [Operation::Query, Operation::MultiPatientQuery]
    );
    // Whoever the table lets read their own log reads only that.
    let doctors: Policy = toml::from_str(r#"doctor = ["read_own_log"]"#).expect("policy");
    assert_eq!(
        allowed(&doctors, Role::Doctor, Some(OWN)),
        [Operation::ReadOwnLog]
    );
    assert_eq!(allowed(&doctors, Role::Doctor, Some(OTHER)), []);
    assert_eq!(allowed(&doctors, Role::Doctor, None), []);
    assert!(toml::from_str::<Policy>("doctor = [\"fly\"]").is_err());
    assert!(toml::from_str::<Policy>("pilot = [\"query\"]").is_err());
}
