//! Amounts are exact: a decimal literal in SQL is a decimal, written values keep every digit in
//! the simulator, and the comparison finds the record with pushdown on and off.

use crate::support::{Env, env};

/// Writes a customer with a credit limit given as a JSON number, as a client of the REST API would.
async fn put_customer(e: &Env, id: &str, credit_limit: &str) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let base = e.sim.base_url();
    let login = http
        .post(format!("{base}/entity/auth/login"))
        .json(&serde_json::json!({"name": "admin", "password": "demo", "company": "Company"}))
        .send()
        .await
        .expect("login");
    assert!(login.status().is_success(), "login: {}", login.status());
    let body = format!(
        r#"{{"CustomerID":{{"value":"{id}"}},"CustomerName":{{"value":"Exact amounts"}},"CreditLimit":{{"value":{credit_limit}}}}}"#
    );
    let put = http
        .put(format!("{base}/entity/Default/24.200.001/Customer"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("put");
    let status = put.status();
    let text = put.text().await.unwrap_or_default();
    assert!(status.is_success(), "PUT: {status} {text}");
    assert!(
        text.contains(credit_limit),
        "the simulator keeps every digit: {text}"
    );
    let _ = http.post(format!("{base}/entity/auth/logout")).send().await;
}

fn exact_queries() -> [(&'static str, Vec<String>); 4] {
    [
        (
            "SELECT CustomerID FROM Customer WHERE CreditLimit = 123456789012345.6789",
            vec!["| EXACT1     |".to_string()],
        ),
        (
            "SELECT CustomerID FROM Customer WHERE CreditLimit = 123456789012345.6788",
            vec![],
        ),
        (
            "SELECT CustomerID FROM Customer WHERE CreditLimit > 123456789012345.6788",
            vec!["| EXACT1     |".to_string()],
        ),
        (
            "SELECT CustomerID FROM Customer WHERE CreditLimit BETWEEN 98765432109.8764 AND 98765432109.87649",
            vec!["| EXACT2     |".to_string()],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decimal_literals_with_many_digits_find_the_exact_record_pushed_and_local() {
    let e = env().await;
    put_customer(&e, "EXACT1", "123456789012345.6789").await;
    put_customer(&e, "EXACT2", "98765432109.87645").await;
    for pushdown in [true, false] {
        e.catalog.set_pushdown(pushdown);
        for (sql, expected) in exact_queries() {
            e.sim.clear_request_log();
            assert_eq!(e.rows(sql).await, expected, "pushdown {pushdown}: {sql}");
            if pushdown && sql.contains(" = 123456789012345.6789") {
                let reqs = e.list_requests();
                assert!(
                    reqs.iter()
                        .any(|u| u.contains("CreditLimit eq 123456789012345.6789")),
                    "the literal is sent with every digit: {reqs:?}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decimal_literals_are_decimals_in_sql() {
    let e = env().await;
    let rows = e
        .rows("SELECT arrow_typeof(123456789012345.6789) AS t, 0.1 + 0.2 = 0.3 AS exact")
        .await;
    assert_eq!(rows, vec!["| Decimal128(19, 4) | true  |".to_string()]);
}

/// The error of a statement, as a remote client or the shell shows it.
async fn error_of(e: &Env, sql: &str) -> String {
    let result = match e.ctx.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(err) => Err(err),
    };
    let err = result.expect_err(sql);
    acumatica_datafusion::error_summary(&err, 300)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_literal_that_is_not_a_number_names_the_column_and_the_value() {
    let e = env().await;
    assert_eq!(
        error_of(
            &e,
            "SELECT CustomerID FROM Customer WHERE CreditLimit = 'abc'"
        )
        .await,
        "CreditLimit = 'abc': 'abc' is not a number (CreditLimit is Decimal128(38, 8))"
    );
    assert!(
        error_of(&e, "SELECT 1 FROM Customer WHERE CreditLimit IN (1, 'zz')")
            .await
            .starts_with("CreditLimit IN (… 'zz' …): 'zz' is not a number"),
    );
    assert!(
        error_of(
            &e,
            "SELECT 1 FROM SalesOrder WHERE Date BETWEEN '2024-01-01' AND 'tomorrow'"
        )
        .await
        .starts_with("Date BETWEEN '2024-01-01' AND 'tomorrow': 'tomorrow' is not a date and time"),
    );
    // Text that is a number is fine.
    e.query("SELECT CustomerID FROM Customer WHERE CreditLimit = '100.5'")
        .await;
}
