//! Property: random sequences of INSERT, UPDATE and DELETE applied through acusql and to an
//! in-memory model leave the same table, and every statement reports the model's count.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::{Env, env};

#[derive(Debug, Clone)]
enum Op {
    Insert { key: u8, name: u8 },
    Rename { key: u8, name: u8 },
    RenameAll { name: u8 },
    Delete { key: u8 },
    DeleteNamed { name: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..5u8, 0..3u8).prop_map(|(key, name)| Op::Insert { key, name }),
        2 => (0..5u8, 0..3u8).prop_map(|(key, name)| Op::Rename { key, name }),
        1 => (0..3u8).prop_map(|name| Op::RenameAll { name }),
        2 => (0..5u8).prop_map(|key| Op::Delete { key }),
        1 => (0..3u8).prop_map(|name| Op::DeleteNamed { name }),
    ]
}

/// Runs a write; its count, or the error text.
async fn run(e: &Env, sql: &str) -> Result<u64, String> {
    let batches = e
        .ctx
        .sql(sql)
        .await
        .map_err(|x| x.to_string())?
        .collect()
        .await
        .map_err(|x| x.to_string())?;
    let counts = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::UInt64Array>()
        .expect("count");
    Ok(counts.value(0))
}

async fn table(e: &Env, prefix: &str) -> BTreeMap<String, String> {
    let batches = e
        .query(&format!(
            "SELECT CustomerID, CustomerName FROM Customer WHERE CustomerID LIKE '{prefix}%'"
        ))
        .await;
    let mut out = BTreeMap::new();
    for b in &batches {
        let text = |i: usize| {
            datafusion::arrow::compute::cast(
                b.column(i),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .expect("cast")
        };
        let (ids, names) = (text(0), text(1));
        let ids = ids
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .expect("ids");
        let names = names
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .expect("names");
        for r in 0..b.num_rows() {
            out.insert(ids.value(r).to_string(), names.value(r).to_string());
        }
    }
    out
}

/// Applies `ops` to acusql and to the model, comparing counts, then the final tables.
async fn check(e: &Env, prefix: &str, ops: &[Op]) {
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    for op in ops {
        let (sql, expected): (String, Option<u64>) = match op {
            Op::Insert { key, name } => {
                let key = format!("{prefix}{key}");
                let sql = format!(
                    "INSERT INTO Customer (CustomerID, CustomerName) VALUES ('{key}', 'N{name}')"
                );
                match model.entry(key) {
                    Entry::Occupied(_) => (sql, None),
                    Entry::Vacant(slot) => {
                        slot.insert(format!("N{name}"));
                        (sql, Some(1))
                    }
                }
            }
            Op::Rename { key, name } => {
                let key = format!("{prefix}{key}");
                let n = match model.get_mut(&key) {
                    Some(v) => {
                        *v = format!("N{name}");
                        1
                    }
                    None => 0,
                };
                (
                    format!(
                        "UPDATE Customer SET CustomerName = 'N{name}' WHERE CustomerID = '{key}'"
                    ),
                    Some(n),
                )
            }
            Op::RenameAll { name } => {
                for v in model.values_mut() {
                    *v = format!("N{name}");
                }
                (
                    format!(
                        "UPDATE Customer SET CustomerName = 'N{name}' WHERE CustomerID LIKE '{prefix}%'"
                    ),
                    Some(model.len() as u64),
                )
            }
            Op::Delete { key } => {
                let key = format!("{prefix}{key}");
                let n = u64::from(model.remove(&key).is_some());
                (
                    format!("DELETE FROM Customer WHERE CustomerID = '{key}'"),
                    Some(n),
                )
            }
            Op::DeleteNamed { name } => {
                let before = model.len();
                model.retain(|_, v| *v != format!("N{name}"));
                (
                    format!(
                        "DELETE FROM Customer WHERE CustomerID LIKE '{prefix}%' AND CustomerName = 'N{name}'"
                    ),
                    Some((before - model.len()) as u64),
                )
            }
        };
        let got = run(e, &sql).await;
        match expected {
            Some(n) => assert_eq!(got, Ok(n), "{sql}"),
            None => assert!(
                got.as_ref().is_err_and(|t| t.contains("already exists")),
                "{sql}: {got:?}"
            ),
        }
    }
    assert_eq!(table(e, prefix).await, model, "after {ops:?}");
}

#[test]
fn random_writes_leave_the_same_table_as_a_model() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let e = rt.block_on(env());
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..8), |ops| {
        // Each case works on keys of its own: PT<case>X<key>.
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("PT{n:03}X");
        rt.block_on(check(&e, &prefix, &ops));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
