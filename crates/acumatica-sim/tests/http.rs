//! The simulator over real HTTP on loopback: sign-in, lists and query options, OAuth flows,
//! licence limits and injected faults.

use std::time::Duration;

use acumatica_sim::{Faults, SimConfig, SimHandle};
use base64::Engine;
use serde_json::Value;
use sha2::Digest;

async fn sim(config: SimConfig) -> SimHandle {
    acumatica_sim::start(config)
        .await
        .expect("simulator starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(c: &reqwest::Client, base: &str) -> reqwest::Response {
    c.post(format!("{base}/entity/auth/login"))
        .json(&serde_json::json!({"name": "admin", "password": "demo", "tenant": "Company"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cookie_sign_in_lists_and_signs_out() {
    let s = sim(SimConfig::default()).await;
    let base = s.base_url();
    let c = client();
    let r = login(&c, &base).await;
    assert_eq!(r.status(), 204);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_string())
        .collect();
    for name in [
        ".ASPXAUTH",
        "ASP.NET_SessionId",
        "CompanyID",
        "Locale",
        "UserBranch",
    ] {
        assert!(cookies.iter().any(|c| c == name), "{name} in {cookies:?}");
    }
    let url = format!(
        "{base}/entity/Default/24.200.001/Customer?$filter=Status eq 'active'&$select=CustomerID,Status&$top=3&$skip=1"
    );
    let rows = get_json(&c, url).await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert_eq!(r["Status"]["value"], "Active");
        assert!(r.get("CustomerName").is_none());
        assert!(r["_links"].is_object());
    }
    assert_eq!(s.stats().open_sessions, 1);
    let r = c
        .post(format!("{base}/entity/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.stats().open_sessions, 0);
    let r = c
        .get(format!("{base}/entity/Default/24.200.001/Customer"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn errors_have_the_asp_net_shape() {
    let s = sim(SimConfig::default()).await;
    let base = s.base_url();
    let c = client();
    let r = c
        .post(format!("{base}/entity/auth/login"))
        .json(&serde_json::json!({"name": "admin", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["exceptionMessage"],
        "Error: Invalid credentials. Please try again."
    );
    assert_eq!(login(&c, &base).await.status(), 204);
}

/// Each bad request is refused with its status and an ASP.NET-shaped body (`message`, …).
#[rstest::rstest]
#[case::unsupported_function("Customer?$filter=contains(CustomerName,'a')", 500, "")]
#[case::truncated_filter("Customer?$filter=CustomerName eq", 500, "")]
#[case::bad_top("Customer?$top=x", 400, "not a valid number")]
#[case::unknown_entity("NoSuchEntity", 404, "NoSuchEntity")]
#[case::missing_record("Customer/NOPE", 500, "No entity satisfies the condition.")]
#[tokio::test]
async fn bad_requests_have_the_asp_net_shape(
    #[case] q: &str,
    #[case] status: u16,
    #[case] text: &str,
) {
    let s = sim(SimConfig::default()).await;
    let base = s.base_url();
    let c = client();
    assert_eq!(login(&c, &base).await.status(), 204);
    let r = c
        .get(format!("{base}/entity/Default/24.200.001/{q}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), status, "{q}");
    let e: Value = r.json().await.unwrap();
    assert!(e["message"].is_string(), "{q}: {e}");
    let all = e.to_string();
    assert!(all.contains(text), "{q}: {all}");
}

#[tokio::test]
async fn the_licence_caps_sessions_and_idle_sessions_close() {
    let s = sim(SimConfig {
        max_sessions: 2,
        idle_timeout: Duration::from_secs(600),
        ..Default::default()
    })
    .await;
    let base = s.base_url();
    let (a, b, c) = (client(), client(), client());
    assert_eq!(login(&a, &base).await.status(), 204);
    assert_eq!(login(&b, &base).await.status(), 204);
    let r = login(&c, &base).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("API Login Limit"));
    s.advance_clock(Duration::from_secs(601));
    assert_eq!(s.stats().open_sessions, 0);
    let r = a
        .get(format!("{base}/entity/Default/24.200.001/Customer?$top=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "an idle-closed session answers 401");
    assert_eq!(login(&c, &base).await.status(), 204);
}

#[tokio::test]
async fn a_full_request_queue_declines_with_429() {
    let s = sim(SimConfig {
        max_concurrent_requests: 1,
        latency: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let base = s.base_url();
    let c = client();
    login(&c, &base).await;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let c = c.clone();
        let url = format!("{base}/entity/Default/24.200.001/StockItem?$top=1");
        tasks.push(tokio::spawn(async move {
            c.get(url).send().await.unwrap().status().as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    let declined = codes.iter().filter(|c| **c == 429).count();
    let ok = codes.iter().filter(|c| **c == 200).count();
    assert_eq!(declined + ok, 30);
    assert!(
        declined >= 9,
        "1 running + 20 queued, the rest declined: {codes:?}"
    );
    assert_eq!(s.stats().declined as usize, declined);
}

#[tokio::test]
async fn faults_are_injected_at_the_configured_rates() {
    let s = sim(SimConfig {
        faults: Faults {
            rate_429: 0.1,
            rate_5xx: 0.1,
            rate_drop: 0.1,
            rate_expire: 0.0,
        },
        ..Default::default()
    })
    .await;
    let base = s.base_url();
    let c = client();
    login(&c, &base).await;
    let (mut ok, mut too_many, mut unavailable, mut dropped) = (0, 0, 0, 0);
    for _ in 0..200 {
        let Ok(r) = c
            .get(format!("{base}/entity/Default/24.200.001/Customer?$top=20"))
            .send()
            .await
        else {
            dropped += 1;
            continue;
        };
        match r.status().as_u16() {
            200 => match r.bytes().await {
                Ok(b) if serde_json::from_slice::<Value>(&b).is_ok() => ok += 1,
                _ => dropped += 1,
            },
            429 => too_many += 1,
            503 => unavailable += 1,
            other => panic!("unexpected {other}"),
        }
    }
    for (n, what) in [(too_many, "429"), (unavailable, "503"), (dropped, "drops")] {
        assert!((5..=40).contains(&n), "{what}: {n} of 200");
    }
    assert_eq!(s.stats().faults_injected, 200 - ok);
}

/// Plays the browser: fetches the sign-in page, submits the form, returns the redirect target
/// (or `page:<html>` when the page is shown again).
async fn browser_sign_in(base: &str, authorize_query: &[(&str, &str)], password: &str) -> String {
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/identity/connect/authorize"),
        authorize_query,
    )
    .unwrap();
    match acumatica_sim::browser::sign_in(url.as_str(), "admin", password)
        .await
        .unwrap()
    {
        acumatica_sim::browser::SignIn::Redirect(l) => l,
        acumatica_sim::browser::SignIn::Page(html) => format!("page:{html}"),
    }
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    let u = url::Url::parse(&url.replace('#', "?")).unwrap();
    u.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn authorization_code_with_pkce_then_refresh_with_rotation() {
    let s = sim(SimConfig::default()).await;
    let base = s.base_url();
    let app = SimConfig::default().oauth;
    let verifier = "a-very-long-verifier-string-of-at-least-43-characters-123456";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:53682/callback";
    let q = [
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", redirect),
        ("scope", "api offline_access"),
        ("state", "xyz-state"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = browser_sign_in(&base, &q, "wrong").await;
    assert!(page.contains("Invalid credentials"), "{page}");
    let location = browser_sign_in(&base, &q, "demo").await;
    assert!(location.starts_with(redirect), "{location}");
    let p = query_of(&location);
    assert_eq!(p["state"], "xyz-state");
    let code = &p["code"];
    let c = client();
    let token = |form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = format!("{base}/identity/connect/token");
        async move {
            let r = c.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, bad) = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("redirect_uri", redirect.into()),
        ("client_id", app.client_id.clone()),
        ("client_secret", app.client_secret.clone()),
        ("code_verifier", "not-the-verifier".into()),
    ])
    .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The code was consumed by the failed attempt: sign in again.
    let location = browser_sign_in(&base, &q, "demo").await;
    let code = query_of(&location)["code"].clone();
    let (status, t) = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", redirect.into()),
        ("client_id", app.client_id.clone()),
        ("client_secret", app.client_secret.clone()),
        ("code_verifier", verifier.into()),
    ])
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    let r = c
        .get(format!("{base}/entity/Default/24.200.001/Customer?$top=2"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.stats().open_sessions, 1);
    let refresh_form = |r: &str| {
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", r.to_string()),
            ("client_id", app.client_id.clone()),
            ("client_secret", app.client_secret.clone()),
        ]
    };
    let (status, t2) = token(refresh_form(&refresh)).await;
    assert_eq!(status, 200);
    let refresh2 = t2["refresh_token"].as_str().unwrap();
    assert_ne!(refresh2, refresh, "refresh tokens rotate");
    let (status, reuse) = token(refresh_form(&refresh)).await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = c
        .get(format!("{base}/entity/Default/24.200.001/Customer?$top=2"))
        .bearer_auth(t2["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.stats().open_sessions,
        1,
        "refreshed tokens keep the session"
    );
    let r = c
        .post(format!("{base}/entity/auth/logout"))
        .bearer_auth(t2["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.stats().open_sessions, 0);
}

#[tokio::test]
async fn implicit_password_and_refused_grants() {
    let s = sim(SimConfig {
        oauth: acumatica_sim::OAuthApp {
            token_lifetime: Duration::from_secs(1),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let base = s.base_url();
    let app = SimConfig::default().oauth;
    let location = browser_sign_in(
        &base,
        &[
            ("response_type", "token"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", "http://localhost:41000/"),
            ("scope", "api"),
            ("state", "s1"),
        ],
        "demo",
    )
    .await;
    assert!(
        location.contains('#'),
        "tokens come in the fragment: {location}"
    );
    let p = query_of(&location);
    assert_eq!(p["state"], "s1");
    assert_eq!(p["expires_in"], "1");
    assert!(!p.contains_key("refresh_token"));
    let c = client();
    let list = |token: String| {
        let c = c.clone();
        let url = format!("{base}/entity/Default/24.200.001/StockItem?$top=1");
        async move {
            c.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(list(p["access_token"].clone()).await, 200);
    s.advance_clock(Duration::from_millis(1100));
    assert_eq!(list(p["access_token"].clone()).await, 401, "expired token");
    assert_eq!(
        s.stats().open_sessions,
        0,
        "an `api` token's session ends with it"
    );

    // An unregistered, non-loopback redirect URI is never redirected to.
    let r = client()
        .get(format!("{base}/identity/connect/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "api"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let token = |form: Vec<(&'static str, &str)>| {
        let c = c.clone();
        let url = format!("{base}/identity/connect/token");
        let form: Vec<(&'static str, String)> =
            form.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        async move {
            let r = c.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, t) = token(vec![
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", "demo"),
        ("scope", "api"),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ])
    .await;
    assert_eq!(status, 200, "{t}");
    assert!(
        t.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let (_, e) = token(vec![
        ("grant_type", "client_credentials"),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ])
    .await;
    assert_eq!(e["error"], "unsupported_grant_type");
    let (_, e) = token(vec![
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", "demo"),
        ("client_id", &app.client_id),
        ("client_secret", "wrong"),
    ])
    .await;
    assert_eq!(e["error"], "invalid_client");
    let (_, e) = token(vec![
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", "nope"),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ])
    .await;
    assert_eq!(e["error"], "invalid_grant");
}

/// The body of a GET, whatever its status.
async fn get_text(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// The JSON body of a GET, whatever its status.
async fn get_json(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

async fn signed_in(s: &SimHandle) -> reqwest::Client {
    let c = client();
    assert_eq!(login(&c, &s.base_url()).await.status(), 204);
    c
}

#[tokio::test]
async fn get_by_keys_and_id_put_and_delete() {
    let s = sim(SimConfig::default()).await;
    let base = format!("{}/entity/Default/24.200.001", s.base_url());
    let c = signed_in(&s).await;
    let get = |url: String| {
        let c = c.clone();
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let delete = |url: String| {
        let c = c.clone();
        async move { c.delete(url).send().await.unwrap().status().as_u16() }
    };
    let (st, order) = get(format!(
        "{base}/SalesOrder/SO/SO000007?$expand=Details,ShipToContact"
    ))
    .await;
    assert_eq!(st, 200, "{order}");
    assert_eq!(order["OrderNbr"]["value"], "SO000007");
    assert!(!order["Details"].as_array().unwrap().is_empty());
    assert!(order["ShipToContact"]["BusinessName"]["value"].is_string());
    let id = order["id"].as_str().unwrap();
    let (st, again) = get(format!("{base}/SalesOrder/{id}")).await;
    assert_eq!(
        (st, &again["OrderNbr"]["value"]),
        (200, &order["OrderNbr"]["value"])
    );
    let (st, same) = get(format!("{base}/SalesOrder/SO|SO000007")).await;
    assert_eq!((st, &same["id"]), (200, &order["id"]));
    let (st, e) = get(format!("{base}/SalesOrder/SO/NOPE")).await;
    assert_eq!(st, 500);
    assert_eq!(e["exceptionMessage"], "No entity satisfies the condition.");

    // Create (auto-numbered), then update, with the preconditions.
    let put = |body: Value, header: Option<(&'static str, &'static str)>| {
        let c = c.clone();
        let url = format!("{base}/SalesOrder?$expand=Details");
        async move {
            let mut r = c.put(url).json(&body);
            if let Some((k, v)) = header {
                r = r.header(k, v);
            }
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (st, created) = put(
        serde_json::json!({
            "CustomerID": {"value": "C000001"},
            "Description": {"value": "Made by a test"},
            "Details": [{"InventoryID": {"value": "ITEM00001"}, "OrderQty": {"value": 2}}]
        }),
        Some(("If-None-Match", "*")),
    )
    .await;
    assert_eq!(st, 200, "{created}");
    let nbr = created["OrderNbr"]["value"].as_str().unwrap().to_string();
    assert_eq!(nbr, "SO001001");
    assert_eq!(created["Details"].as_array().unwrap().len(), 1);
    let (st, _) = put(
        serde_json::json!({"OrderType": {"value": "SO"}, "OrderNbr": {"value": nbr}}),
        Some(("If-None-Match", "*")),
    )
    .await;
    assert_eq!(st, 412, "exists already");
    let (st, _) = put(
        serde_json::json!({"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO999999"}}),
        Some(("If-Match", "*")),
    )
    .await;
    assert_eq!(st, 412, "does not exist");
    let (st, updated) = put(
        serde_json::json!({"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000007"}, "Description": {"value": "Changed"}}),
        Some(("If-Match", "*")),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(updated["Description"]["value"], "Changed");
    assert_eq!(updated["id"], order["id"]);
    let (st, bad) = put(serde_json::json!({"OrderTotal": {"value": "lots"}}), None).await;
    assert_eq!(st, 422);
    assert!(bad["OrderTotal"]["error"].is_string(), "{bad}");

    // Lists see the writes.
    let (_, list) = get(format!("{base}/SalesOrder?$filter=Description eq 'Changed' or Description eq 'made by a test'&$select=OrderNbr")).await;
    let nbrs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["OrderNbr"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(nbrs, ["SO000007", nbr.as_str()]);
    assert_eq!(delete(format!("{base}/SalesOrder/SO/{nbr}")).await, 204);
    assert_eq!(delete(format!("{base}/SalesOrder/SO/{nbr}")).await, 500);
    let (_, all) = get(format!("{base}/SalesOrder?$select=OrderNbr")).await;
    assert_eq!(all.as_array().unwrap().len(), 1000);

    // A note is written and read back; DELETE by id answers 204, and the record is gone.
    let (st, noted) = put(
        serde_json::json!({"OrderType": {"value": "SO"}, "OrderNbr": {"value": "SO000009"}, "note": {"value": "Call first"}}),
        Some(("If-Match", "*")),
    )
    .await;
    assert_eq!(
        (st, &noted["note"]["value"]),
        (200, &Value::from("Call first"))
    );
    let (_, again) = get(format!("{base}/SalesOrder/SO/SO000009")).await;
    assert_eq!(again["note"]["value"], "Call first");
    let id = again["id"].as_str().unwrap();
    assert_eq!(delete(format!("{base}/SalesOrder/{id}")).await, 204);
    let (st, _) = get(format!("{base}/SalesOrder/SO/SO000009")).await;
    assert_eq!(st, 500);
    assert_eq!(delete(format!("{base}/SalesOrder/{id}")).await, 500);

    // A drop-down value not in its list: 422 with the field's error and the entity's.
    let r = c
        .put(format!("{base}/Customer"))
        .json(
            &serde_json::json!({"CustomerID": {"value": "C000001"}, "Status": {"value": "Bogus"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let bad: Value = r.json().await.unwrap();
    assert!(
        bad["Status"]["error"].as_str().unwrap().contains("'Bogus'"),
        "{bad}"
    );
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("raised at least one error"),
        "{bad}"
    );
}

#[tokio::test]
async fn linked_entities_expand_and_filter_details_refuse() {
    let s = sim(SimConfig::default()).await;
    let base = format!("{}/entity/Default/24.200.001", s.base_url());
    let c = signed_in(&s).await;
    let list = |q: &str| {
        let c = c.clone();
        let url = format!("{base}/{q}");
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (st, rows) =
        list("SalesOrder?$top=3&$expand=ShipToContact&$select=OrderNbr,ShipToContact/Email").await;
    assert_eq!(st, 200);
    for r in rows.as_array().unwrap() {
        let keys: Vec<&String> = r["ShipToContact"].as_object().unwrap().keys().collect();
        assert!(keys.iter().any(|k| *k == "Email"), "{keys:?}");
        assert!(!keys.iter().any(|k| *k == "Phone1"), "{keys:?}");
    }
    let (st, rows) =
        list("SalesOrder?$filter=ShipToAddress/City eq 'seattle'&$expand=ShipToAddress&$top=5")
            .await;
    assert_eq!(st, 200);
    for r in rows.as_array().unwrap() {
        assert_eq!(r["ShipToAddress"]["City"]["value"], "Seattle");
    }
    let (st, e) = list("SalesOrder?$filter=Details/InventoryID eq 'X'").await;
    assert_eq!(st, 500);
    assert!(
        e["exceptionType"]
            .as_str()
            .unwrap()
            .contains("CannotOptimize")
    );
    let (st, e) = list("SalesOrder?$filter=NoSuchField eq 1").await;
    assert_eq!(st, 500);
    assert!(
        e["exceptionMessage"]
            .as_str()
            .unwrap()
            .contains("NoSuchField")
    );
    // Members come in the contract's order (read from the raw text: maps may reorder).
    let raw = get_text(&c, format!("{base}/Customer?$top=1")).await;
    let pos = |k: &str| raw.find(&format!("\"{k}\":")).unwrap();
    let order = [
        "id",
        "rowNumber",
        "note",
        "CreatedDateTime",
        "CurrencyID",
        "CustomerClass",
        "CustomerID",
        "CustomerName",
        "Email",
        "LastModifiedDateTime",
        "Status",
        "WriteOffLimit",
        "CreditLimit",
        "custom",
        "_links",
    ];
    for w in order.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{} before {}: {raw}", w[0], w[1]);
    }
    for e in [
        "Vendor",
        "Contact",
        "NonStockItem",
        "SalesInvoice",
        "Bill",
        "Payment",
        "JournalTransaction?$expand=Details",
        "Account",
    ] {
        let (st, rows) = list(e).await;
        assert_eq!(st, 200, "{e}");
        assert!(!rows.as_array().unwrap().is_empty(), "{e} has data");
    }
    let (st, sw) = list("swagger.json").await;
    assert_eq!(st, 200);
    assert_eq!(sw["info"]["title"], "Default/24.200.001");
    assert!(sw["components"]["schemas"]["SalesOrder"]["allOf"].is_array());
}

#[tokio::test]
async fn odata_inquiries_and_dacs() {
    let s = sim(SimConfig::default()).await;
    let base = s.base_url();
    let anon = client();
    let r = anon
        .get(format!("{base}/t/Company/api/odata/gi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // HTTP Basic works without an API session.
    let get = |url: String| {
        let c = anon.clone();
        async move {
            let r = c
                .get(url)
                .basic_auth("admin", Some("demo"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (st, svc) = get(format!("{base}/t/Company/api/odata/gi")).await;
    assert_eq!(st, 200);
    assert!(svc.contains("\"OpenSalesOrderLines\""), "{svc}");
    let (st, md) = get(format!("{base}/t/Company/api/odata/gi/$metadata")).await;
    assert_eq!(st, 200);
    assert!(
        md.contains("<EntityType Name=\"InventoryOnHand\">") && md.contains("Edm.DateTimeOffset")
    );
    assert_eq!(s.stats().open_sessions, 0);
    let (st, body) = get(format!(
        "{base}/t/Company/api/odata/gi/OpenSalesOrderLines?$filter=contains(Description,'juice') and Quantity gt 10 and OrderDate ge 2023-06-01T00:00:00Z&$select=OrderNbr,LineNbr,Quantity&$orderby=OrderType,OrderNbr,LineNbr&$top=5&$skip=2"
    ))
    .await;
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#OpenSalesOrderLines")
    );
    let rows = v["value"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].as_object().unwrap().len(), 3);
    assert!(rows.iter().all(|r| r["Quantity"].as_f64().unwrap() > 10.0));
    let (st, body) = get(format!(
        "{base}/t/Company/api/odata/gi/InventoryOnHand?$orderby=QtyOnHand desc&$top=3"
    ))
    .await;
    assert_eq!(st, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let q: Vec<f64> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["QtyOnHand"].as_f64().unwrap())
        .collect();
    assert!(q.windows(2).all(|w| w[0] >= w[1]), "{q:?}");
    assert!(
        v["value"][0]["Warehouse"].as_str().unwrap().ends_with(' '),
        "padded keys"
    );
    let (st, _) = get(format!("{base}/t/Other/api/odata/gi/CustomerBalance")).await;
    assert_eq!(st, 404);
    // Server-driven paging past 10,000 rows without $top.
    let big = sim(SimConfig {
        scale: 2,
        ..Default::default()
    })
    .await;
    let (_, body) = get(format!(
        "{}/t/Company/api/odata/dac/SOLine?$select=LineNbr",
        big.base_url()
    ))
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 10_000);
    assert!(
        v["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("$skip=10000")
    );
    // DAC: internal codes, aliases, $expand of the navigation collection.
    let (st, body) = get(format!(
        "{base}/t/Company/api/odata/dac/PX_Objects_SO_SOOrder?$filter=Status eq 'N'&$expand=SOLineCollection&$top=2"
    ))
    .await;
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    for r in v["value"].as_array().unwrap() {
        assert_eq!(r["Status"], "N");
        assert!(!r["SOLineCollection"].as_array().unwrap().is_empty());
    }
    let (_, md) = get(format!("{base}/t/Company/api/odata/dac/$metadata")).await;
    assert!(md.contains("Schema Namespace=\"PX.Api\""));
    // Legacy v3 feed: envelope and datetime'…' literals.
    let (st, body) = get(format!(
        "{base}/odata/Company/CustomerBalance?$filter=LastModifiedOn gt datetime'2023-01-01T00:00:00'&$top=2"
    ))
    .await;
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["odata.metadata"].is_string());
    // A signed-in API session is accepted too.
    let c = signed_in(&s).await;
    let r = c
        .get(format!(
            "{base}/t/Company/api/odata/gi/CustomerBalance?$top=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Each query option a generic inquiry's feed cannot answer is refused with 400 and says why.
#[rstest::rstest]
#[case::substringof(
    "OpenSalesOrderLines?$filter=substringof('a',Description)",
    "substringof"
)]
#[case::datetimeoffset_literal(
    "OpenSalesOrderLines?$filter=OrderDate gt datetimeoffset'2024-01-01T00:00:00Z'",
    "Unrecognized"
)]
#[case::unknown_property(
    "OpenSalesOrderLines?$filter=CustomerName eq 'x'",
    "Could not find a property named 'CustomerName'"
)]
#[case::expand("OpenSalesOrderLines?$expand=Lines", "$expand")]
#[tokio::test]
async fn odata_refuses_what_a_feed_cannot_answer(#[case] q: &str, #[case] text: &str) {
    let s = sim(SimConfig::default()).await;
    let r = client()
        .get(format!("{}/t/Company/api/odata/gi/{q}", s.base_url()))
        .basic_auth("admin", Some("demo"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(status, 400, "{q}: {body}");
    assert!(body.contains(text), "{q}: {body}");
}

/// `DELETE /_sim/schema/…` takes a member out of an endpoint, as a published customisation
/// would: swagger.json and records no longer have it, and a `$filter` naming it fails as
/// Acumatica's does (500, `ODataException`, "The field … is not found in the entity …").
#[tokio::test]
async fn a_member_taken_out_of_the_schema_is_unknown_everywhere() {
    let s = sim(SimConfig::default()).await;
    let base = format!("{}/entity/Default/24.200.001", s.base_url());
    let c = signed_in(&s).await;
    let by_email = format!("{base}/Customer?$top=1&$filter=Email ne 'x'");
    assert_eq!(c.get(&by_email).send().await.unwrap().status(), 200);
    let swagger_emails = || async {
        let text = get_text(&c, format!("{base}/swagger.json")).await;
        text.matches("\"Email\"").count()
    };
    let emails_before = swagger_emails().await;
    let remove = |path: &str| {
        c.delete(format!("{}/_sim/schema/{path}", s.base_url()))
            .send()
    };
    assert_eq!(
        remove("Default/24.200.001/Customer/Email")
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        remove("Default/24.200.001/Customer/Email")
            .await
            .unwrap()
            .status(),
        404,
        "already gone"
    );
    assert_eq!(
        remove("Default/24.200.001/Nothing/Email")
            .await
            .unwrap()
            .status(),
        404
    );
    let r = c.get(&by_email).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["exceptionMessage"],
        "The field 'Email' is not found in the entity 'Customer'."
    );
    assert_eq!(e["exceptionType"], "PX.Api.ContractBased.ODataException");
    let rows: Value = get_json(&c, format!("{base}/Customer?$top=1")).await;
    assert!(
        rows[0].get("CustomerID").is_some() && rows[0].get("Email").is_none(),
        "{rows}"
    );
    let emails_after = swagger_emails().await;
    assert!(
        emails_after < emails_before,
        "{emails_after} < {emails_before}"
    );
    // Other versions keep theirs.
    let older = c
        .get(format!(
            "{}/entity/Default/23.200.001/Customer?$top=1&$filter=Email ne 'x'",
            s.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(older.status(), 200);
}
