//! The auth service through the real actix app: envelope middleware, AuthContext,
//! a fake directory and a SQLite database in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{test, web, App};
use async_trait::async_trait;
use crossbar_auth::{AuthConfig, AuthService};
use crossbar_authz::{
    AccountDirectory, AccountRef, AccountSelector, AuthContext, CredentialMethod, TokenVerifier,
    UserDirectory, UserRef,
};
use crossbar_envelope::{envelope_middleware, ApiError};
use crossbar_events::subjects::{SIGNING_KEY_ROTATED_SUBJECT, TOKEN_REVOKED_SUBJECT};
use crossbar_events::{Bus, InProcessBus};
use md5::{Digest, Md5};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use serde_json::{json, Value};
use sha1::Sha1;

// ------------------------------------------------------------------------------------
// fake directory

const MASTER: &str = "00000000000000000000000000000001";
const ACME: &str = "acacacacacacacacacacacacacacacac";
const CLOSED: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const ALICE: &str = "a11ce000000000000000000000000000";
const BOB: &str = "b0b00000000000000000000000000000";
const CAROL: &str = "ca401000000000000000000000000000";
const ACME_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const CLOSED_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn md5_creds(user: &str, pass: &str) -> String {
    hex::encode(Md5::digest(format!("{user}:{pass}").as_bytes()))
}

fn sha1_creds(user: &str, pass: &str) -> String {
    hex::encode(Sha1::digest(format!("{user}:{pass}").as_bytes()))
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

struct StoredUser {
    user: UserRef,
    md5: String,
    sha1: String,
}

struct FakeDirectory {
    accounts: Vec<AccountRef>,
    users: Vec<StoredUser>,
    api_keys: HashMap<String, String>,
    numbers: HashMap<String, String>,
}

fn account(id: &str, name: &str, realm: &str, tree: &[&str], enabled: bool) -> AccountRef {
    AccountRef {
        id: id.into(),
        name: name.into(),
        realm: realm.into(),
        tree: tree.iter().map(|s| s.to_string()).collect(),
        enabled,
        superduper_admin: tree.is_empty(),
        is_reseller: id == ACME,
    }
}

fn user(
    id: &str,
    account_id: &str,
    username: &str,
    priv_level: &str,
    language: Option<&str>,
) -> UserRef {
    UserRef {
        id: id.into(),
        account_id: account_id.into(),
        username: username.into(),
        first_name: username.into(),
        last_name: "Test".into(),
        priv_level: priv_level.into(),
        enabled: true,
        language: language.map(str::to_string),
    }
}

impl FakeDirectory {
    fn new() -> Self {
        let stored = |u: UserRef, pass: &str| StoredUser {
            md5: md5_creds(&u.username, pass),
            sha1: sha1_creds(&u.username, pass),
            user: u,
        };
        Self {
            accounts: vec![
                account(MASTER, "Master", "master.sip.example", &[], true),
                account(ACME, "Acme Corp", "acme.sip.example", &[MASTER], true),
                account(CLOSED, "Closed Inc", "closed.sip.example", &[MASTER], false),
            ],
            users: vec![
                stored(user(ALICE, ACME, "alice", "admin", Some("fr-fr")), "secret"),
                stored(user(BOB, MASTER, "bob", "user", None), "hunter2"),
                stored(user(CAROL, CLOSED, "carol", "admin", None), "closed"),
            ],
            api_keys: HashMap::from([
                (ACME_KEY.to_string(), ACME.to_string()),
                (CLOSED_KEY.to_string(), CLOSED.to_string()),
            ]),
            numbers: HashMap::from([("+14155550100".to_string(), ACME.to_string())]),
        }
    }

    fn by_id(&self, id: &str) -> Option<AccountRef> {
        self.accounts.iter().find(|a| a.id == id).cloned()
    }
}

#[async_trait]
impl UserDirectory for FakeDirectory {
    async fn find_accounts(&self, selector: &AccountSelector) -> Result<Vec<AccountRef>, ApiError> {
        Ok(match selector {
            AccountSelector::PhoneNumber(n) => self
                .numbers
                .get(n)
                .and_then(|id| self.by_id(id))
                .into_iter()
                .collect(),
            AccountSelector::Realm(r) => self
                .accounts
                .iter()
                .filter(|a| a.realm.eq_ignore_ascii_case(r))
                .cloned()
                .collect(),
            AccountSelector::Name(n) => self
                .accounts
                .iter()
                .filter(|a| normalize(&a.name) == normalize(n))
                .cloned()
                .collect(),
        })
    }

    async fn check_credentials(
        &self,
        account_id: &str,
        method: CredentialMethod,
        credentials: &str,
    ) -> Result<Option<UserRef>, ApiError> {
        Ok(self
            .users
            .iter()
            .find(|u| {
                u.user.account_id == account_id
                    && match method {
                        CredentialMethod::Md5 => u.md5 == credentials,
                        CredentialMethod::Sha1 => u.sha1 == credentials,
                    }
            })
            .map(|u| u.user.clone()))
    }

    async fn account_by_api_key(&self, api_key: &str) -> Result<Option<AccountRef>, ApiError> {
        Ok(self.api_keys.get(api_key).and_then(|id| self.by_id(id)))
    }

    async fn user(&self, account_id: &str, user_id: &str) -> Result<Option<UserRef>, ApiError> {
        Ok(self
            .users
            .iter()
            .find(|u| u.user.account_id == account_id && u.user.id == user_id)
            .map(|u| u.user.clone()))
    }

    async fn reseller_id(&self, account_id: &str) -> Result<Option<String>, ApiError> {
        Ok(Some(if account_id == ACME {
            ACME.into()
        } else {
            MASTER.into()
        }))
    }
}

#[async_trait]
impl AccountDirectory for FakeDirectory {
    async fn account(&self, id: &str) -> Result<Option<AccountRef>, ApiError> {
        Ok(self.by_id(id))
    }
}

// ------------------------------------------------------------------------------------
// harness

struct Harness {
    service: AuthService,
    verifier: Arc<TokenVerifier>,
    directory: Arc<FakeDirectory>,
    bus: Arc<InProcessBus>,
    db_url: String,
    _dir: tempfile::TempDir,
}

async fn connect(url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_string());
    options.max_connections(1).sqlx_logging(false);
    Database::connect(options).await.unwrap()
}

async fn start(
    url: &str,
    bus: Arc<InProcessBus>,
    directory: Arc<FakeDirectory>,
) -> (AuthService, Arc<TokenVerifier>) {
    start_with(url, bus, directory, AuthConfig::default())
        .await
        .unwrap()
}

async fn start_with(
    url: &str,
    bus: Arc<InProcessBus>,
    directory: Arc<FakeDirectory>,
    config: AuthConfig,
) -> Result<(AuthService, Arc<TokenVerifier>), String> {
    let verifier = Arc::new(TokenVerifier::new());
    let service =
        AuthService::start(connect(url).await, bus, directory, verifier.clone(), config).await?;
    Ok((service, verifier))
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("auth.db").display());
    let bus = Arc::new(InProcessBus::new());
    let directory = Arc::new(FakeDirectory::new());
    let (service, verifier) = start(&db_url, bus.clone(), directory.clone()).await;
    Harness {
        service,
        verifier,
        directory,
        bus,
        db_url,
        _dir: dir,
    }
}

macro_rules! app {
    ($service:expr, $verifier:expr, $directory:expr) => {{
        let service = $service.clone();
        test::init_service(
            App::new()
                .wrap(from_fn(envelope_middleware))
                .app_data(web::Data::new(AuthContext {
                    verifier: $verifier.clone(),
                    directory: $directory.clone(),
                }))
                .configure(move |cfg| service.configure(cfg)),
        )
        .await
    }};
    ($h:expr) => {
        app!($h.service, $h.verifier, $h.directory)
    };
}

fn addr(ip: &str) -> SocketAddr {
    format!("{ip}:40000").parse().unwrap()
}

/// Sends a request; returns status, headers and the JSON body.
macro_rules! call {
    ($app:expr, $req:expr) => {{
        let resp = test::call_service(&$app, $req.to_request()).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body: Value = test::read_body_json(resp).await;
        (status, headers, body)
    }};
}

fn login(data: Value) -> test::TestRequest {
    test::TestRequest::put()
        .uri("/v2/user_auth")
        .peer_addr(addr("10.0.0.1"))
        .set_json(json!({ "data": data }))
}

fn with_token(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("X-Auth-Token", token))
}

fn alice_login() -> Value {
    json!({"credentials": md5_creds("alice", "secret"), "account_name": "Acme Corp"})
}

fn assert_error(status: StatusCode, body: &Value, code: u16, message: &str) {
    assert_eq!(status.as_u16(), code, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["error"], code.to_string(), "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert!(body.get("revision").is_none(), "{body}");
}

fn assert_invalid_credentials(status: StatusCode, body: &Value) {
    assert_error(status, body, 401, "invalid_credentials");
    assert_eq!(body["data"], json!({"message": "invalid credentials"}));
}

// ------------------------------------------------------------------------------------
// user_auth

#[actix_web::test]
async fn user_auth_md5_by_account_name() {
    let h = harness().await;
    let app = app!(h);
    let (status, headers, body) = call!(app, login(alice_login()));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(
        headers.get("x-request-id").unwrap().to_str().unwrap(),
        body["request_id"].as_str().unwrap()
    );
    assert!(headers.get("location").is_none());
    assert_eq!(
        body["data"],
        json!({
            "account_id": ACME, "owner_id": ALICE, "apps": [], "language": "fr-fr",
            "account_name": "Acme Corp", "reseller_id": ACME, "is_reseller": true,
            "is_master_account": false
        })
    );
    let token = body["auth_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let claims = h.verifier.verify(token).unwrap();
    assert_eq!(claims.account_id, ACME);
    assert_eq!(claims.owner_id.as_deref(), Some(ALICE));
    assert_eq!(claims.method, "cb_user_auth");
    assert_eq!(claims.priv_level.as_deref(), Some("admin"));
    assert_eq!(claims.exp - claims.iat, 3600);
    // the signer the service exposes made it
    let (_, other) = h
        .service
        .signer()
        .issue(ACME, None, "cb_api_auth", None)
        .unwrap();
    assert_eq!(other.iss, claims.iss);
}

#[actix_web::test]
async fn user_auth_sha_by_realm_and_realm_alias() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(
        app,
        login(
            json!({"credentials": sha1_creds("bob", "hunter2"), "method": "sha",
                     "account_realm": "MASTER.sip.example"})
        )
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["account_id"], MASTER);
    assert_eq!(body["data"]["owner_id"], BOB);
    assert_eq!(body["data"]["language"], "en-us");
    assert_eq!(body["data"]["is_master_account"], true);
    assert_eq!(body["data"]["is_reseller"], false);

    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("bob", "hunter2"), "realm": "master.sip.example"}))
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["owner_id"], BOB);

    // an md5 credential presented as sha does not match
    let (status, _, body) = call!(
        app,
        login(
            json!({"credentials": md5_creds("bob", "hunter2"), "method": "sha",
                     "realm": "master.sip.example"})
        )
    );
    assert_invalid_credentials(status, &body);
}

#[actix_web::test]
async fn user_auth_by_phone_number_then_fallbacks() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("alice", "secret"), "phone_number": "+14155550100"}))
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["account_id"], ACME);

    // an unknown number falls through to the realm, then the name
    let (status, _, body) = call!(
        app,
        login(
            json!({"credentials": md5_creds("alice", "secret"), "phone_number": "+19995550000",
                     "account_name": "acme-corp"})
        )
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["account_id"], ACME);

    // no selector at all
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("alice", "secret")}))
    );
    assert_invalid_credentials(status, &body);
}

#[actix_web::test]
async fn user_auth_wrong_credentials_is_kazoo_401() {
    let h = harness().await;
    let app = app!(h);
    let (status, headers, body) = call!(
        app,
        login(json!({"credentials": md5_creds("alice", "wrong"), "account_name": "Acme Corp"}))
    );
    assert_invalid_credentials(status, &body);
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "auth_token",
            "data",
            "error",
            "message",
            "node",
            "request_id",
            "status",
            "timestamp",
            "version"
        ]
    );
    assert_eq!(body["auth_token"], "");
    assert_eq!(
        headers.get("x-request-id").unwrap().to_str().unwrap(),
        body["request_id"].as_str().unwrap()
    );
    // unknown account
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("alice", "secret"), "account_name": "Nobody"}))
    );
    assert_invalid_credentials(status, &body);
}

#[actix_web::test]
async fn user_auth_disabled_account_is_400() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("carol", "closed"), "account_name": "Closed Inc"}))
    );
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"],
        json!({"account": {"disabled": {"message": "account disabled"}}})
    );
    // wrong credentials on a disabled account say nothing about it
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("carol", "nope"), "account_name": "Closed Inc"}))
    );
    assert_invalid_credentials(status, &body);
}

#[actix_web::test]
async fn user_auth_validation_errors() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(app, login(json!({"account_name": "Acme Corp"})));
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"],
        json!({"credentials": {"required": {"message": "Field is required but missing"}}})
    );
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": "", "method": "plain", "account_name": "Acme Corp"}))
    );
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"]["credentials"]["minLength"]["message"],
        "String must be at least 1 characters"
    );
    assert_eq!(
        body["data"]["method"]["enum"],
        json!({"message": "Value not found in enumerated list of values", "target": ["md5", "sha"], "value": "plain"})
    );
    // an empty body is a missing credential too
    let (status, _, body) = call!(
        app,
        test::TestRequest::put()
            .uri("/v2/user_auth")
            .peer_addr(addr("10.0.0.1"))
    );
    assert_error(status, &body, 400, "validation error");
    assert!(body["data"]["credentials"]["required"].is_object());
}

#[actix_web::test]
async fn user_auth_ignores_a_stale_token_header() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(app, with_token(login(alice_login()), "stale.token.here"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["auth_token"].as_str().unwrap();
    assert_ne!(token, "stale.token.here");
    assert!(h.verifier.verify(token).is_ok());
}

#[actix_web::test]
async fn user_auth_get_describes_the_token_in_use() {
    let h = harness().await;
    let app = app!(h);
    let (_, _, body) = call!(app, login(alice_login()));
    let token = body["auth_token"].as_str().unwrap().to_string();
    let jti = h.verifier.verify(&token).unwrap().jti;

    let req = with_token(
        test::TestRequest::get().uri(&format!("/v2/user_auth/{token}")),
        &token,
    );
    let (status, _, body) = call!(app, req);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "account_id": ACME, "owner_id": ALICE, "method": "cb_user_auth", "id": jti,
            "reseller_id": ACME, "is_reseller": true, "account_name": "Acme Corp",
            "language": "fr-fr", "apps": []
        })
    );
    assert_eq!(body["auth_token"], token);

    // a path token other than the one in use
    let (_, _, other) = call!(app, login(alice_login()));
    let other = other["auth_token"].as_str().unwrap();
    let req = with_token(
        test::TestRequest::get().uri(&format!("/v2/user_auth/{other}")),
        &token,
    );
    let (status, _, body) = call!(app, req);
    assert_invalid_credentials(status, &body);
    // no token at all
    let (status, _, body) = call!(
        app,
        test::TestRequest::get().uri(&format!("/v2/user_auth/{token}"))
    );
    assert_invalid_credentials(status, &body);
}

// ------------------------------------------------------------------------------------
// api_auth

fn api_login(data: Value) -> test::TestRequest {
    test::TestRequest::put()
        .uri("/v2/api_auth")
        .peer_addr(addr("10.0.0.1"))
        .set_json(json!({ "data": data }))
}

#[actix_web::test]
async fn api_auth_success() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(app, api_login(json!({"api_key": ACME_KEY})));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "account_id": ACME, "apps": [], "language": "en-us", "account_name": "Acme Corp",
            "reseller_id": ACME, "is_reseller": true, "is_master_account": false
        })
    );
    let claims = h
        .verifier
        .verify(body["auth_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.method, "cb_api_auth");
    assert_eq!(claims.owner_id, None);

    let req = with_token(
        test::TestRequest::get().uri("/v2/token_auth"),
        body["auth_token"].as_str().unwrap(),
    );
    let (status, _, body) = call!(app, req);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["method"], "cb_api_auth");
    assert!(body["data"].get("owner_id").is_none());
}

#[actix_web::test]
async fn api_auth_unknown_key_is_404() {
    let h = harness().await;
    let app = app!(h);
    let key = "9".repeat(64);
    let (status, _, body) = call!(app, api_login(json!({"api_key": key})));
    assert_error(status, &body, 404, "bad identifier");
    assert_eq!(body["data"], json!([key]));
}

#[actix_web::test]
async fn api_auth_validation_and_disabled() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(app, api_login(json!({})));
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"],
        json!({"api_key": {"required": {"message": "Field is required but missing"}}})
    );
    let (status, _, body) = call!(app, api_login(json!({"api_key": "abc"})));
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"]["api_key"]["minLength"],
        json!({"message": "String must be at least 64 characters", "target": 64})
    );
    let (status, _, body) = call!(app, api_login(json!({"api_key": "a".repeat(65)})));
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"]["api_key"]["maxLength"]["message"],
        "String must not be more than 64 characters"
    );
    let (status, _, body) = call!(
        app,
        api_login(json!({"api_key": ACME_KEY, "restrictions": {}}))
    );
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"]["restrictions"]["additionalProperties"]["message"],
        "Strict checking of data is enabled; only include schema-defined properties"
    );
    let (status, _, body) = call!(app, api_login(json!({"api_key": CLOSED_KEY})));
    assert_error(status, &body, 400, "validation error");
    assert_eq!(
        body["data"],
        json!({"account": {"disabled": {"message": "account disabled"}}})
    );
}

// ------------------------------------------------------------------------------------
// token_auth and revocation

macro_rules! token_of {
    ($app:expr) => {{
        let (status, _, body) = call!($app, login(alice_login()));
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["auth_token"].as_str().unwrap().to_string()
    }};
}

#[actix_web::test]
async fn token_auth_get() {
    let h = harness().await;
    let app = app!(h);
    let token = token_of!(app);
    let (status, _, body) = call!(
        app,
        with_token(test::TestRequest::get().uri("/v2/token_auth"), &token)
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["account_id"], ACME);
    assert_eq!(body["data"]["owner_id"], ALICE);
    assert_eq!(body["data"]["method"], "cb_user_auth");
    // also as a bearer token
    let req = test::TestRequest::get()
        .uri("/v2/token_auth")
        .insert_header(("Authorization", format!("Bearer {token}")));
    let (status, _, _) = call!(app, req);
    assert_eq!(status, StatusCode::OK);
    // invalid and missing tokens
    let (status, _, body) = call!(
        app,
        with_token(test::TestRequest::get().uri("/v2/token_auth"), "garbage")
    );
    assert_invalid_credentials(status, &body);
    let (status, _, body) = call!(app, test::TestRequest::get().uri("/v2/token_auth"));
    assert_invalid_credentials(status, &body);
}

#[actix_web::test]
async fn token_auth_delete_revokes_everywhere() {
    let h = harness().await;
    // another service's verifier, fed only by the bus
    let other_service = Arc::new(TokenVerifier::new());
    let signer = h.service.signer();
    other_service.add_key(&signer.key().kid, signer.key().public_key());
    h.bus
        .subscribe(TOKEN_REVOKED_SUBJECT, other_service.revocations.clone())
        .await;

    let app = app!(h);
    let token = token_of!(app);
    let keep = token_of!(app);
    assert!(other_service.verify(&token).is_ok());

    let (status, _, body) = call!(
        app,
        with_token(test::TestRequest::delete().uri("/v2/token_auth"), &token)
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(body["auth_token"], "");

    for uri in [
        "/v2/token_auth".to_string(),
        format!("/v2/user_auth/{token}"),
    ] {
        let (status, _, body) = call!(app, with_token(test::TestRequest::get().uri(&uri), &token));
        assert_invalid_credentials(status, &body);
    }
    let (status, _, body) = call!(
        app,
        with_token(test::TestRequest::delete().uri("/v2/token_auth"), &token)
    );
    assert_invalid_credentials(status, &body);
    assert!(
        other_service.verify(&token).is_err(),
        "the event reached the other verifier"
    );
    // other tokens are untouched
    let (status, _, _) = call!(
        app,
        with_token(test::TestRequest::get().uri("/v2/token_auth"), &keep)
    );
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn revocation_and_signing_key_survive_a_restart() {
    let h = harness().await;
    let app = app!(h);
    let revoked = token_of!(app);
    let kept = token_of!(app);
    let (status, _, _) = call!(
        app,
        with_token(test::TestRequest::delete().uri("/v2/token_auth"), &revoked)
    );
    assert_eq!(status, StatusCode::OK);
    let kid = h.service.signer().key().kid.clone();
    drop(app);

    // a fresh process: new connection, new bus, new verifier, same database
    let (service, verifier) = start(
        &h.db_url,
        Arc::new(InProcessBus::new()),
        h.directory.clone(),
    )
    .await;
    assert_eq!(service.signer().key().kid, kid, "the stored key is reused");
    assert!(verifier.verify(&revoked).is_err());
    assert!(verifier.verify(&kept).is_ok());
    let app = app!(service, verifier, h.directory);
    let (status, _, body) = call!(
        app,
        with_token(test::TestRequest::get().uri("/v2/token_auth"), &revoked)
    );
    assert_invalid_credentials(status, &body);
    let (status, _, _) = call!(
        app,
        with_token(test::TestRequest::get().uri("/v2/token_auth"), &kept)
    );
    assert_eq!(status, StatusCode::OK);
}

// ------------------------------------------------------------------------------------
// keys, throttling, 405

#[actix_web::test]
async fn keys_endpoint_serves_the_jwks() {
    let h = harness().await;
    let app = app!(h);
    let (status, _, body) = call!(app, test::TestRequest::get().uri("/v2/auth/keys"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys = body["data"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0], h.service.signer().key().public_jwk());
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(keys[0].get("d").is_none(), "no private part");
}

#[actix_web::test]
async fn throttling_blocks_the_address_not_the_user() {
    let h = harness().await;
    let app = app!(h);
    let wrong = json!({"credentials": md5_creds("alice", "guess"), "account_name": "Acme Corp"});
    for _ in 0..5 {
        let (status, _, body) = call!(app, login(wrong.clone()));
        assert_invalid_credentials(status, &body);
    }
    // even the right password from that address waits now
    let (status, headers, body) = call!(app, login(alice_login()));
    assert_error(status, &body, 429, "too_many_requests");
    assert_eq!(body["data"], json!({"message": "too many requests"}));
    let retry: u64 = headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    // a forwarded-for header does not change who the client is
    let (status, _, _) = call!(
        app,
        login(alice_login()).insert_header(("X-Forwarded-For", "10.9.9.9"))
    );
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // the real user, elsewhere, logs in
    let (status, _, body) = call!(app, login(alice_login()).peer_addr(addr("192.168.7.7")));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // another account from the blocked address is not blocked (under the address limit)
    let (status, _, body) = call!(
        app,
        login(json!({"credentials": md5_creds("bob", "hunter2"), "account_name": "Master"}))
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[actix_web::test]
async fn a_sprayed_account_stays_open_to_clean_addresses() {
    let h = harness().await;
    let app = app!(h);
    let wrong = json!({"credentials": md5_creds("alice", "guess"), "account_name": "Acme Corp"});
    // 50 failures from 25 addresses, two each: under every per-address limit
    for i in 0..25 {
        for _ in 0..2 {
            let (status, _, body) = call!(
                app,
                login(wrong.clone()).peer_addr(addr(&format!("10.1.0.{i}")))
            );
            assert_invalid_credentials(status, &body);
        }
    }
    // a spraying address is refused, even with the right password
    let (status, headers, body) = call!(app, login(alice_login()).peer_addr(addr("10.1.0.3")));
    assert_error(status, &body, 429, "too_many_requests");
    assert!(headers.contains_key("retry-after"));
    // the real user from a clean address gets in
    let (status, _, body) = call!(app, login(alice_login()).peer_addr(addr("172.16.0.1")));
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[actix_web::test]
async fn password_recovery_is_not_implemented() {
    let h = harness().await;
    let app = app!(h);
    let req = test::TestRequest::put()
        .uri("/v2/user_auth/recovery")
        .set_json(json!({"data": {"username": "alice", "ui_url": "http://x", "account_name": "Acme Corp"}}));
    let (status, _, body) = call!(app, req);
    assert_error(status, &body, 501, "not_implemented");
    assert_eq!(body["data"], json!({"message": "not implemented"}));
}

#[actix_web::test]
async fn unsupported_verbs_are_kazoo_405() {
    let h = harness().await;
    let app = app!(h);
    let token = token_of!(app);
    let requests = [
        test::TestRequest::get().uri("/v2/user_auth"),
        test::TestRequest::post()
            .uri("/v2/user_auth")
            .set_json(json!({"data": {}})),
        test::TestRequest::delete().uri("/v2/user_auth"),
        test::TestRequest::get().uri("/v2/api_auth"),
        test::TestRequest::put().uri("/v2/token_auth"),
        test::TestRequest::post().uri("/v2/token_auth"),
        test::TestRequest::put().uri("/v2/auth/keys"),
        test::TestRequest::delete().uri(&format!("/v2/user_auth/{token}")),
    ];
    for req in requests {
        let (status, _, body) = call!(app, with_token(req, &token));
        assert_error(status, &body, 405, "invalid_method");
        assert_eq!(body["data"], json!({"message": "method not allowed"}));
    }
}

// ------------------------------------------------------------------------------------
// signing-key rotation

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_string()
}

macro_rules! token_status {
    ($app:expr, $token:expr) => {{
        let (status, _, _) = call!(
            $app,
            with_token(test::TestRequest::get().uri("/v2/token_auth"), $token)
        );
        status
    }};
}

#[actix_web::test]
async fn rotation_signs_with_the_new_key_and_old_tokens_keep_verifying() {
    let h = harness().await;
    let app = app!(h);
    let old = token_of!(app);
    let old_kid = h.service.signer().key().kid;
    assert_eq!(kid_of(&old), old_kid);

    let rotation = h.service.rotate_signing_key().await.unwrap();
    assert_ne!(rotation.kid, old_kid);
    assert_eq!(rotation.keys, vec![rotation.kid.clone(), old_kid.clone()]);
    assert!(
        rotation.retired.is_empty(),
        "the old key's tokens are still valid"
    );
    assert!(rotation.published);
    assert_eq!(h.service.signer().key().kid, rotation.kid);

    let new = token_of!(app);
    assert_eq!(kid_of(&new), rotation.kid);
    assert_eq!(token_status!(app, &old), StatusCode::OK);
    assert_eq!(token_status!(app, &new), StatusCode::OK);

    let (status, _, body) = call!(app, test::TestRequest::get().uri("/v2/auth/keys"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let kids: Vec<&str> = body["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![rotation.kid.as_str(), old_kid.as_str()],
        "newest first"
    );
    assert_eq!(
        body["data"]["keys"][0],
        h.service.signer().key().public_jwk()
    );
}

#[actix_web::test]
async fn another_replica_signs_with_the_new_key_after_the_event() {
    let h = harness().await;
    // a second replica: same database, same bus
    let (replica, replica_verifier) = start(&h.db_url, h.bus.clone(), h.directory.clone()).await;
    let rotation = h.service.rotate_signing_key().await.unwrap();
    assert_eq!(
        replica.signer().key().kid,
        rotation.kid,
        "followed the event"
    );
    let replica_app = app!(replica, replica_verifier, h.directory);
    let token = token_of!(replica_app);
    assert_eq!(kid_of(&token), rotation.kid);
    assert!(h.verifier.verify(&token).is_ok());
}

#[actix_web::test]
async fn a_replica_that_missed_the_event_reloads_the_keys_from_its_database() {
    let h = harness().await;
    // same database, but a bus of its own: it never hears of the rotation
    let (replica, replica_verifier) = start(
        &h.db_url,
        Arc::new(InProcessBus::new()),
        h.directory.clone(),
    )
    .await;
    // Let its outbox relay make its first round (the outbox is shared: a relay round
    // after the rotation would hand it the event on its own bus).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let old_kid = replica.signer().key().kid;
    let rotation = h.service.rotate_signing_key().await.unwrap();
    assert_eq!(replica.signer().key().kid, old_kid, "no event reached it");

    let app = app!(h);
    let token = token_of!(app);
    assert_eq!(kid_of(&token), rotation.kid);
    assert!(
        replica_verifier.verify(&token).is_err(),
        "unknown to the replica's keys"
    );
    let replica_app = app!(replica, replica_verifier, h.directory);
    assert_eq!(token_status!(replica_app, &token), StatusCode::OK);
    assert_eq!(
        replica.signer().key().kid,
        rotation.kid,
        "the reload also moved its signer"
    );
}

#[actix_web::test]
async fn a_remote_process_follows_the_rotation_event() {
    let h = harness().await;
    let bus: Arc<dyn Bus> = h.bus.clone();
    let remote = Arc::new(TokenVerifier::new());
    crossbar_auth::remote::join_verification(bus, remote.clone()).await;
    let app = app!(h);
    let old = token_of!(app);
    assert!(remote.verify(&old).is_ok());

    let rotation = h.service.rotate_signing_key().await.unwrap();
    let new = token_of!(app);
    assert_eq!(kid_of(&new), rotation.kid);
    // the plain hot path: the event brought the key
    assert!(remote.verify(&new).is_ok());
    assert!(remote.verify(&old).is_ok());
}

#[actix_web::test]
async fn a_remote_process_that_missed_the_event_asks_the_auth_service() {
    let h = harness().await;
    let bus: Arc<dyn Bus> = h.bus.clone();
    // loaded before the rotation, not subscribed to it (as if the event was lost)
    let remote = TokenVerifier::new();
    crossbar_auth::remote::load_verification(bus.as_ref(), &remote)
        .await
        .unwrap();
    crossbar_auth::remote::reload_over_bus(&bus, &remote);

    h.service.rotate_signing_key().await.unwrap();
    let app = app!(h);
    let token = token_of!(app);
    assert!(remote.verify(&token).is_err(), "the key is new to it");
    assert!(remote.verify_or_reload(&token).await.is_ok());
    assert!(remote.verify(&token).is_ok(), "and now known");
}

#[actix_web::test]
async fn retired_keys_stop_verifying_everywhere() {
    let h = harness().await;
    let bus: Arc<dyn Bus> = h.bus.clone();
    let remote = Arc::new(TokenVerifier::new());
    crossbar_auth::remote::join_verification(bus.clone(), remote.clone()).await;
    let app = app!(h);
    let first = token_of!(app);
    let first_kid = kid_of(&first);

    // Rotations in the future: the first key's successor is older than the token
    // lifetime plus the grace at the second one.
    let db = connect(&h.db_url).await;
    let outbox = crossbar_events::Outbox::new(db.clone(), bus);
    let now = crossbar_envelope::time::unix_now();
    let keep = 3600 + crossbar_auth::domain::keys::RETIRE_GRACE_SECS;
    let second = crossbar_auth::store::rotate_keys(&db, now + 10, keep)
        .await
        .unwrap();
    assert!(second.retired.is_empty());
    outbox.flush().await.unwrap();
    assert!(remote.verify(&first).is_ok());
    let third = crossbar_auth::store::rotate_keys(&db, now + 10 + keep, keep)
        .await
        .unwrap();
    assert_eq!(third.retired, vec![first_kid.clone()]);
    outbox.flush().await.unwrap();

    assert_eq!(h.service.signer().key().kid, third.new.kid);
    assert!(!remote.has_key(&first_kid), "the event retired it");
    assert!(!h.verifier.has_key(&first_kid));
    assert!(remote.verify(&first).is_err());
    assert_eq!(token_status!(app, &first), StatusCode::UNAUTHORIZED);
    assert_eq!(
        remote.kids().len(),
        2,
        "the second and third keys keep verifying"
    );
    let (status, _, body) = call!(app, test::TestRequest::get().uri("/v2/auth/keys"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["keys"].as_array().unwrap().len(), 2);
}

// ------------------------------------------------------------------------------------
// signing key from a file (CROSSBAR_JWT_KEY_FILE, the Secret `crossbar-jwt`)

/// An Ed25519 key file as `openssl genpkey -algorithm ed25519` writes it (PKCS#8 v1
/// PEM); returns its path and the kid every replica derives from it.
fn write_key_file(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    use base64::Engine;
    use ring::rand::SecureRandom;
    use ring::signature::KeyPair;
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut seed).unwrap();
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&seed);
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let public = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, public.public_key().as_ref());
    (path, hex::encode(&digest.as_ref()[..16]))
}

/// The new kids of the rotation events seen on the bus, in order.
#[derive(Default)]
struct Announced(std::sync::Mutex<Vec<String>>);

impl Announced {
    fn announced(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl crossbar_events::EventHandler for Announced {
    async fn handle(&self, event: &crossbar_events::Event) -> Result<(), String> {
        let kid = event.doc["kid"].as_str().unwrap_or_default().to_string();
        self.0.lock().unwrap().push(kid);
        Ok(())
    }
}

fn with_key_file(path: &std::path::Path) -> AuthConfig {
    AuthConfig {
        jwt_key_file: Some(path.to_path_buf()),
        ..AuthConfig::default()
    }
}

/// Kids of `GET /v2/auth/keys`, newest first.
macro_rules! jwks_kids {
    ($app:expr) => {{
        let (status, _, body) = call!($app, test::TestRequest::get().uri("/v2/auth/keys"));
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    }};
}

#[actix_web::test]
async fn a_key_file_signs_and_replacing_it_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("auth.db").display());
    let bus = Arc::new(InProcessBus::new());
    let directory = Arc::new(FakeDirectory::new());
    let remote = Arc::new(TokenVerifier::new());
    let remote_bus: Arc<dyn Bus> = bus.clone();
    crossbar_auth::remote::join_verification(remote_bus, remote.clone()).await;
    let rotations = Arc::new(Announced::default());
    bus.subscribe_broadcast(SIGNING_KEY_ROTATED_SUBJECT, rotations.clone())
        .await;
    let (k1, kid1) = write_key_file(dir.path(), "k1.pem");
    let (k2, kid2) = write_key_file(dir.path(), "k2.pem");
    assert_ne!(kid1, kid2);

    // first replica, empty database, K1: K1 is the only key and signs
    let (a, a_verifier) = start_with(&db_url, bus.clone(), directory.clone(), with_key_file(&k1))
        .await
        .unwrap();
    assert_eq!(a.signer().key().kid, kid1);
    let a_app = app!(a, a_verifier, directory);
    let t1 = token_of!(a_app);
    assert_eq!(kid_of(&t1), kid1);
    assert!(a_verifier.verify(&t1).is_ok());
    assert!(remote.verify(&t1).is_ok(), "announced to other processes");
    assert_eq!(jwks_kids!(a_app), vec![kid1.clone()], "no generated key");

    // another replica on the same database with the same file: nothing changes
    let (b, b_verifier) = start_with(&db_url, bus.clone(), directory.clone(), with_key_file(&k1))
        .await
        .unwrap();
    assert_eq!(b.signer().key().kid, kid1);
    let b_app = app!(b, b_verifier, directory);
    assert_eq!(jwks_kids!(b_app), vec![kid1.clone()], "no new key");
    assert_eq!(token_status!(b_app, &t1), StatusCode::OK);
    assert_eq!(rotations.announced(), vec![kid1.clone()], "no second event");

    // the Secret replaced, a pod rolled: K2 signs everywhere, K1's tokens still verify
    let (c, c_verifier) = start_with(&db_url, bus.clone(), directory.clone(), with_key_file(&k2))
        .await
        .unwrap();
    assert_eq!(c.signer().key().kid, kid2);
    assert_eq!(rotations.announced(), vec![kid1.clone(), kid2.clone()]);
    let c_app = app!(c, c_verifier, directory);
    assert_eq!(jwks_kids!(c_app), vec![kid2.clone(), kid1.clone()]);
    let t2 = token_of!(c_app);
    assert_eq!(kid_of(&t2), kid2);
    assert_eq!(token_status!(c_app, &t1), StatusCode::OK);
    assert_eq!(token_status!(c_app, &t2), StatusCode::OK);
    assert_eq!(
        a.signer().key().kid,
        kid2,
        "the old replicas followed the event"
    );
    assert_eq!(b.signer().key().kid, kid2);
    assert_eq!(kid_of(&token_of!(a_app)), kid2);
    assert_eq!(token_status!(a_app, &t2), StatusCode::OK);
    assert!(remote.verify(&t1).is_ok());
    assert!(remote.verify(&t2).is_ok());

    // an old replica restarting with K1 (still stored) changes nothing: K2 keeps signing
    let (d, d_verifier) = start_with(&db_url, bus.clone(), directory.clone(), with_key_file(&k1))
        .await
        .unwrap();
    assert_eq!(d.signer().key().kid, kid2);
    assert_eq!(rotations.announced().len(), 2, "no event");
    let d_app = app!(d, d_verifier, directory);
    assert_eq!(jwks_kids!(d_app), vec![kid2.clone(), kid1.clone()]);
    assert_eq!(token_status!(d_app, &t1), StatusCode::OK);
}

#[actix_web::test]
async fn switching_a_running_installation_to_a_key_file_is_a_rotation() {
    let h = harness().await;
    let app = app!(h);
    let before = token_of!(app);
    let generated = kid_of(&before);
    let (k1, kid1) = write_key_file(h._dir.path(), "k1.pem");
    let (replica, replica_verifier) = start_with(
        &h.db_url,
        h.bus.clone(),
        h.directory.clone(),
        with_key_file(&k1),
    )
    .await
    .unwrap();
    assert_eq!(replica.signer().key().kid, kid1);
    assert_eq!(h.service.signer().key().kid, kid1, "followed the event");
    let replica_app = app!(replica, replica_verifier, h.directory);
    assert_eq!(jwks_kids!(replica_app), vec![kid1, generated]);
    assert_eq!(token_status!(replica_app, &before), StatusCode::OK);
}

#[actix_web::test]
async fn a_missing_or_wrong_key_file_stops_the_start() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("auth.db").display());
    let bus = Arc::new(InProcessBus::new());
    let directory = Arc::new(FakeDirectory::new());
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key\n").unwrap();
    // an ECDSA P-256 key: PKCS#8 PEM, but not Ed25519
    let ec = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let ec_body = base64::engine::general_purpose::STANDARD.encode(ec.as_ref());
    let wrong_type = dir.path().join("p256.pem");
    std::fs::write(
        &wrong_type,
        format!("-----BEGIN PRIVATE KEY-----\n{ec_body}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    for (path, why) in [
        (&missing, "cannot read it"),
        (&dir.path().to_path_buf(), "cannot read it"),
        (&garbage, "no PEM block"),
        (&wrong_type, "not an unencrypted Ed25519 private key"),
    ] {
        let error =
            match start_with(&db_url, bus.clone(), directory.clone(), with_key_file(path)).await {
                Ok(_) => panic!("started with {}", path.display()),
                Err(error) => error,
            };
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains(why), "{error}");
        assert!(!error.contains(&ec_body[..16]), "{error}");
    }
    // nothing was stored: a start without the setting generates its key as before
    let (service, _) = start(&db_url, bus, directory).await;
    assert_eq!(service.signer().key().kid.len(), 32);
}

/// The format and the kid recipe of docs/operations.md, with the real openssl (skipped
/// where openssl is not installed).
#[actix_web::test]
async fn an_openssl_key_and_its_documented_kid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing-key.pem");
    let generated = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&path)
        .status();
    if !generated.is_ok_and(|status| status.success()) {
        eprintln!("openssl not available: skipped");
        return;
    }
    let kid = std::process::Command::new("sh")
        .arg("-c")
        .arg("openssl pkey -in \"$1\" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-32")
        .arg("sh")
        .arg(&path)
        .output()
        .unwrap();
    let kid = String::from_utf8(kid.stdout).unwrap().trim().to_string();
    let key = crossbar_auth::keys::read_key_file(&path).unwrap();
    assert_eq!(key.kid, kid);
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("auth.db").display());
    let (service, verifier) = start_with(
        &db_url,
        Arc::new(InProcessBus::new()),
        Arc::new(FakeDirectory::new()),
        with_key_file(&path),
    )
    .await
    .unwrap();
    assert_eq!(service.signer().key().kid, kid);
    let (token, _) = service
        .signer()
        .issue(ACME, Some(ALICE), "cb_user_auth", Some("admin"))
        .unwrap();
    assert!(verifier.verify(&token).is_ok());
}
