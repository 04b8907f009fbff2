//! SQL behaviour: selection, projection, joins, detail tables, aggregates, NULLs, decimals,
//! time zones, LIMIT/OFFSET and errors.

use crate::support::{count, env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_columns_and_types() {
    let e = env().await;
    let rows = e
        .rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'SalesOrder_Details' AND column_name IN ('OrderType', 'OrderNbr', 'OrderQty', 'RequestedOn')")
        .await;
    let text = rows.join("\n");
    assert!(
        text.contains("OrderQty") && text.contains("Decimal128(38, 8)"),
        "{text}"
    );
    assert!(
        text.contains("Timestamp(µs, \"UTC\")")
            || text.contains("Timestamp(Microsecond, Some(\"UTC\"))"),
        "{text}"
    );
    // The parent's keys come first in a detail table.
    let batches = e.query("SELECT * FROM SalesOrder_Details LIMIT 1").await;
    let schema = batches[0].schema();
    let names: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .take(3)
        .collect();
    assert_eq!(names, ["OrderType", "OrderNbr", "id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_aggregates_and_detail_lines_agree() {
    let e = env().await;
    // Every order total is the sum of its lines and its tax (the simulator keeps them
    // consistent).
    let mismatches = e
        .rows(
            "SELECT o.OrderNbr FROM SalesOrder o JOIN \
             (SELECT OrderNbr, SUM(Amount) AS s FROM SalesOrder_Details GROUP BY OrderNbr) d \
             ON o.OrderNbr = d.OrderNbr WHERE o.OrderTotal - o.TaxTotal <> d.s",
        )
        .await;
    assert!(mismatches.is_empty(), "{mismatches:?}");
    let joined = e
        .query("SELECT c.CustomerName, COUNT(*) FROM SalesOrder o JOIN Customer c ON o.CustomerID = c.CustomerID GROUP BY c.CustomerName")
        .await;
    assert!(count(&joined) > 10);
    let n = e.query("SELECT COUNT(*) FROM SalesOrder").await;
    let n = datafusion::arrow::util::pretty::pretty_format_batches(&n)
        .unwrap()
        .to_string();
    assert!(n.contains("1000"), "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nulls_decimals_time_zones_limit_offset() {
    let e = env().await;
    let nulls = e
        .query("SELECT CustomerID FROM Customer WHERE Email IS NULL")
        .await;
    let not_nulls = e
        .query("SELECT CustomerID FROM Customer WHERE Email IS NOT NULL")
        .await;
    assert_eq!(count(&nulls) + count(&not_nulls), 200);
    assert!(count(&nulls) > 0);
    let exact = e
        .rows("SELECT CAST(SUM(WriteOffLimit) AS VARCHAR) FROM Customer")
        .await;
    assert!(
        exact[0].contains('.'),
        "decimal sum keeps its scale: {exact:?}"
    );
    let tz = e
        .rows("SELECT CAST(MIN(CreatedDateTime) AS VARCHAR) FROM Customer")
        .await;
    assert!(tz[0].contains("2023-"), "{tz:?}");
    let page = e
        .rows("SELECT CustomerID FROM Customer ORDER BY CustomerID LIMIT 2 OFFSET 3")
        .await;
    assert_eq!(page.len(), 2);
    assert!(page[0].contains("C000004"), "{page:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tables_and_columns_are_clear_errors() {
    let e = env().await;
    let err = e
        .ctx
        .sql("SELECT * FROM NoSuchEntity")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nosuchentity") || err.contains("NoSuchEntity"),
        "{err}"
    );
    let err = e
        .ctx
        .sql("SELECT customerid FROM Customer")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CustomerID"),
        "suggests the right spelling: {err}"
    );
    // Table names are found whatever their case.
    assert_eq!(
        count(&e.query("SELECT CustomerID FROM customer LIMIT 1").await),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_is_signed_out_on_close() {
    let e = env().await;
    e.query("SELECT COUNT(*) FROM Customer").await;
    assert_eq!(e.sim.stats().open_sessions, 1);
    e.conn.close().await.unwrap();
    assert_eq!(e.sim.stats().open_sessions, 0);
}
