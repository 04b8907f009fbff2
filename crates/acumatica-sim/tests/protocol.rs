//! Protocol details a real client relies on, each following `../shared/ACUMATICA-API.md` or the
//! saved swagger files under `../shared/reference/acumatica/`: the swagger format per version,
//! how query strings are decoded, empty path segments, and the older endpoint versions.

use std::path::PathBuf;

use acumatica_sim::{SimConfig, SimHandle};
use serde_json::Value;

async fn sim() -> SimHandle {
    acumatica_sim::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

async fn signed_in(base: &str) -> reqwest::Client {
    let c = client();
    let r = c
        .post(format!("{base}/entity/auth/login"))
        .json(&serde_json::json!({"name": "admin", "password": "demo", "tenant": "Company"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 204);
    c
}

async fn get_json(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.expect("request");
    let status = r.status().as_u16();
    let body = r.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A saved reference file; `None` (with a message) when `../shared` is absent, a failure under CI.
fn reference(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/acumatica")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "{} is missing: CI always has ../shared",
        path.display()
    );
    eprintln!("skipped: {} not found", path.display());
    None
}

/// §1.3: 24.200.001 serves OpenAPI 3.0.1, 23.200.001 Swagger 2.0; `?company=` needs no sign-in.
#[tokio::test]
async fn swagger_has_the_format_of_its_version_and_needs_no_sign_in_with_company() {
    let s = sim().await;
    let base = s.base_url();
    let anon = client();
    let (st, v24) = get_json(
        &anon,
        &format!("{base}/entity/Default/24.200.001/swagger.json?company=Company"),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v24["openapi"], "3.0.1");
    assert_eq!(v24["info"]["title"], "Default/24.200.001");
    assert_eq!(
        v24["servers"][0]["url"],
        format!("{base}/entity/Default/24.200.001")
    );
    let get_list = &v24["paths"]["/Customer"]["get"];
    assert_eq!(
        get_list["parameters"][0]["$ref"],
        "#/components/parameters/select"
    );
    assert_eq!(
        v24["paths"]["/Customer"]["put"]["requestBody"]["x-bodyName"],
        "entity"
    );
    let (st, v23) = get_json(
        &anon,
        &format!("{base}/entity/Default/23.200.001/swagger.json?company=company"),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v23["swagger"], "2.0");
    assert_eq!(v23["basePath"], "/entity/Default/23.200.001");
    assert!(v23["definitions"]["Customer"]["allOf"].is_array());
    // Without the tenant, only a signed-in caller gets it.
    let r = anon
        .get(format!("{base}/entity/Default/24.200.001/swagger.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);

    // The same skeleton as the saved documents: top-level members, shared components, and the
    // list operation's parameters.
    for (version, ours) in [("24.200.001", &v24), ("23.200.001", &v23)] {
        let Some(path) = reference(&format!("swagger_Default_{version}.json")) else {
            return;
        };
        let real: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(ours), keys(&real), "{version}: top-level members");
        if version == "24.200.001" {
            assert_eq!(keys(&ours["components"]), keys(&real["components"]));
        }
        // Names, places and types (the saved files' descriptions are theirs, not repeated here).
        let params = |doc: &Value| -> Vec<String> {
            doc["paths"]["/Customer"]["get"]["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .map(|p| {
                    format!(
                        "{} {} {} {} {}",
                        p["$ref"], p["name"], p["in"], p["type"], p["format"]
                    )
                })
                .collect()
        };
        assert_eq!(params(ours), params(&real), "{version}: GetList parameters");
        assert_eq!(ours["info"], real["info"], "{version}: info");
    }
}

/// ASP.NET splits the query string on `&` first and decodes each part afterwards, so `%26` and
/// `%3D` stay inside a literal; `+` is a space.
#[tokio::test]
async fn query_strings_are_split_before_they_are_decoded() {
    let s = sim().await;
    let base = s.base_url();
    let c = signed_in(&base).await;
    let put = c
        .put(format!("{base}/entity/Default/24.200.001/Customer"))
        .json(&serde_json::json!({"CustomerID": {"value": "RD01"}, "CustomerName": {"value": "R&D=1"}}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let (st, rows) = get_json(
        &c,
        &format!(
            "{base}/entity/Default/24.200.001/Customer?$filter=CustomerName+eq+'R%26D%3D1'&$select=CustomerID"
        ),
    )
    .await;
    assert_eq!(st, 200, "{rows}");
    let ids: Vec<&str> = rows
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["CustomerID"]["value"].as_str())
        .collect();
    assert_eq!(ids, ["RD01"]);
}

/// The Integration Development Guide collection's endpoint URL ends in `/`, so it sends
/// `…/24.200.001//StockItem`: one slash for the server.
#[tokio::test]
async fn an_empty_path_segment_is_one_slash() {
    let s = sim().await;
    let base = s.base_url();
    let c = signed_in(&base).await;
    let (st, rows) = get_json(
        &c,
        &format!("{base}/entity/Default/24.200.001//StockItem?$top=2"),
    )
    .await;
    assert_eq!(st, 200, "{rows}");
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
}

/// §1.2–1.3: an instance keeps older `Default` versions; they answer over the same data.
#[tokio::test]
async fn older_default_versions_are_listed_and_answer() {
    let s = sim().await;
    let base = s.base_url();
    let (st, root) = get_json(&client(), &format!("{base}/entity")).await;
    assert_eq!(st, 200);
    let versions: Vec<&str> = root["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e["version"].as_str())
        .collect();
    for v in ["20.200.001", "22.200.001", "23.200.001", "24.200.001"] {
        assert!(versions.contains(&v), "{v} in {versions:?}");
    }
    let c = signed_in(&base).await;
    let (st, old) = get_json(
        &c,
        &format!("{base}/entity/Default/20.200.001/SalesOrder/SO/SO000003"),
    )
    .await;
    assert_eq!(st, 200, "{old}");
    let (_, new) = get_json(
        &c,
        &format!("{base}/entity/Default/24.200.001/SalesOrder/SO/SO000003"),
    )
    .await;
    assert_eq!(old["id"], new["id"]);
    assert_eq!(old["OrderTotal"], new["OrderTotal"]);
}

/// §3.2: the discovery document lists only endpoints this identity server serves.
#[tokio::test]
async fn discovery_lists_only_endpoints_that_exist() {
    let s = sim().await;
    let base = s.base_url();
    let c = client();
    let (st, doc) = get_json(
        &c,
        &format!("{base}/identity/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(st, 200);
    let endpoints: Vec<(&str, &str)> = doc
        .as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || k.ends_with("_uri"))
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    assert!(endpoints.len() >= 3, "{endpoints:?}");
    for (name, url) in endpoints {
        let get = c.get(url).send().await.expect("GET").status().as_u16();
        let post = c.post(url).send().await.expect("POST").status().as_u16();
        assert!(
            get != 404 || post != 404,
            "{name} {url} is advertised but not served"
        );
    }
}

/// The REST courses load stock items incrementally with `LastModified gt datetimeoffset'…'`
/// (I310, Integration Development Guide): seeded items carry it in both versions.
#[tokio::test]
async fn stock_items_carry_last_modified_for_incremental_loads() {
    let s = sim().await;
    let base = s.base_url();
    let c = signed_in(&base).await;
    for version in ["23.200.001", "24.200.001"] {
        let (st, rows) = get_json(
            &c,
            &format!(
                "{base}/entity/Default/{version}/StockItem?$filter=ItemStatus eq 'Active' and LastModified gt datetimeoffset'2000-01-01T00%3A00%3A00.000%2B04%3A00'&$top=3"
            ),
        )
        .await;
        assert_eq!(st, 200, "{version}: {rows}");
        let rows = rows.as_array().expect("array");
        assert_eq!(rows.len(), 3, "{version}");
        for r in rows {
            assert!(r["LastModified"]["value"].is_string(), "{version}: {r}");
        }
    }
}

/// A new record gets the screen's defaults and upper-cased keys (input mask `>CCCCC`), so that a
/// created stock item matches `ItemStatus eq 'Active'` as the courses expect.
#[tokio::test]
async fn new_records_get_screen_defaults_and_upper_case_keys() {
    let s = sim().await;
    let base = s.base_url();
    let c = signed_in(&base).await;
    let r = c
        .put(format!("{base}/entity/Default/24.200.001/StockItem"))
        .json(&serde_json::json!({"InventoryID": {"value": "Widget01"}, "Description": {"value": "A widget"}}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    let item: Value = r.json().await.expect("json");
    assert_eq!(item["InventoryID"]["value"], "WIDGET01");
    assert_eq!(item["ItemStatus"]["value"], "Active");
    let (st, rows) = get_json(
        &c,
        &format!(
            "{base}/entity/Default/24.200.001/StockItem?$filter=ItemStatus eq 'Active' and InventoryID eq 'WIDGET01'"
        ),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    // Found by its key in any case.
    let (st, _) = get_json(
        &c,
        &format!("{base}/entity/Default/24.200.001/StockItem/widget01"),
    )
    .await;
    assert_eq!(st, 200);
    let r = c
        .put(format!("{base}/entity/Default/24.200.001/Customer"))
        .json(&serde_json::json!({"CustomerID": {"value": "Cust01"}, "CustomerName": {"value": "New"}}))
        .send()
        .await
        .expect("put");
    let customer: Value = r.json().await.expect("json");
    assert_eq!(customer["CustomerID"]["value"], "CUST01");
    assert_eq!(customer["Status"]["value"], "Active");
    assert_eq!(customer["CustomerClass"]["value"], "DEFAULT");
}

/// §1.5, §3.1: the company has two branches; sign-in with `branch` and the `PX-CbApiBranch`
/// header (ID or name) choose one, an unknown one is refused, and documents carry their branch.
#[tokio::test]
async fn branches_are_chosen_at_sign_in_or_per_request_and_documents_carry_them() {
    let s = sim().await;
    let base = s.base_url();
    let login = |branch: &'static str| {
        let c = client();
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/entity/auth/login"))
                .json(&serde_json::json!({"name": "admin", "password": "demo", "tenant": "Company", "branch": branch}))
                .send()
                .await
                .expect("login");
            (c, r)
        }
    };
    let (_, refused) = login("NOWHERE").await;
    assert_eq!(refused.status(), 500);
    let text = refused.text().await.expect("body");
    assert!(text.contains("NOWHERE"), "{text}");
    assert_eq!(
        s.stats().open_sessions,
        0,
        "a refused sign-in holds no seat"
    );

    let (retail, r) = login("retail").await;
    assert_eq!(r.status(), 204);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("UserBranch="))
        .map(str::to_string);
    assert_eq!(cookie.as_deref(), Some("UserBranch=2; path=/"));

    let order = |c: &reqwest::Client, header: Option<&'static str>| {
        let mut req = c
            .put(format!("{base}/entity/Default/24.200.001/SalesOrder"))
            .json(&serde_json::json!({"OrderType": {"value": "SO"}, "CustomerID": {"value": "C000001"}}));
        if let Some(h) = header {
            req = req.header("PX-CbApiBranch", h);
        }
        async move {
            let r = req.send().await.expect("put");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, o) = order(&retail, None).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["Branch"]["value"], "RETAIL");
    let (st, o) = order(&retail, Some("Head Office")).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["Branch"]["value"], "HEADOFFICE");
    let (st, _) = order(&retail, Some("Atlantis")).await;
    assert_eq!(st, 500);

    // Seeded documents are spread over both branches.
    let (st, rows) = get_json(
        &retail,
        &format!("{base}/entity/Default/24.200.001/SalesOrder?$select=Branch&$top=40"),
    )
    .await;
    assert_eq!(st, 200);
    let mut branches: Vec<&str> = rows
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["Branch"]["value"].as_str())
        .collect();
    branches.sort_unstable();
    branches.dedup();
    assert_eq!(branches, ["HEADOFFICE", "RETAIL"]);
}

/// An OData feed's rows, read with HTTP Basic as the courses do.
async fn odata_rows(base: &str, path_and_query: &str) -> Vec<Value> {
    let r = client()
        .get(format!("{base}/t/Company/api/odata/{path_and_query}"))
        .basic_auth("admin", Some("demo"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "{path_and_query}");
    let v: Value = r.json().await.expect("json");
    v["value"].as_array().expect("rows").clone()
}

/// §2 and §4.2, item 7 of the protocol list: segmented keys are blank-padded in the database.
/// The contract API trims them (`"InventoryID":{"value":"EJECTOR03"}`, DOC `Get_Attachment`)
/// while an attached file's name shows them padded (`Stock Items (JUICER20C   )\…`), and the
/// OData feeds, which read the columns, return them padded (`"MAIN01    "`, HB). Comparisons
/// ignore trailing blanks either way, as SQL Server's `=` does. The company stocks the items
/// the documents name (`EJECTOR03`), beside its numbered ones.
#[tokio::test]
async fn keys_keep_their_padding_where_the_database_pads_them() {
    let s = sim().await;
    let base = s.base_url();
    let c = signed_in(&base).await;
    let ep = format!("{base}/entity/Default/24.200.001");
    let (st, item) = get_json(&c, &format!("{ep}/StockItem/EJECTOR03?$select=InventoryID")).await;
    assert_eq!(st, 200);
    assert_eq!(item["InventoryID"]["value"], "EJECTOR03");
    // A padded literal finds the record.
    let (st, found) = get_json(
        &c,
        &format!("{ep}/StockItem?$filter=InventoryID eq 'EJECTOR03   '&$select=InventoryID"),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    // The file's name carries the screen's title and the padded key.
    let r = c
        .put(format!("{ep}/StockItem/EJECTOR03/files/photo.jpg"))
        .body(b"JFIF".to_vec())
        .send()
        .await
        .expect("attach");
    assert_eq!(r.status(), 204);
    let (_, with_files) = get_json(
        &c,
        &format!("{ep}/StockItem/EJECTOR03?$select=InventoryID,files&$expand=files"),
    )
    .await;
    assert_eq!(
        with_files["files"][0]["filename"],
        "Stock Items (EJECTOR03   )\\photo.jpg"
    );
    // An inquiry's key column comes padded to its width; an unpadded literal matches it.
    let rows = odata_rows(
        &base,
        "gi/InventoryOnHand?$filter=Warehouse eq 'MAIN' and InventoryID eq 'ITEM00001'",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Warehouse"], "MAIN      ");
    // So does a DAC's.
    let rows = odata_rows(
        &base,
        "dac/InventoryItem?$filter=InventoryCD eq 'ejector03'&$select=InventoryCD",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["InventoryCD"], "EJECTOR03   ");
    let rows = odata_rows(
        &base,
        "dac/Customer?$filter=AcctCD eq 'c000001'&$select=AcctCD",
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["AcctCD"], "C000001   ");
}

/// "Data that looks like a real company" (issue 16), after the real responses of §2 (JB
/// `PUT Customer`: `"ApplyOverdueCharges":{"value":false}`,
/// `"CreatedDateTime":{"value":"2023-12-14T17:20:45.16+00:00"}`; `PUT SalesOrder`: `TaxTotal`,
/// `CurrencyRate`): trimmed fractions of seconds, booleans filled, `""` apart from `{}`,
/// names with quotes, accents and trailing blanks, descriptions that `LIKE` can tell apart,
/// the same for the same seed.
#[tokio::test]
async fn generated_data_has_the_texture_of_a_real_company() {
    let s = sim().await;
    let base = s.base_url();
    let c = signed_in(&base).await;
    let ep = format!("{base}/entity/Default/24.200.001");
    let (st, customers) = get_json(&c, &format!("{ep}/Customer")).await;
    assert_eq!(st, 200);
    let customers = customers.as_array().expect("list").clone();
    let text = |r: &Value, f: &str| r[f]["value"].as_str().map(str::to_string);
    // Date-times: an offset, and a fraction only when there is one, without trailing zeros.
    let created: Vec<String> = customers
        .iter()
        .filter_map(|r| text(r, "CreatedDateTime"))
        .collect();
    assert_eq!(created.len(), customers.len());
    let fractions: Vec<&str> = created
        .iter()
        .filter_map(|t| t.strip_suffix("+00:00")?.split_once('.').map(|(_, f)| f))
        .collect();
    assert!(created.iter().all(|t| t.ends_with("+00:00")));
    assert!(fractions.len() > customers.len() / 2, "{created:?}");
    assert!(
        fractions
            .iter()
            .all(|f| (1..=3).contains(&f.len()) && !f.ends_with('0'))
    );
    assert!(
        fractions.iter().any(|f| f.len() < 3),
        "trimmed: {fractions:?}"
    );
    // Booleans are filled, with both values.
    let overdue: Vec<Option<bool>> = customers
        .iter()
        .map(|r| r["ApplyOverdueCharges"]["value"].as_bool())
        .collect();
    assert!(overdue.contains(&Some(true)) && overdue.contains(&Some(false)));
    assert!(!overdue.contains(&None));
    // An empty e-mail is not a missing one.
    let empty = customers
        .iter()
        .filter(|r| r["Email"]["value"] == "")
        .count();
    let null = customers
        .iter()
        .filter(|r| r["Email"] == serde_json::json!({}))
        .count();
    assert!(empty > 0 && null > 0, "{empty} empty, {null} null");
    let (_, blank) = get_json(
        &c,
        &format!("{ep}/Customer?$filter=Email eq ''&$select=CustomerID"),
    )
    .await;
    assert_eq!(blank.as_array().map(Vec::len), Some(empty));
    // Names as people type them.
    let names: Vec<String> = customers
        .iter()
        .filter_map(|r| text(r, "CustomerName"))
        .collect();
    assert!(names.iter().any(|n| n.contains('\'')));
    assert!(names.iter().any(|n| n.contains('"')));
    assert!(names.iter().any(|n| !n.is_ascii()));
    assert!(names.iter().any(|n| n.ends_with(' ')));
    assert!(names.iter().any(|n| n.chars().any(char::is_lowercase)));
    // Sales orders carry what the real ones carry.
    let (_, orders) = get_json(&c, &format!("{ep}/SalesOrder?$top=50")).await;
    let orders = orders.as_array().expect("orders");
    for o in orders {
        assert!(o["TaxTotal"]["value"].is_number(), "{o}");
        assert!(o["CurrencyRate"]["value"].is_number(), "{o}");
        assert!(o["Approved"]["value"].is_boolean(), "{o}");
    }
    assert!(
        orders
            .iter()
            .any(|o| o["TaxTotal"]["value"].as_f64() > Some(0.0))
    );
    // Descriptions `LIKE` can tell apart: a phrase selects some items, not all, not none.
    let (_, items) = get_json(&c, &format!("{ep}/StockItem?$select=Description")).await;
    let all = items.as_array().map_or(0, Vec::len);
    let (_, juice) = get_json(
        &c,
        &format!("{ep}/StockItem?$filter=substringof('juice', Description)&$select=Description"),
    )
    .await;
    let some = juice.as_array().map_or(0, Vec::len);
    assert!(some > 0 && some < all, "{some} of {all}");
    // The same seed, the same company.
    let again = sim().await;
    let c2 = signed_in(&again.base_url()).await;
    let (_, customers2) = get_json(
        &c2,
        &format!("{}/entity/Default/24.200.001/Customer", again.base_url()),
    )
    .await;
    assert_eq!(customers2.as_array(), Some(&customers));
}
