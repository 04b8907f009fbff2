//! What is sent to Acumatica, and that results never depend on it.

use proptest::prelude::*;

use acumatica_datafusion::AcumaticaOptions;

use crate::support::{count, env, env_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_select_and_top_are_sent() {
    let e = env().await;
    e.sim.clear_request_log();
    let rows = e
        .query("SELECT OrderNbr FROM SalesOrder WHERE OrderTotal > 100 AND Hold = false LIMIT 3")
        .await;
    assert_eq!(count(&rows), 3);
    let reqs = e.list_requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let url = &reqs[0];
    assert!(
        url.contains("$filter=(OrderTotal gt 100.00000000M) and (Hold eq false)"),
        "{url}"
    );
    assert!(url.contains("$select=OrderNbr"), "{url}");
    assert!(url.contains("$top=3"), "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_filters_narrow_on_the_server_and_recheck_locally() {
    let e = env().await;
    e.sim.clear_request_log();
    // The server compares case-insensitively: it returns the row, DataFusion drops it.
    let rows = e
        .query("SELECT CustomerID FROM Customer WHERE CustomerID = 'c000001' LIMIT 5")
        .await;
    assert_eq!(count(&rows), 0);
    let url = &e.list_requests()[0];
    assert!(url.contains("$filter=CustomerID eq 'c000001'"), "{url}");
    assert!(
        !url.contains("$top=5"),
        "LIMIT is not sent with an inexact filter: {url}"
    );
    let rows = e
        .query("SELECT CustomerID FROM Customer WHERE CustomerID = 'C000001'")
        .await;
    assert_eq!(count(&rows), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_satisfied_limit_stops_fetching() {
    let e = env().await;
    e.sim.clear_request_log();
    let rows = e.query("SELECT * FROM SalesOrder_Details LIMIT 5").await;
    assert_eq!(count(&rows), 5);
    let reqs = e.list_requests();
    assert!(reqs.len() <= 4, "at most one page per partition: {reqs:?}");
    assert!(
        reqs.iter().all(|u| u.contains("$expand=Details")),
        "{reqs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detail_predicates_stay_local_and_parent_ones_are_sent() {
    let e = env().await;
    e.sim.clear_request_log();
    let rows = e
        .query("SELECT OrderNbr, InventoryID FROM SalesOrder_Details WHERE OrderNbr = 'SO000002' AND InventoryID <> 'NONE'")
        .await;
    assert!(count(&rows) > 0);
    let url = &e.list_requests()[0];
    assert!(url.contains("$filter=OrderNbr eq 'SO000002'"), "{url}");
    assert!(!url.contains("InventoryID ne"), "{url}");
}

fn predicate() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            prop_oneof![Just("="), Just("<>"), Just("<"), Just(">="),],
            0_i64..60_000
        )
            .prop_map(|(op, v)| format!("CreditLimit {op} {v}")),
        prop_oneof![
            Just("Status = 'Active'"),
            Just("Status = 'active'"),
            Just("Status <> 'On Hold'")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("Email IS NULL"),
            Just("Email IS NOT NULL"),
            Just("Email = ''"),
            Just("Email <> ''")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("CustomerName LIKE 'Zephyr%'"),
            Just("CustomerName LIKE '%Sons%'"),
            Just("CustomerName LIKE 'o''brien%'"),
            Just("CustomerName LIKE 'Café%'"),
            Just("CustomerName LIKE '%\"%'"),
            Just("CustomerName LIKE '%  '"),
            Just("CustomerName >= 'Zephyr'"),
            Just("rtrim(CustomerName) = 'alpha omega 6'"),
            Just("upper(rtrim(CustomerName)) IN ('CAFÉ ZOË 11', 'ALPHA OMEGA 6')"),
            Just("lower(Status) = 'active'")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("ApplyOverdueCharges"),
            Just("NOT AutoApplyPayments"),
            Just("EnableWriteOffs = false")
        ]
        .prop_map(str::to_string),
        (0_u32..3).prop_map(|v| format!("WriteOffLimit = {}", [0, 30, 31][v as usize])),
        prop_oneof![
            Just("CreatedDateTime > TIMESTAMP '2024-01-01T00:00:00Z'"),
            Just("CreatedDateTime <= TIMESTAMP '2023-06-30T12:00:00Z'"),
            Just("CreatedDateTime < TIMESTAMP '2024-03-01T10:15:30.5Z'"),
            Just("LastModifiedDateTime >= TIMESTAMP '2024-06-01T00:00:00.25Z'")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("CustomerClass IN ('LOCAL', 'intl')"),
            Just("CustomerID BETWEEN 'C000010' AND 'C000050'")
        ]
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Results with pushdown equal results with pushdown off, on data with mixed case,
    /// trailing spaces, quotes, accents, NULLs beside empty strings, zero amounts and
    /// fractions of seconds.
    #[test]
    fn pushdown_never_changes_results(where_clause in predicate(), limit in prop::option::of(1_usize..20)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let e = env().await;
            let order = if limit.is_some() { " ORDER BY CustomerID" } else { "" };
            let lim = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
            let sql = format!("SELECT CustomerID, CustomerName, CreditLimit, Email, Email IS NULL, CreatedDateTime FROM Customer WHERE {where_clause}{order}{lim}");
            e.catalog.set_pushdown(true);
            let pushed = e.rows(&sql).await;
            e.catalog.set_pushdown(false);
            let local = e.rows(&sql).await;
            prop_assert_eq!(pushed, local, "{}", sql);
            Ok(())
        })?;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detail_the_list_cannot_expand_is_read_record_by_record() {
    let e = env().await;
    e.sim.clear_request_log();
    let rows = e
        .rows(
            "SELECT h.Type, h.ReferenceNbr, h.AdjustedRefNbr FROM Payment_ApplicationHistory h \
             JOIN Payment p ON p.Type = h.Type AND p.ReferenceNbr = h.ReferenceNbr \
             WHERE p.Status = 'Open'",
        )
        .await;
    assert!(!rows.is_empty());
    let log = e.sim.request_log();
    assert!(
        log.iter()
            .any(|r| r.status == 500 && r.url.contains("$expand=ApplicationHistory")),
        "the optimized list was refused"
    );
    assert!(
        log.iter().any(|r| r.status == 200
            && r.url
                .starts_with("/entity/Default/24.200.001/Payment/Payment/PMT")),
        "records were read by their keys"
    );
    // Each payment has one to three applications.
    let n = e
        .rows("SELECT COUNT(*) FROM Payment_ApplicationHistory")
        .await;
    let n: usize = n[0].trim_matches(|c| c == '|' || c == ' ').parse().unwrap();
    assert!((500..=1500).contains(&n), "{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_entities_are_prefixed_columns_with_pushdown() {
    let e = env().await;
    e.sim.clear_request_log();
    let rows = e
        .rows(
            "SELECT OrderNbr, ShipToContact_Email, ShipToAddress_City FROM SalesOrder \
             WHERE ShipToAddress_City = 'Seattle' AND ShipToContact_Email IS NOT NULL",
        )
        .await;
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.contains("Seattle") && r.contains("@example.com"))
    );
    let urls = e.list_requests();
    let first = &urls[0];
    assert!(first.contains("ShipToAddress/City eq 'Seattle'"), "{first}");
    assert!(
        first.contains("$expand=ShipToContact,ShipToAddress")
            || first.contains("$expand=ShipToAddress,ShipToContact"),
        "{first}"
    );
    assert!(first.contains("ShipToContact/Email"), "{first}");
    e.catalog.set_pushdown(false);
    let local = e
        .rows(
            "SELECT OrderNbr, ShipToContact_Email, ShipToAddress_City FROM SalesOrder \
             WHERE ShipToAddress_City = 'Seattle' AND ShipToContact_Email IS NOT NULL",
        )
        .await;
    assert_eq!(rows, local);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detail_lines_filter_on_the_parents_audit_time_on_the_server() {
    let e = env().await;
    let q = "SELECT OrderNbr, LineNbr FROM SalesOrder_Details WHERE LastModified > TIMESTAMP '2024-06-01 00:00:00'";
    e.sim.clear_request_log();
    let pushed = e.rows(q).await;
    let first = e.list_requests()[0].clone();
    assert!(
        first.contains("LastModified gt datetimeoffset'2024-06-01T00:00:00.000000+00:00'"),
        "{first}"
    );
    e.catalog.set_pushdown(false);
    assert_eq!(pushed, e.rows(q).await);
    assert!(!pushed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fan_out_only_when_the_table_is_bigger_than_one_page() {
    let e = env_with(AcumaticaOptions {
        page_size: 300,
        ..AcumaticaOptions::default()
    })
    .await;
    // 200 customers: one page, one request (not one per partition).
    e.sim.clear_request_log();
    assert_eq!(
        e.rows("SELECT COUNT(*) AS n FROM Customer").await,
        vec!["| 200 |".to_string()]
    );
    let reqs = e.list_requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    // 1,000 orders: four pages of 300, fetched in parallel, and at most one page per
    // partition past the end.
    e.sim.clear_request_log();
    assert_eq!(
        e.rows("SELECT COUNT(*) AS n FROM SalesOrder").await,
        vec!["| 1000 |".to_string()]
    );
    let reqs = e.list_requests();
    assert!((4..=8).contains(&reqs.len()), "{reqs:?}");
    for page in 0..4 {
        let skip = if page == 0 {
            String::new()
        } else {
            format!("$skip={}", page * 300)
        };
        assert!(
            reqs.iter().any(|u| u.contains(&skip)),
            "page {page} requested: {reqs:?}"
        );
    }
}
