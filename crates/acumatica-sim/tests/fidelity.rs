//! Fidelity: every request of the real captures in
//! `../shared/reference/acumatica/jetbuilt-vcr-cassettes` is replayed against the simulator and
//! the answers are compared with what Acumatica answered: status codes, the cookies that
//! matter, and the JSON shapes (members, wrapper kinds, detail arrays). The captures were made
//! against endpoint 20.200.001; they are replayed against 24.200.001, and members that
//! version's contract does not define are not required. Values are data and are not compared.

use std::path::PathBuf;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

fn reference() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/acumatica/jetbuilt-vcr-cassettes");
    // CI has the references beside the checkout: there a missing one is a failure.
    if !dir.is_dir() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is needed under CI=true", dir.display());
    }
    dir.is_dir().then_some(dir)
}

fn cassettes(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The value fields of each entity in the served contract (to tell version differences from
/// missing members).
fn contract() -> serde_json::Map<String, Value> {
    let text = include_str!("../../../schemas/Default_24.200.001.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

fn member_of(
    contract: &serde_json::Map<String, Value>,
    entity: &str,
    member: &str,
) -> Option<Value> {
    contract[entity]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == member)
        .cloned()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        // `{}` (NULL) and `{"value": …}` are the same wrapper kind.
        Value::Object(o) if o.is_empty() || o.contains_key("value") => "wrapper",
        Value::Object(_) => "object",
    }
}

/// Compares the shape of `got` with the recorded `want`; `entity` names the contract entity
/// of an object (for version differences).
fn compare(
    path: &str,
    want: &Value,
    got: &Value,
    entity: Option<&str>,
    contract: &serde_json::Map<String, Value>,
    problems: &mut Vec<String>,
) {
    let (kw, kg) = (kind(want), kind(got));
    // `note` is null on some records and a wrapper on others, in the captures themselves.
    let both_notes = path.ends_with(".note");
    if kw != kg && !both_notes && !(kw == "null" || kg == "null") {
        problems.push(format!("{path}: recorded {kw}, simulated {kg}"));
        return;
    }
    match (want, got) {
        (Value::Object(w), Value::Object(g)) if kw == "object" => {
            for (k, wv) in w {
                if k == "stackTrace" {
                    continue;
                }
                let child = entity.and_then(|e| member_of(contract, e, k));
                match g.get(k) {
                    Some(gv) => {
                        let target = child
                            .as_ref()
                            .and_then(|f| f["linked"].as_str().or(f["detail"].as_str()));
                        compare(&format!("{path}.{k}"), wv, gv, target, contract, problems);
                    }
                    None => {
                        // A member of 20.200.001 that 24.200.001 does not define is fine.
                        let in_contract = child.is_some()
                            || matches!(
                                k.as_str(),
                                "id" | "rowNumber"
                                    | "note"
                                    | "custom"
                                    | "message"
                                    | "exceptionMessage"
                                    | "exceptionType"
                                    | "modelState"
                            );
                        if in_contract && entity.is_some_and(|e| contract.contains_key(e))
                            || entity.is_none()
                        {
                            problems.push(format!("{path}.{k}: missing"));
                        }
                    }
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if let (Some(w0), Some(g0)) = (w.first(), g.first()) {
                compare(&format!("{path}[0]"), w0, g0, entity, contract, problems);
            } else if !w.is_empty() && g.is_empty() {
                problems.push(format!(
                    "{path}: recorded {} elements, simulated none",
                    w.len()
                ));
            }
        }
        _ => {}
    }
}

fn s(y: &Yaml) -> String {
    y.as_str().map(str::to_string).unwrap_or_default()
}

#[tokio::test]
async fn recorded_traffic_replays_with_the_same_shapes() {
    let Some(dir) = reference() else {
        eprintln!("skipped: ../shared/reference/acumatica/jetbuilt-vcr-cassettes not found");
        return;
    };
    let contract = contract();
    let sim = acumatica_sim::start(acumatica_sim::SimConfig::default())
        .await
        .unwrap();
    let base = sim.base_url();
    let mut problems = Vec::new();
    let mut replayed = 0;
    let files = cassettes(&dir);
    assert!(files.len() >= 10, "cassettes found: {}", files.len());
    for file in files {
        let name = file.strip_prefix(&dir).unwrap().display().to_string();
        let doc = YamlLoader::load_from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for it in doc[0]["http_interactions"].as_vec().unwrap() {
            let req = &it["request"];
            let resp = &it["response"];
            let method = s(&req["method"]).to_uppercase();
            let uri = s(&req["uri"])
                .replace("PLACEHOLDER_URL", &base)
                .replace("20.200.001", "24.200.001");
            let body = s(&req["body"]["string"])
                .replace("PLACEHOLDER_USER", "admin")
                .replace("PLACEHOLDER_PASSWORD", "demo");
            let want_status = resp["status"]["code"].as_i64().unwrap();
            let mut r = client.request(method.parse().unwrap(), &uri);
            if !body.is_empty() {
                r = r.header("Content-Type", "application/json").body(body);
            } else if method != "GET" {
                r = r.header("Content-Length", "0");
            }
            let got = r.send().await.unwrap();
            replayed += 1;
            let at = format!("{name}: {method} {}", uri.replace(&base, ""));
            if i64::from(got.status().as_u16()) != want_status {
                problems.push(format!(
                    "{at}: status {} (recorded {want_status})",
                    got.status()
                ));
                continue;
            }
            // The cookies that matter.
            let cookie_names = |list: Vec<String>| -> Vec<String> {
                let mut n: Vec<String> = list
                    .iter()
                    .filter_map(|c| c.split('=').next().map(str::to_string))
                    .collect();
                n.sort();
                n.dedup();
                n
            };
            let recorded: Vec<String> = resp["headers"]["Set-Cookie"]
                .as_vec()
                .map(|v| v.iter().map(s).collect())
                .unwrap_or_default();
            let simulated: Vec<String> = got
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap_or_default().to_string())
                .collect();
            let simulated_names = cookie_names(simulated);
            // The session cookies are what clients depend on; Locale, UserBranch, requestid and
            // requeststat are re-sent on many responses and carry no state a client needs.
            for c in cookie_names(recorded) {
                let matters = matches!(c.as_str(), ".ASPXAUTH" | "ASP.NET_SessionId" | "CompanyID");
                if matters && !simulated_names.contains(&c) {
                    problems.push(format!("{at}: cookie {c} not set"));
                }
            }
            let want_body = s(&resp["body"]["string"]);
            let got_body = got.text().await.unwrap();
            if want_body.trim().is_empty() {
                if !got_body.trim().is_empty() {
                    problems.push(format!("{at}: recorded an empty body"));
                }
                continue;
            }
            let want: Value = serde_json::from_str(&want_body).unwrap();
            let Ok(got) = serde_json::from_str::<Value>(&got_body) else {
                problems.push(format!("{at}: not JSON: {got_body:.200}"));
                continue;
            };
            let entity = uri.split("/entity/Default/24.200.001/").nth(1).map(|rest| {
                rest.split(['?', '/'])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            compare(
                &at,
                &want,
                &got,
                entity.as_deref(),
                &contract,
                &mut problems,
            );
        }
    }
    assert!(replayed >= 30, "replayed {replayed}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
