//! The consent JSON API over a real socket: a citizen manages their own directives, an admin
//! anyone's, bad input gets a precise error and changes nothing, and refusals are recorded.

mod support;

use identity::Role;
use serde_json::{Value, json};
use support::{TestServer, base64_encode};

const KAREN: &str = "0201919990";

struct Client<'a> {
    server: &'a TestServer,
    authorization: String,
}

impl<'a> Client<'a> {
    fn new(server: &'a TestServer, role: Role, cpr: &str) -> Client<'a> {
        let card = server.card(role, Some(cpr));
        Client {
            server,
            authorization: format!("SAML {}", base64_encode(card.as_bytes())),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/consent/v1/patients/{path}", self.server.base);
        let request = match method {
            "GET" => self.server.http.get(url),
            "PUT" => self.server.http.put(url),
            "POST" => self.server.http.post(url),
            "DELETE" => self.server.http.delete(url),
            other => panic!("no method {other}"),
        }
        .header("authorization", &self.authorization);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, value)
    }
}

#[tokio::test]
async fn a_citizen_manages_their_own_opt_out_and_blocks() {
    let server = TestServer::start().await;
    let karen = Client::new(&server, Role::Citizen, KAREN);

    let (status, body) = karen.call("GET", KAREN, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["opt_out"], Value::Null);
    assert_eq!(body["blocks"], json!([]));

    assert_eq!(
        karen.call("PUT", &format!("{KAREN}/opt-out"), None).await.0,
        201
    );
    assert_eq!(
        karen.call("PUT", &format!("{KAREN}/opt-out"), None).await.0,
        200
    );

    let (status, created) = karen
        .call(
            "POST",
            &format!("{KAREN}/blocks"),
            Some(json!({"kind": "organisation", "sor": "328081000016004"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = karen
        .call(
            "POST",
            &format!("{KAREN}/blocks"),
            Some(
                json!({"kind": "period", "from": "2026-01-01", "to": "2026-03-31",
                        "valid_to": "2027-01-01"}),
            ),
        )
        .await;
    assert_eq!(status, 201);

    let (_, body) = karen.call("GET", KAREN, None).await;
    assert!(body["opt_out"]["since"].is_string(), "{body}");
    assert_eq!(body["blocks"].as_array().unwrap().len(), 2, "{body}");

    assert_eq!(
        karen
            .call("DELETE", &format!("{KAREN}/blocks/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        karen
            .call("DELETE", &format!("{KAREN}/blocks/{id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        karen
            .call("DELETE", &format!("{KAREN}/opt-out"), None)
            .await
            .0,
        204
    );
    let (_, body) = karen.call("GET", KAREN, None).await;
    assert_eq!(body["opt_out"], Value::Null);
    assert_eq!(body["blocks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_blocks_are_refused_precisely_and_store_nothing() {
    let server = TestServer::start().await;
    let karen = Client::new(&server, Role::Citizen, KAREN);
    for bad in [
        json!({"kind": "weather"}),
        json!({"kind": "period", "from": "2026-13-01", "to": "2026-12-31"}),
        json!({"kind": "period", "from": "2026-05-01", "to": "2026-04-01"}),
        json!({"kind": "professional", "professional_cpr": "12"}),
        json!({"kind": "organisation", "sor": ""}),
    ] {
        let (status, body) = karen
            .call("POST", &format!("{KAREN}/blocks"), Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad} → {body}");
        assert_eq!(body["error"], "bad_block", "{body}");
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");
    }
    let (_, body) = karen.call("GET", KAREN, None).await;
    assert_eq!(body["blocks"], json!([]));
}

#[tokio::test]
async fn only_the_citizen_or_an_admin_may_see_or_change_directives() {
    let server = TestServer::start().await;
    let jens = Client::new(&server, Role::Citizen, "0101700013");
    let (status, body) = jens.call("GET", KAREN, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        jens.call("PUT", &format!("{KAREN}/opt-out"), None).await.0,
        403
    );
    let doctor = Client::new(&server, Role::Doctor, "0804569723");
    assert_eq!(doctor.call("GET", KAREN, None).await.0, 403);

    let admin = Client::new(&server, Role::Admin, "0101700013");
    assert_eq!(
        admin.call("PUT", &format!("{KAREN}/opt-out"), None).await.0,
        201
    );
    let (status, body) = admin.call("GET", "12", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_cpr");

    assert_eq!(server.rejected().await.len(), 3);
}
