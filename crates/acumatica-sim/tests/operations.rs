//! Custom fields, actions, attachments, reports, inquiry forms and lenient bodies over real
//! HTTP on loopback.

use std::time::Duration;

use acumatica_sim::{SimConfig, SimHandle};
use serde_json::{Value, json};

async fn signed_in() -> (SimHandle, reqwest::Client, String) {
    let s = acumatica_sim::start(SimConfig::default()).await.unwrap();
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(format!("{}/entity/auth/login", s.base_url()))
        .json(&json!({"name": "admin", "password": "demo", "tenant": "Company"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let base = format!("{}/entity/Default/24.200.001", s.base_url());
    (s, c, base)
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn custom_fields_are_read_filtered_written_and_described() {
    let (_s, c, base) = signed_in().await;
    // $custom on a list: the custom block, grouped by view, with the field's type.
    let (st, rows) = get(
        &c,
        &format!("{base}/SalesInvoice?$select=ReferenceNbr&$custom=Document.CuryBalanceWOTotal,Document.DiscDate&$top=50"),
    )
    .await;
    assert_eq!(st, 200);
    let rows = rows.as_array().unwrap();
    let block = &rows[0]["custom"]["Document"];
    assert_eq!(block["CuryBalanceWOTotal"]["type"], "CustomDecimalField");
    assert_eq!(block["DiscDate"]["type"], "CustomDateTimeField");
    assert!(rows[0].get("Amount").is_none(), "$select still applies");
    let zero = rows
        .iter()
        .filter(|r| r["custom"]["Document"]["CuryBalanceWOTotal"]["value"].as_f64() == Some(0.0))
        .count();
    // cf.* filters select the same records.
    let (st, filtered) = get(
        &c,
        &format!("{base}/SalesInvoice?$select=ReferenceNbr&$filter=cf.Decimal(f='Document.CuryBalanceWOTotal') eq 0M&$top=50&$custom=Document.CuryBalanceWOTotal"),
    )
    .await;
    assert_eq!(st, 200);
    let filtered = filtered.as_array().unwrap();
    assert!(!filtered.is_empty());
    assert!(filtered.len() >= zero);
    assert!(
        filtered
            .iter()
            .all(|r| r["custom"]["Document"]["CuryBalanceWOTotal"]["value"].as_f64() == Some(0.0))
    );
    // Unknown custom fields are refused on modelled screens.
    let (st, e) = get(
        &c,
        &format!("{base}/SalesOrder?$custom=Document.NoSuchField"),
    )
    .await;
    assert_eq!(st, 500);
    assert!(
        e["exceptionMessage"]
            .as_str()
            .unwrap()
            .contains("NoSuchField")
    );
    let (st, _) = get(
        &c,
        &format!("{base}/SalesOrder?$filter=cf.String(f='Document.Nope') eq 'x'"),
    )
    .await;
    assert_eq!(st, 500);
    // Detail custom fields by path.
    let (st, orders) = get(
        &c,
        &format!(
            "{base}/SalesOrder?$expand=Details&$custom=Details/Transactions.CuryUnitCost&$top=1"
        ),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        orders[0]["Details"][0]["custom"]["Transactions"]["CuryUnitCost"]["type"],
        "CustomDecimalField"
    );
    // A PUT writes a custom value; reading it back returns it.
    let first = &get(
        &c,
        &format!("{base}/SalesOrder?$top=1&$select=OrderType,OrderNbr"),
    )
    .await
    .1[0];
    let (t, n) = (
        first["OrderType"]["value"].as_str().unwrap(),
        first["OrderNbr"]["value"].as_str().unwrap(),
    );
    let r = c
        .put(format!("{base}/SalesOrder?$custom=Document.AttributePRODUCT"))
        .json(&json!({"OrderType": {"value": t}, "OrderNbr": {"value": n},
            "custom": {"Document": {"AttributePRODUCT": {"type": "CustomStringField", "value": "Pear jam"}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["custom"]["Document"]["AttributePRODUCT"]["value"],
        "Pear jam"
    );
    let (_, v) = get(
        &c,
        &format!("{base}/SalesOrder/{t}/{n}?$custom=Document.AttributePRODUCT"),
    )
    .await;
    assert_eq!(
        v["custom"]["Document"]["AttributePRODUCT"]["value"],
        "Pear jam"
    );
    // `$select=custom.Item` keeps the custom block.
    let (st, items) = get(
        &c,
        &format!("{base}/StockItem?$custom=Item.DescrTranslations&$select=custom.Item&$top=1"),
    )
    .await;
    assert_eq!(st, 200);
    assert!(items[0]["custom"]["Item"]["DescrTranslations"].is_object());
    // $adHocSchema: a template with each level's custom fields and a row per detail.
    let (st, schema) = get(&c, &format!("{base}/StockItem/$adHocSchema")).await;
    assert_eq!(st, 200);
    assert_eq!(
        schema["custom"]["Item"]["NoteID"],
        json!({"type": "CustomGuidField", "value": null})
    );
    assert!(
        !schema["ReplenishmentParameters"][0]["custom"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    assert_eq!(schema["InventoryID"], json!({}));
}

#[tokio::test]
async fn actions_run_in_the_background_and_change_the_document() {
    let (_s, c, base) = signed_in().await;
    let (_, orders) = get(
        &c,
        &format!(
            "{base}/SalesOrder?$filter=Status eq 'Open'&$top=1&$select=OrderType,OrderNbr,Status"
        ),
    )
    .await;
    let o = &orders[0];
    let r = c
        .post(format!("{base}/SalesOrder/CancelSalesOrder"))
        .json(&json!({"entity": {"OrderType": o["OrderType"], "OrderNbr": o["OrderNbr"]}, "parameters": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/entity/Default/24.200.001/SalesOrder/CancelSalesOrder/status/"));
    let status_url = format!("{}{location}", _s.base_url());
    let mut polls = 0;
    let done = loop {
        let r = c.get(&status_url).send().await.unwrap();
        match r.status().as_u16() {
            202 => tokio::time::sleep(Duration::from_millis(30)).await,
            204 => break r,
            other => panic!("poll answered {other}"),
        }
        polls += 1;
        assert!(polls < 100);
    };
    let entity = done.headers()["location"].to_str().unwrap().to_string();
    let (_, v) = get(&c, &format!("{}{entity}", _s.base_url())).await;
    assert_eq!(v["Status"]["value"], "Canceled");
    // Unknown actions 404; a missing record is "no entity"; a body that is not JSON is 400.
    let r = c
        .post(format!("{base}/SalesOrder/Fly"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .post(format!("{base}/SalesOrder/ReopenSalesOrder"))
        .json(&json!({"entity": {"OrderType": {"value": "SO"}, "OrderNbr": {"value": "NOPE"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let r = c
        .post(format!("{base}/SalesOrder/ReopenSalesOrder"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (st, _) = get(
        &c,
        &format!("{base}/SalesOrder/CancelSalesOrder/status/00000000-0000-0000-0000-000000000000"),
    )
    .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn files_attach_list_and_download() {
    let (s, c, base) = signed_in().await;
    let item = &get(&c, &format!("{base}/StockItem?$top=1")).await.1[0];
    let key = item["InventoryID"]["value"].as_str().unwrap().to_string();
    let put_link = item["_links"]["files:put"]
        .as_str()
        .unwrap()
        .replace("{filename}", "photo.jpg");
    let r = c
        .put(format!("{}{put_link}", s.base_url()))
        .header("PX-CbFileComment", "front view")
        .body(b"\xFF\xD8JFIF-bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/files/")
    );
    // Legacy form by keys; the same name replaces the file.
    for body in [&b"one"[..], &b"two"[..]] {
        let r = c
            .put(format!("{base}/StockItem/{key}/files/notes.txt"))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let (_, v) = get(
        &c,
        &format!("{base}/StockItem/{key}?$select=InventoryID,files&$expand=files"),
    )
    .await;
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["comment"], "front view");
    assert!(
        files[0]["filename"]
            .as_str()
            .unwrap()
            .ends_with("\\photo.jpg")
    );
    let r = c
        .get(format!(
            "{}{}",
            s.base_url(),
            files[1]["href"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"two");
    // Without $expand=files there is no files member.
    let (_, v) = get(&c, &format!("{base}/StockItem/{key}")).await;
    assert!(v.get("files").is_none());
    let r = c
        .put(format!("{base}/StockItem/NOPE/files/x.txt"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
}

#[tokio::test]
async fn reports_inquiry_forms_filters_on_put_and_lenient_bodies() {
    let (s, c, base) = signed_in().await;
    let r = c
        .post(format!(
            "{}/entity/Report/0001/CashAccountSummary",
            s.base_url()
        ))
        .json(&json!({"Period": {"value": "012024"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.contains("/CashAccountSummary/report/PDF/"));
    let pdf = loop {
        let r = c
            .get(format!("{}{loc}", s.base_url()))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            assert_eq!(r.headers()["content-type"], "application/pdf");
            break r.bytes().await.unwrap();
        }
        assert_eq!(r.status(), 202);
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert!(pdf.starts_with(b"%PDF-"));
    let r = c
        .post(format!("{}/entity/Report/0001/NoSuchReport", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // An inquiry form answers with its parameters and its (here empty) results; nothing stored.
    let r = c
        .put(format!("{base}/InventorySummaryInquiry?$expand=Results"))
        .json(&json!({"InventoryID": {"value": "ITEM00001"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["InventoryID"]["value"], "ITEM00001");
    assert_eq!(v["Results"], json!([]));
    let (_, listed) = get(&c, &format!("{base}/InventorySummaryInquiry")).await;
    assert_eq!(listed, json!([]));
    // PUT ?$filter= updates the record the filter selects.
    let first = &get(&c, &format!("{base}/Customer?$top=1&$select=CustomerID"))
        .await
        .1[0];
    let id = first["CustomerID"]["value"].as_str().unwrap();
    let r = c
        .put(format!(
            "{base}/Customer?$filter=CustomerID eq '{id}'&$select=CustomerID,CustomerName"
        ))
        .body("{\n  'CustomerName': {\"value\":\u{a0}\"Renamed\"},\n}")
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "Json.NET accepts single quotes, NBSP, trailing commas"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["CustomerID"]["value"], id);
    assert_eq!(v["CustomerName"]["value"], "Renamed");
    // PATCH updates only an existing record.
    let r = c
        .patch(format!("{base}/Customer"))
        .json(&json!({"CustomerID": {"value": id}, "CustomerName": {"value": "Patched"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .patch(format!("{base}/Customer"))
        .json(&json!({"CustomerID": {"value": "NOBODY"}, "CustomerName": {"value": "X"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_connected_application_allows_only_its_flows() {
    let s = acumatica_sim::start(SimConfig {
        oauth: acumatica_sim::OAuthApp {
            flows: vec![acumatica_sim::OAuthFlow::AuthorizationCode],
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let app = &s.config().oauth;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(format!("{}/identity/connect/token", s.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "demo"),
            ("scope", "api"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unauthorized_client");
    // The implicit flow is refused through the redirect; the code flow is offered.
    let authorize = |rt: &str| {
        format!(
            "{}/identity/connect/authorize?response_type={rt}&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A33333%2F&scope=api&state=s1",
            s.base_url(),
            app.client_id
        )
    };
    let r = c.get(authorize("token")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error=unauthorized_client")
    );
    let r = c.get(authorize("code")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the sign-in page");
}
