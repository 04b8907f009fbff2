//! INSERT, UPDATE and DELETE through SQL. Every change is checked with a plain HTTP GET of our
//! own (a separate sign-in, no acusql code), never through acusql's read path.

use acumatica_datafusion::AcumaticaOptions;
use acumatica_datafusion::write::{WriteFailed, WriteRefused};
use acumatica_sim::{SimConfig, SimHandle};
use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::error::DataFusionError;
use serde_json::Value;

use crate::support::{Env, env, env_full};

/// A plain client: signs in with a cookie and GETs JSON.
pub struct Plain {
    http: reqwest::Client,
    base: String,
}

impl Plain {
    pub async fn sign_in(sim: &SimHandle) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let r = http
            .post(format!("{}/entity/auth/login", sim.base_url()))
            .header("Content-Type", "application/json")
            .body(r#"{"name":"admin","password":"demo","company":"Company"}"#)
            .send()
            .await
            .expect("login");
        assert!(r.status().is_success(), "login: {}", r.status());
        Self {
            http,
            base: format!("{}/entity/Default/24.200.001/", sim.base_url()),
        }
    }

    /// `GET <endpoint>/<path>`: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        let body = r.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub async fn record(&self, path: &str) -> Value {
        let (status, v) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    pub async fn exists(&self, path: &str) -> bool {
        self.get(path).await.0 == 200
    }
}

pub fn value<'a>(record: &'a Value, path: &str) -> &'a Value {
    let mut v = record;
    for p in path.split('/') {
        v = match p.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[p],
        };
    }
    &v["value"]
}

/// Runs a write statement; its `count`.
pub async fn changed(e: &Env, sql: &str) -> u64 {
    let batches = e.query(sql).await;
    assert_eq!(batches.len(), 1, "{sql}");
    let counts = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .expect("count: UInt64");
    assert_eq!(counts.len(), 1);
    counts.value(0)
}

/// Runs a statement that must fail; its error.
pub async fn fails(e: &Env, sql: &str) -> DataFusionError {
    match e.ctx.sql(sql).await {
        Err(err) => err,
        Ok(df) => match df.collect().await {
            Err(err) => err,
            Ok(_) => panic!("{sql} succeeded"),
        },
    }
}

fn write_failed(e: &DataFusionError) -> &WriteFailed {
    match e.find_root() {
        DataFusionError::External(inner) => inner
            .downcast_ref::<WriteFailed>()
            .unwrap_or_else(|| panic!("not a WriteFailed: {e}")),
        other => panic!("not a WriteFailed: {other}"),
    }
}

fn refused(e: &DataFusionError) -> &WriteRefused {
    match e.find_root() {
        DataFusionError::External(inner) => inner
            .downcast_ref::<WriteRefused>()
            .unwrap_or_else(|| panic!("not a refusal: {e}")),
        other => panic!("not a refusal: {other}"),
    }
}

fn writes_sent(sim: &SimHandle) -> Vec<String> {
    sim.request_log()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "PUT" | "DELETE" | "POST" | "PATCH"))
        .filter(|r| r.url.starts_with("/entity/Default/"))
        .map(|r| format!("{} {}", r.method, r.url))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_update_delete_top_level_records_and_linked_fields() {
    let e = env().await;
    let plain = Plain::sign_in(&e.sim).await;
    let n = changed(
        &e,
        "INSERT INTO Customer (CustomerID, CustomerName, MainContact_Email) VALUES \
         ('NEWCUST1', 'New One', 'one@example.com'), ('NEWCUST2', 'New Two', NULL)",
    )
    .await;
    assert_eq!(n, 2);
    let one = plain.record("Customer/NEWCUST1?$expand=MainContact").await;
    assert_eq!(value(&one, "CustomerName"), "New One");
    assert_eq!(value(&one, "MainContact/Email"), "one@example.com");
    assert!(plain.exists("Customer/NEWCUST2").await);

    e.sim.clear_request_log();
    let n = changed(
        &e,
        "UPDATE Customer SET CustomerName = 'Renamed', MainContact_Email = 'new@example.com' \
         WHERE CustomerID = 'NEWCUST1'",
    )
    .await;
    assert_eq!(n, 1);
    // The WHERE was resolved with a pushed $filter, fetching keys and ids only.
    let gets = e.list_requests();
    assert!(
        gets.iter()
            .any(|u| u.contains("$filter=CustomerID eq 'NEWCUST1'")),
        "{gets:?}"
    );
    assert_eq!(
        writes_sent(&e.sim),
        ["PUT /entity/Default/24.200.001/Customer"]
    );
    let one = plain.record("Customer/NEWCUST1?$expand=MainContact").await;
    assert_eq!(value(&one, "CustomerName"), "Renamed");
    assert_eq!(value(&one, "MainContact/Email"), "new@example.com");
    let two = plain.record("Customer/NEWCUST2").await;
    assert_eq!(value(&two, "CustomerName"), "New Two");
    // Assignments may read the record's own columns.
    let n = changed(
        &e,
        "UPDATE Customer SET CustomerName = CustomerName || ' (' || CustomerID || ')' \
         WHERE CustomerID LIKE 'NEWCUST%'",
    )
    .await;
    assert_eq!(n, 2);
    let one = plain.record("Customer/NEWCUST1").await;
    assert_eq!(value(&one, "CustomerName"), "Renamed (NEWCUST1)");

    // DELETE by id.
    e.sim.clear_request_log();
    let id = two["id"].as_str().expect("id").to_string();
    assert_eq!(
        changed(&e, "DELETE FROM Customer WHERE CustomerID = 'NEWCUST2'").await,
        1
    );
    assert_eq!(
        writes_sent(&e.sim),
        [format!("DELETE /entity/Default/24.200.001/Customer/{id}")]
    );
    assert!(!plain.exists("Customer/NEWCUST2").await);
    assert!(!plain.exists(&format!("Customer/{id}")).await);
    assert!(plain.exists("Customer/NEWCUST1").await);
    // Nothing matches: nothing sent, count 0.
    e.sim.clear_request_log();
    assert_eq!(
        changed(&e, "DELETE FROM Customer WHERE CustomerID = 'NEWCUST2'").await,
        0
    );
    assert!(writes_sent(&e.sim).is_empty());
}

fn lines_of(order: &Value) -> &Vec<Value> {
    order["Details"].as_array().expect("Details lines")
}

/// The order's line of an item.
fn line(order: &Value, item: &str) -> Value {
    lines_of(order)
        .iter()
        .find(|l| value(l, "InventoryID") == item)
        .unwrap_or_else(|| panic!("{item} in {order}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detail_lines_are_added_updated_and_removed_through_their_order() {
    let e = env().await;
    let plain = Plain::sign_in(&e.sim).await;
    let before = plain.record("SalesOrder/SO/SO000005?$expand=Details").await;
    let lines_before = lines_of(&before).len();
    e.sim.clear_request_log();
    let n = changed(
        &e,
        "INSERT INTO SalesOrder_Details (OrderType, OrderNbr, InventoryID, OrderQty) VALUES \
         ('SO', 'SO000005', 'ADDED1', 3), ('SO', 'SO000005', 'ADDED2', 4.5)",
    )
    .await;
    assert_eq!(n, 2);
    // One PUT for the order, with both lines.
    assert_eq!(
        writes_sent(&e.sim),
        ["PUT /entity/Default/24.200.001/SalesOrder"]
    );
    let after = plain.record("SalesOrder/SO/SO000005?$expand=Details").await;
    assert_eq!(lines_of(&after).len(), lines_before + 2);
    assert_eq!(
        value(&line(&after, "ADDED2"), "OrderQty").as_f64(),
        Some(4.5)
    );

    let n = changed(
        &e,
        "UPDATE SalesOrder_Details SET OrderQty = 9 WHERE OrderNbr = 'SO000005' AND InventoryID = 'ADDED1'",
    )
    .await;
    assert_eq!(n, 1);
    let after = plain.record("SalesOrder/SO/SO000005?$expand=Details").await;
    let line = line(&after, "ADDED1");
    assert_eq!(value(&line, "OrderQty").as_f64(), Some(9.0));

    // Lines for an order that does not exist: nothing is created.
    let err = fails(
        &e,
        "INSERT INTO SalesOrder_Details (OrderType, OrderNbr, InventoryID) VALUES ('SO', 'NOSUCH', 'X')",
    )
    .await;
    assert!(
        err.to_string().contains("no record with these keys exists"),
        "{err}"
    );
    assert!(
        write_failed(&err).failed.contains("OrderNbr=NOSUCH"),
        "{err}"
    );
    let n = changed(
        &e,
        "DELETE FROM SalesOrder_Details WHERE OrderNbr = 'SO000005' AND InventoryID IN ('ADDED1', 'ADDED2')",
    )
    .await;
    assert_eq!(n, 2);
    let after = plain.record("SalesOrder/SO/SO000005?$expand=Details").await;
    assert_eq!(lines_of(&after).len(), lines_before);
    assert!(
        !after.to_string().contains("ADDED"),
        "lines removed: {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_are_written_in_the_custom_block() {
    let e = env_full(
        SimConfig::default(),
        "IncludeCustomFields=true",
        AcumaticaOptions::default(),
    )
    .await;
    let plain = Plain::sign_in(&e.sim).await;
    let n = changed(
        &e,
        "UPDATE SalesOrder SET cf_Document_AttributePRODUCT = 'pickles' WHERE OrderNbr = 'SO000007'",
    )
    .await;
    assert_eq!(n, 1);
    let r = plain
        .record("SalesOrder/SO/SO000007?$custom=Document.AttributePRODUCT")
        .await;
    assert_eq!(
        r["custom"]["Document"]["AttributePRODUCT"]["value"], "pickles",
        "{r}"
    );
    // A line's custom field goes in the line's own custom block.
    let lines = e
        .rows("SELECT id FROM SalesOrder_Details WHERE OrderNbr = 'SO000007' LIMIT 1")
        .await;
    let line_id = lines[0].trim_matches(|c| c == '|' || c == ' ').to_string();
    let n = changed(
        &e,
        &format!(
            "UPDATE SalesOrder_Details SET cf_Transactions_CuryUnitCost = 12.3456 \
             WHERE OrderNbr = 'SO000007' AND id = '{line_id}'"
        ),
    )
    .await;
    assert_eq!(n, 1);
    let r = plain
        .record("SalesOrder/SO/SO000007?$expand=Details&$custom=Details/Transactions.CuryUnitCost")
        .await;
    let line = lines_of(&r)
        .iter()
        .find(|l| l["id"] == line_id.as_str())
        .expect("the line");
    assert_eq!(
        line["custom"]["Transactions"]["CuryUnitCost"]["value"].as_f64(),
        Some(12.3456),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_records_stop_the_statement_and_name_the_column() {
    let e = env().await;
    let plain = Plain::sign_in(&e.sim).await;
    // A duplicate key: INSERT never overwrites (If-None-Match: *), and what came before stays.
    let err = fails(
        &e,
        "INSERT INTO Customer (CustomerID, CustomerName) VALUES \
         ('DUP1', 'a'), ('DUP2', 'b'), ('C000001', 'overwritten?'), ('DUP3', 'c')",
    )
    .await;
    let w = write_failed(&err);
    assert_eq!(w.applied, 2, "{err}");
    assert!(w.failed.contains("record 3 of 4"), "{err}");
    assert!(w.failed.contains("CustomerID=C000001"), "{err}");
    let text = err.to_string();
    assert!(text.contains("already exists"), "{text}");
    assert!(text.contains("no transactions"), "{text}");
    assert!(plain.exists("Customer/DUP2").await);
    assert!(!plain.exists("Customer/DUP3").await);
    let first = plain.record("Customer/C000001").await;
    assert_ne!(value(&first, "CustomerName"), "overwritten?");

    // A 422 field error on the third record: two applied, the column named.
    let err = fails(
        &e,
        "UPDATE Customer SET Status = CASE WHEN CustomerID = 'C000003' THEN 'Bogus' ELSE 'Credit Hold' END \
         WHERE CustomerID IN ('C000001', 'C000002', 'C000003', 'C000004')",
    )
    .await;
    let w = write_failed(&err);
    assert_eq!(w.applied, 2, "{err}");
    assert!(
        w.failed.contains("record 3 of 4 (CustomerID=C000003)"),
        "{err}"
    );
    assert_eq!(w.columns.len(), 1, "{err}");
    assert_eq!(w.columns[0].0, "Status");
    assert!(
        w.columns[0].1.contains("'Bogus' is not in the list"),
        "{err}"
    );
    assert!(
        err.to_string().contains("Status: The value 'Bogus'"),
        "{err}"
    );
    for (id, status) in [("C000001", "Credit Hold"), ("C000002", "Credit Hold")] {
        let r = plain.record(&format!("Customer/{id}")).await;
        assert_eq!(value(&r, "Status"), status);
    }
    for id in ["C000003", "C000004"] {
        let r = plain.record(&format!("Customer/{id}")).await;
        assert_ne!(value(&r, "Status"), "Credit Hold", "{id} untouched");
    }
    // An insert refused the same way names the column too.
    let err = fails(
        &e,
        "INSERT INTO Customer (CustomerID, CustomerName, Status) VALUES ('BADSTATUS', 'x', 'Nope')",
    )
    .await;
    let w = write_failed(&err);
    assert_eq!((w.applied, w.columns[0].0.as_str()), (0, "Status"), "{err}");
    assert!(!plain.exists("Customer/BADSTATUS").await);
}

/// On a `ReadOnly=true` connection every write is refused before any request but reads.
#[rstest::rstest]
#[case::insert("INSERT INTO Customer (CustomerID) VALUES ('RO1')")]
#[case::update("UPDATE Customer SET CustomerName = 'x' WHERE CustomerID = 'C000001'")]
#[case::delete("DELETE FROM Customer WHERE CustomerID = 'C000001'")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_connections_refuse_writes(#[case] sql: &str) {
    let e = env_full(
        SimConfig::default(),
        "ReadOnly=true",
        AcumaticaOptions::default(),
    )
    .await;
    e.sim.clear_request_log();
    let err = fails(&e, sql).await;
    assert!(refused(&err).0.contains("ReadOnly=true"), "{sql}: {err}");
    assert!(
        e.sim
            .request_log()
            .iter()
            .all(|r| r.method == "GET" || r.url.contains("/auth/"))
    );
}

/// Refused before anything is sent: a write of every row without `WHERE` (unless allowed), a
/// `WHERE` reading another table (it would reach the table provider without that part), and
/// a change of key.
#[rstest::rstest]
#[case::delete_without_where("DELETE FROM Customer", "without WHERE")]
#[case::update_without_where("UPDATE SalesOrder_Details SET OrderQty = 0", "without WHERE")]
#[case::where_with_a_join_subquery(
    "DELETE FROM Customer WHERE Status = 'Active' AND CustomerID IN \
     (SELECT CustomerID FROM SalesOrder WHERE OrderNbr = 'SO000001')",
    "the WHERE reads"
)]
#[case::where_with_a_scalar_subquery(
    "UPDATE Customer SET CustomerName = 'x' WHERE CustomerID IN (SELECT 'C000001')",
    "the WHERE reads"
)]
#[case::where_exists(
    "DELETE FROM Customer WHERE EXISTS (SELECT 1 FROM Vendor WHERE Vendor.VendorID = Customer.CustomerID)",
    "the WHERE reads"
)]
#[case::key_change(
    "UPDATE Customer SET CustomerID = 'X' WHERE CustomerID = 'C000001'",
    "key"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_writes_are_refused_before_any_request(#[case] sql: &str, #[case] why: &str) {
    let e = env().await;
    let err = fails(&e, sql).await;
    assert!(refused(&err).0.contains(why), "{sql}: {err}");
    assert!(writes_sent(&e.sim).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_requests_a_write_would_send() {
    let e = env().await;
    e.sim.clear_request_log();
    let plan = e
        .rows("EXPLAIN UPDATE Customer SET CustomerName = 'x' WHERE CustomerID = 'C000001'")
        .await
        .join("\n");
    assert!(
        plan.contains("PUT /entity/Default/24.200.001/Customer (If-Match: *) per record: CustomerID + CustomerName"),
        "{plan}"
    );
    assert!(
        plan.contains("GET /entity/Default/24.200.001/Customer?$filter=CustomerID"),
        "{plan}"
    );
    let plan = e
        .rows("EXPLAIN DELETE FROM SalesOrder_Details WHERE OrderNbr = 'SO000001'")
        .await
        .join("\n");
    assert!(
        plan.contains("Details lines by id with \"delete\": true"),
        "{plan}"
    );
    let plan = e
        .rows("EXPLAIN INSERT INTO Customer (CustomerID) VALUES ('X')")
        .await
        .join("\n");
    assert!(plan.contains("(If-None-Match: *) per row"), "{plan}");
    assert!(writes_sent(&e.sim).is_empty(), "EXPLAIN sends nothing");
}

/// A Flight SQL server over the test's catalog with `policy`; stops when the sender drops.
async fn flight(
    e: &Env,
    policy: acumatica_datafusion::StatementPolicy,
) -> (
    arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel>,
    tokio::sync::oneshot::Sender<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        acumatica_flight::FlightSqlServer::new(e.ctx.clone(), acumatica_flight::FlightAuth::none())
            .with_policy(policy);
    tokio::spawn(async move {
        let _ = server
            .serve(listener, None, async {
                let _ = stopped.await;
            })
            .await;
    });
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    (
        arrow_flight::sql::client::FlightSqlServiceClient::new(channel),
        stop,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_refuse_writes_unless_started_with_writes_allowed() {
    use acumatica_datafusion::StatementPolicy;
    let e = env().await;
    let plain = Plain::sign_in(&e.sim).await;
    let (mut client, _stop) = flight(&e, StatementPolicy::server()).await;
    e.sim.clear_request_log();
    for sql in [
        "INSERT INTO Customer (CustomerID) VALUES ('FLIGHT1')",
        "UPDATE Customer SET CustomerName = 'x' WHERE CustomerID = 'C000001'",
        "DELETE FROM Customer WHERE CustomerID = 'C000001'",
    ] {
        let status =
            tonic::Status::from(client.execute_update(sql.into(), None).await.unwrap_err());
        assert_eq!(
            status.code(),
            tonic::Code::PermissionDenied,
            "{sql}: {status}"
        );
        assert!(status.message().contains("read-only"), "{status}");
    }
    assert!(writes_sent(&e.sim).is_empty());
    assert!(e.sim.request_log().iter().all(|r| r.method != "PUT"));

    let (mut client, _stop) = flight(&e, StatementPolicy::server().with_writes(true)).await;
    let n = client
        .execute_update(
            "INSERT INTO Customer (CustomerID, CustomerName) VALUES ('FLIGHT1', 'Via Flight'), ('FLIGHT2', 'Two')"
                .into(),
            None,
        )
        .await
        .expect("insert");
    assert_eq!(n, 2);
    let n = client
        .execute_update(
            "UPDATE Customer SET CustomerName = 'Renamed via Flight' WHERE CustomerID = 'FLIGHT2'"
                .into(),
            None,
        )
        .await
        .expect("update");
    assert_eq!(n, 1);
    let r = plain.record("Customer/FLIGHT2").await;
    assert_eq!(value(&r, "CustomerName"), "Renamed via Flight");
    // A refused record: ABORTED, with the count applied and the column.
    let status = tonic::Status::from(
        client
            .execute_update(
                "UPDATE Customer SET Status = 'Bogus' WHERE CustomerID IN ('FLIGHT1', 'FLIGHT2')"
                    .into(),
                None,
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code(), tonic::Code::Aborted, "{status}");
    assert!(status.message().contains("0 record(s) changed"), "{status}");
    assert!(
        status.message().contains("Status: The value 'Bogus'"),
        "{status}"
    );
    // Files stay off even with writes allowed.
    let status = tonic::Status::from(
        client
            .execute_update("COPY (SELECT 1) TO '/tmp/acusql-never.csv'".into(), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status}");
}

/// Runs SQL as the shell does (the local statement policy, which also runs `CALL`).
async fn local(
    e: &Env,
    sql: &str,
) -> datafusion::error::Result<Vec<datafusion::arrow::array::RecordBatch>> {
    acumatica_datafusion::StatementPolicy::local()
        .sql(&e.ctx, sql)
        .await?
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_as_procedures_and_servers_refuse_them_by_default() {
    let e = env().await;
    let plain = Plain::sign_in(&e.sim).await;
    e.sim.clear_request_log();
    let batches = local(
        &e,
        "CALL SalesOrder.CancelSalesOrder(OrderType => 'SO', OrderNbr => 'SO000011')",
    )
    .await
    .expect("call");
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(
        text.contains("| SalesOrder | CancelSalesOrder | completed |"),
        "{text}"
    );
    let posts: Vec<String> = writes_sent(&e.sim);
    assert_eq!(
        posts,
        ["POST /entity/Default/24.200.001/SalesOrder/CancelSalesOrder"]
    );
    // The status URL was followed until 204.
    assert!(
        e.sim
            .request_log()
            .iter()
            .any(|r| r.url.contains("/CancelSalesOrder/status/") && r.status == 204),
        "{:?}",
        e.sim.request_log()
    );
    let r = plain.record("SalesOrder/SO/SO000011").await;
    assert_eq!(value(&r, "Status"), "Canceled");

    // An unknown action is Acumatica's error; a missing key is ours, before any request.
    let err = local(
        &e,
        "CALL SalesOrder.NoSuchThing(OrderType => 'SO', OrderNbr => 'SO000011')",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("NoSuchThing"), "{err}");
    e.sim.clear_request_log();
    let err = local(
        &e,
        "CALL SalesOrder.CancelSalesOrder(OrderNbr => 'SO000011')",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("OrderType, OrderNbr"), "{err}");
    assert!(writes_sent(&e.sim).is_empty());

    // A server without writes allowed refuses it.
    let err = acumatica_datafusion::StatementPolicy::server()
        .sql(
            &e.ctx,
            "CALL SalesOrder.ReopenSalesOrder(OrderType => 'SO', OrderNbr => 'SO000011')",
        )
        .await
        .unwrap_err();
    assert!(
        acumatica_datafusion::policy::refusal(&err).is_some(),
        "{err}"
    );
    assert!(writes_sent(&e.sim).is_empty());
}

/// The answer to a PUT is lost (the connection drops after Acumatica saved the record): the
/// write is not sent again, the statement stops, and the error says the outcome is unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_is_lost_is_never_sent_again() {
    let sim = SimConfig {
        faults: acumatica_sim::Faults {
            rate_drop: 1.0,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let e = env_full(sim, "MaxRetries=0", AcumaticaOptions::default()).await;
    e.sim.clear_request_log();
    let err = fails(
        &e,
        "INSERT INTO Customer (CustomerID, CustomerName) VALUES ('LOST1', 'a'), ('LOST2', 'b')",
    )
    .await;
    let w = write_failed(&err);
    assert_eq!(w.applied, 0, "{err}");
    assert!(w.failed.contains("LOST1"), "{err}");
    assert!(err.to_string().contains("unknown"), "{err}");
    let puts: Vec<(String, u16)> = e
        .sim
        .request_log()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| (r.url, r.status))
        .collect();
    assert_eq!(
        puts,
        [("/entity/Default/24.200.001/Customer".to_string(), 200)],
        "sent once (and saved by the server), never again"
    );
}
