//! Generic inquiries and DACs over OData v4 as SQL tables: discovered from `$metadata`,
//! filters pushed in OData v4 syntax, paging in key order, results equal with and without
//! pushdown.

use crate::support::{count, env};

fn odata_requests(e: &crate::support::Env) -> Vec<String> {
    e.sim
        .request_log()
        .into_iter()
        .filter(|r| r.url.contains("/api/odata/") && !r.url.contains("$metadata"))
        .map(|r| r.url)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inquiries_and_dacs_are_tables() {
    let e = env().await;
    let tables = e
        .rows("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('gi', 'dac')")
        .await
        .join("\n");
    for t in [
        "CustomerBalance",
        "OpenSalesOrderLines",
        "InventoryOnHand",
        "SOOrder",
        "SOLine",
        "InventoryItem",
    ] {
        assert!(tables.contains(t), "{t} in {tables}");
    }
    // Every open order line of the inquiry is a line of an open order in the REST tables.
    let gi = e
        .rows("SELECT OrderNbr, LineNbr, Amount FROM gi.OpenSalesOrderLines")
        .await;
    let rest = e
        .rows(
            "SELECT d.OrderNbr, d.LineNbr, d.Amount FROM SalesOrder_Details d JOIN SalesOrder o \
             ON o.OrderType = d.OrderType AND o.OrderNbr = d.OrderNbr \
             WHERE o.Status IN ('Open', 'On Hold', 'Shipping')",
        )
        .await;
    assert!(gi.len() > 1000);
    assert_eq!(gi, rest);
    // Balances agree with the open invoices.
    let check = e
        .rows(
            "SELECT b.CustomerID FROM gi.CustomerBalance b LEFT JOIN \
             (SELECT CustomerID, SUM(Balance) AS s FROM SalesInvoice GROUP BY CustomerID) i \
             ON i.CustomerID = b.CustomerID WHERE b.Balance <> COALESCE(i.s, 0)",
        )
        .await;
    assert!(check.is_empty(), "{check:?}");
    let dac = e.query("SELECT COUNT(*) FROM dac.SOLine").await;
    assert_eq!(count(&dac), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_go_out_in_odata_v4_syntax() {
    let e = env().await;
    e.sim.clear_request_log();
    let rows = e
        .rows(
            "SELECT OrderNbr, LineNbr, Quantity FROM gi.OpenSalesOrderLines \
             WHERE Quantity > 40 AND OrderDate >= TIMESTAMP '2024-01-01 00:00:00' \
             AND Description LIKE '%Juice%'",
        )
        .await;
    assert!(!rows.is_empty());
    let urls = odata_requests(&e);
    let first = &urls[0];
    assert!(
        first.contains("/t/Company/api/odata/gi/OpenSalesOrderLines?"),
        "{first}"
    );
    assert!(first.contains("Quantity gt 40"), "{first}");
    assert!(
        first.contains("OrderDate ge 2024-01-01T00:00:00.000000Z"),
        "{first}"
    );
    assert!(first.contains("contains(Description,'Juice')"), "{first}");
    assert!(
        first.contains("$select=OrderNbr,LineNbr,Quantity") || first.contains("$select="),
        "{first}"
    );
    assert!(
        first.contains("$orderby=OrderType,OrderNbr,LineNbr"),
        "{first}"
    );
    // The same answer without pushdown.
    e.catalog.set_pushdown(false);
    let local = e
        .rows(
            "SELECT OrderNbr, LineNbr, Quantity FROM gi.OpenSalesOrderLines \
             WHERE Quantity > 40 AND OrderDate >= TIMESTAMP '2024-01-01 00:00:00' \
             AND Description LIKE '%Juice%'",
        )
        .await;
    assert_eq!(rows, local);
    e.catalog.set_pushdown(true);
    // DAC codes, padded keys and EXPLAIN.
    let padded = e
        .rows("SELECT DISTINCT Warehouse FROM gi.InventoryOnHand")
        .await;
    assert!(
        padded.iter().any(|w| w.contains("MAIN      ")),
        "{padded:?}"
    );
    let open = e
        .query("SELECT OrderNbr FROM dac.SOOrder WHERE Status = 'N' LIMIT 3")
        .await;
    assert_eq!(count(&open), 3);
    let plan = e
        .rows("EXPLAIN SELECT InventoryCD FROM dac.InventoryItem WHERE StkItem AND BasePrice > 100")
        .await
        .join("\n");
    assert!(
        plan.contains("GET /t/Company/api/odata/dac/InventoryItem?$filter="),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_by_limit_on_an_inquiry_is_sorted_and_cut_by_the_server() {
    let e = env().await;
    for q in [
        "SELECT InventoryID, Warehouse, QtyOnHand FROM gi.InventoryOnHand ORDER BY QtyOnHand DESC LIMIT 5",
        "SELECT OrderNbr, LineNbr, Amount FROM gi.OpenSalesOrderLines WHERE Quantity > 10 ORDER BY Amount LIMIT 7",
        "SELECT OrderDate FROM dac.SOOrder ORDER BY OrderDate DESC NULLS LAST LIMIT 3",
    ] {
        e.sim.clear_request_log();
        let pushed = e.query(q).await;
        let urls = odata_requests(&e);
        assert!(
            urls.iter().any(|u| u.contains("$orderby=")),
            "{q}: {urls:?}"
        );
        let rows: usize = e
            .sim
            .request_log()
            .iter()
            .filter(|r| r.url.contains("/api/odata/") && !r.url.contains("$metadata"))
            .map(|r| r.url.matches("$top=").count())
            .sum();
        assert!(rows >= 1, "{q}");
        assert!(
            urls.iter().all(|u| !u.contains("$top=1000")),
            "{q}: the limit went out as $top: {urls:?}"
        );
        e.catalog.set_pushdown(false);
        let local = e.query(q).await;
        e.catalog.set_pushdown(true);
        let fmt = |b: &[datafusion::arrow::array::RecordBatch]| {
            datafusion::arrow::util::pretty::pretty_format_batches(b)
                .unwrap()
                .to_string()
        };
        assert_eq!(fmt(&pushed), fmt(&local), "{q}");
    }
    let plan = e
        .rows("EXPLAIN SELECT QtyOnHand FROM gi.InventoryOnHand ORDER BY QtyOnHand DESC LIMIT 5")
        .await
        .join("\n");
    assert!(
        plan.contains("$orderby=QtyOnHand%20desc") && plan.contains("$top=5"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_metadata_is_read_only_when_a_query_or_a_listing_needs_it() {
    let e = env().await;
    let metadata = |e: &crate::support::Env| {
        e.sim
            .request_log()
            .into_iter()
            .filter(|r| r.url.contains("$metadata"))
            .count()
    };
    assert_eq!(metadata(&e), 0, "registering reads no $metadata");
    e.query("SELECT COUNT(*) FROM Customer").await;
    assert_eq!(
        metadata(&e),
        0,
        "a query on rest.Customer reads no $metadata"
    );
    assert_eq!(
        count(&e.query("SELECT * FROM gi.CustomerBalance LIMIT 1").await),
        1
    );
    assert_eq!(metadata(&e), 1, "the gi feed, once");
    let listed = e
        .rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'dac' AND table_name = 'SOLine'")
        .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(metadata(&e), 2, "the dac feed, for the listing");
    e.query("SELECT COUNT(*) FROM dac.SOLine").await;
    assert_eq!(metadata(&e), 2);
}
