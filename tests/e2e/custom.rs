//! Custom fields as columns: discovered from `$adHocSchema` when a table is first used,
//! fetched with `$custom` only when projected, filtered on the server with `cf.<Type>(…)`, and
//! the same rows with pushdown on or off.

use acumatica_datafusion::AcumaticaOptions;
use acumatica_sim::SimConfig;

use crate::support::{Env, count, env_full};

async fn env() -> Env {
    env_full(
        SimConfig::default(),
        "IncludeCustomFields=true",
        AcumaticaOptions::default(),
    )
    .await
}

#[tokio::test]
async fn custom_fields_are_columns_fetched_only_when_projected() {
    let e = env().await;
    let cols = e
        .rows(
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_name = 'SalesOrder' AND column_name LIKE 'cf_%'",
        )
        .await
        .join("\n");
    for (name, data_type) in [
        ("cf_Document_AttributePRODUCT", "Utf8"),
        ("cf_Document_Priority", "Int32"),
        ("cf_Document_CuryPremiumFreightAmt", "Decimal128"),
        ("cf_Document_IsManualPackage", "Boolean"),
        ("cf_Document_NoteID", "Utf8"),
    ] {
        assert!(
            cols.lines()
                .any(|l| l.contains(&format!("| {name} ")) && l.contains(data_type)),
            "{name} {data_type} in\n{cols}"
        );
    }
    e.sim.clear_request_log();
    let rows = e
        .rows("SELECT OrderNbr, cf_Document_AttributePRODUCT FROM SalesOrder ORDER BY OrderNbr LIMIT 7")
        .await;
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().any(|r| r.contains("jam")), "{rows:?}");
    let urls: Vec<String> = e
        .list_requests()
        .into_iter()
        .filter(|u| !u.contains("$adHocSchema"))
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.contains("$custom=Document.AttributePRODUCT")),
        "{urls:?}"
    );
    e.sim.clear_request_log();
    e.query("SELECT OrderNbr FROM SalesOrder LIMIT 3").await;
    assert!(e.list_requests().iter().all(|u| !u.contains("$custom")));
    // The NoteID custom field is the record's id.
    let same = e
        .rows("SELECT count(*) FROM SalesOrder WHERE lower(id) <> lower(cf_Document_NoteID)")
        .await;
    assert_eq!(same, ["| 0        |"]);
    // Detail lines carry their own custom fields.
    e.sim.clear_request_log();
    let lines = e
        .query("SELECT OrderNbr, cf_Transactions_CuryUnitCost FROM SalesOrder_Details LIMIT 4")
        .await;
    assert_eq!(count(&lines), 4);
    assert!(
        e.list_requests()
            .iter()
            .all(|u| u.contains("$custom=Details/Transactions.CuryUnitCost"))
    );
}

#[tokio::test]
async fn custom_field_filters_are_pushed_and_exact() {
    let e = env().await;
    let queries = [
        "SELECT ReferenceNbr FROM SalesInvoice WHERE cf_Document_CuryBalanceWOTotal = 0",
        "SELECT ReferenceNbr FROM SalesInvoice WHERE cf_Document_DiscDate > TIMESTAMP '2024-02-01 00:00:00'",
        "SELECT OrderNbr FROM SalesOrder WHERE cf_Document_Priority = 2 AND cf_Document_IsManualPackage",
        "SELECT OrderNbr FROM SalesOrder WHERE cf_Document_AttributePRODUCT = 'Apple jam 8 oz.'",
        "SELECT OrderNbr FROM SalesOrder WHERE cf_Document_AttributePRODUCT IS NULL",
        "SELECT OrderNbr FROM SalesOrder WHERE cf_Document_AttributePRODUCT LIKE 'plum%'",
        "SELECT InventoryID FROM StockItem WHERE cf_ItemSettings_UsrRepairItemType = 'Battery'",
    ];
    for q in queries {
        e.catalog.set_pushdown(true);
        e.sim.clear_request_log();
        let pushed = e.rows(q).await;
        let urls: Vec<String> = e
            .list_requests()
            .into_iter()
            .filter(|u| !u.contains("$adHocSchema"))
            .collect();
        e.catalog.set_pushdown(false);
        let local = e.rows(q).await;
        assert_eq!(pushed, local, "{q}");
        assert!(!local.is_empty(), "{q} selects something");
        if !q.contains("LIKE") {
            assert!(urls.iter().all(|u| u.contains("cf.")), "{q}: {urls:?}");
        }
    }
    e.catalog.set_pushdown(true);
    // Case and trailing spaces: the server's comparison is a superset, re-checked locally.
    let exact = e
        .rows("SELECT OrderNbr FROM SalesOrder WHERE cf_Document_AttributePRODUCT = 'APPLE JAM 8 OZ.'")
        .await;
    let folded = e
        .rows("SELECT OrderNbr FROM SalesOrder WHERE upper(cf_Document_AttributePRODUCT) = 'APPLE JAM 8 OZ.'")
        .await;
    assert!(exact.len() < folded.len());
}

#[tokio::test]
async fn without_the_property_there_are_no_custom_columns() {
    let e = crate::support::env().await;
    let n = e
        .rows(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 'SalesOrder' AND column_name LIKE 'cf_%'",
        )
        .await;
    assert_eq!(n, ["| 0        |"]);
    assert!(
        e.sim
            .request_log()
            .iter()
            .all(|r| !r.url.contains("$adHocSchema"))
    );
}

mod property {
    use proptest::prelude::*;

    fn predicate() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            prop_oneof![
                Just("cf_Document_AttributePRODUCT = 'Apple jam 8 oz.'"),
                Just("cf_Document_AttributePRODUCT = 'apple JAM 8 oz.'"),
                Just("cf_Document_AttributePRODUCT = 'plum jam 96 oz.'"),
                Just("cf_Document_AttributePRODUCT = 'O''Brien''s blend'"),
                Just("cf_Document_AttributePRODUCT IS NULL"),
                Just("cf_Document_AttributePRODUCT IS NOT NULL"),
            ]
            .prop_map(str::to_string),
            (
                prop_oneof![Just("="), Just("<>"), Just("<"), Just(">=")],
                0_i64..3
            )
                .prop_map(|(op, v)| format!("cf_Document_Priority {op} {v}")),
            (prop_oneof![Just("="), Just(">")], 0_i64..4).prop_map(|(op, v)| format!(
                "cf_Document_CuryPremiumFreightAmt {op} {}",
                v * 125 / 10
            )),
            prop_oneof![
                Just("cf_Document_IsManualPackage"),
                Just("NOT cf_Document_IsManualPackage"),
                Just("Status = 'Open'"),
            ]
            .prop_map(str::to_string),
        ];
        leaf.prop_recursive(2, 4, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

        /// Custom-field filters: the same rows with pushdown on or off (mixed case, trailing
        /// spaces, quotes and NULLs in the attribute values).
        #[test]
        fn custom_field_pushdown_never_changes_results(where_clause in predicate()) {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async {
                let e = super::env().await;
                let sql = format!("SELECT OrderNbr, cf_Document_AttributePRODUCT FROM SalesOrder WHERE {where_clause}");
                e.catalog.set_pushdown(true);
                let pushed = e.rows(&sql).await;
                e.catalog.set_pushdown(false);
                let local = e.rows(&sql).await;
                prop_assert_eq!(pushed, local, "{}", sql);
                Ok(())
            })?;
        }
    }
}
