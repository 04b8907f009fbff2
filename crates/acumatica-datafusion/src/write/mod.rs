//! `INSERT`, `UPDATE` and `DELETE` on Acumatica tables, over the contract-based REST API.
//!
//! - `INSERT INTO Customer …`: one `PUT Customer` per row with `If-None-Match: *` (an
//!   existing key is an error, never a silent update). `INSERT INTO SalesOrder_Details …`: one
//!   `PUT SalesOrder` per order with `If-Match: *` and its new lines.
//! - `UPDATE`/`DELETE … WHERE …`: the `WHERE` is resolved by the table's own scan (the same
//!   `$filter` pushdown as a query, fetching keys and ids only, re-checked locally), then one
//!   `PUT` per record (its keys, `If-Match: *`, only the assigned fields) or one `DELETE
//!   <Entity>/<id>`. Lines of a detail table are changed through their parent: by line `id`,
//!   `"delete": true` to remove one.
//!
//! Every row is resolved before the first request, requests go one at a time and are never
//! retried, and the statement stops at the first record Acumatica refuses. Acumatica has no
//! transactions across requests: what was applied before stays applied, and the error
//! ([`WriteFailed`]) says how much that was.

mod exec;
mod guard;
mod record;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, plan_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;

pub use exec::AcumaticaWriteExec;
pub use guard::WriteGuard;
pub use record::column_of;

use crate::table::{AcumaticaTable, ColumnSource, TableDef};

/// The kind of a write statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statement {
    Insert,
    Update,
    Delete,
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        })
    }
}

/// A write statement that stopped at a record Acumatica refused (or that could not be sent).
#[derive(Debug, thiserror::Error)]
#[error(
    "{statement} on {table} stopped at {failed}: {applied} record(s) changed before it stay changed (Acumatica has no transactions); {reason}"
)]
pub struct WriteFailed {
    pub statement: Statement,
    pub table: String,
    /// Records changed before the failure (lines, for a detail table).
    pub applied: u64,
    /// Which record failed: its position and keys.
    pub failed: String,
    /// Acumatica's field errors, by column name.
    pub columns: Vec<(String, String)>,
    reason: String,
    #[source]
    pub source: acumatica_client::Error,
}

/// A write statement refused before any request (read-only connection, no `WHERE`, a
/// column that cannot be written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WriteRefused(pub String);

fn refuse<T>(text: String) -> Result<T> {
    Err(DataFusionError::External(Box::new(WriteRefused(text))))
}

/// Checks that apply to every write on `table`.
fn check_writable(table: &AcumaticaTable, statement: Statement) -> Result<()> {
    let def = &table.def;
    if let Some(kind) = def.odata {
        return refuse(format!(
            "{statement} on {}: tables of the {} OData feed are read-only",
            def.name,
            kind.segment()
        ));
    }
    if table.connection().config().read_only {
        return refuse(format!(
            "{statement} on {}: the connection is read-only (ReadOnly=true); nothing was sent",
            def.name
        ));
    }
    Ok(())
}

fn check_where(table: &AcumaticaTable, statement: Statement, filters: &[Expr]) -> Result<()> {
    if filters.is_empty() && !table.connection().config().allow_writes_without_where {
        return refuse(format!(
            "{statement} without WHERE would change every record of {}; add a WHERE (or set AllowWritesWithoutWhere=true on the connection)",
            table.def.name
        ));
    }
    Ok(())
}

/// `INSERT INTO <table> …`.
pub async fn insert(
    table: &AcumaticaTable,
    input: Arc<dyn ExecutionPlan>,
    op: InsertOp,
) -> Result<Arc<dyn ExecutionPlan>> {
    check_writable(table, Statement::Insert)?;
    if op != InsertOp::Append {
        return refuse(format!(
            "{op} into {} is not supported: Acumatica tables take INSERT INTO (new records) and UPDATE",
            table.def.name
        ));
    }
    let columns = input_columns(&table.def, &input.schema())?;
    Ok(Arc::new(AcumaticaWriteExec::new(
        Statement::Insert,
        table,
        input,
        columns,
        Vec::new(),
    )))
}

/// `UPDATE <table> SET … WHERE …`.
pub async fn update(
    table: &AcumaticaTable,
    state: &dyn Session,
    assignments: Vec<(String, Expr)>,
    filters: Vec<Expr>,
) -> Result<Arc<dyn ExecutionPlan>> {
    check_writable(table, Statement::Update)?;
    check_where(table, Statement::Update, &filters)?;
    let def = &table.def;
    let mut targets = Vec::new();
    let mut referenced: Vec<usize> = Vec::new();
    for (name, expr) in &assignments {
        let Some(i) = def.columns.iter().position(|c| c.name == *name) else {
            return plan_err!("UPDATE on {}: no column {name}", def.name);
        };
        let c = &def.columns[i];
        let why = match &c.source {
            ColumnSource::Id => Some("the record's id is given by Acumatica".to_string()),
            ColumnSource::ParentId | ColumnSource::ParentField(_) => Some(format!(
                "it belongs to the parent {} record, not to the line",
                def.resource
            )),
            _ if def.detail.is_none() && def.keys.contains(&i) => Some(format!(
                "it is a key of {}: Acumatica finds the record by it",
                def.name
            )),
            _ => None,
        };
        if let Some(why) = why {
            return refuse(format!(
                "UPDATE on {}: {name} cannot be set ({why})",
                def.name
            ));
        }
        referenced.extend(column_indices(def, expr));
        targets.push((i, expr.clone()));
    }
    let (resolved, schema) = resolve(table, state, &filters, referenced).await?;
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let assignments = targets
        .into_iter()
        .map(|(i, e)| Ok((i, state.create_physical_expr(e, &df_schema)?)))
        .collect::<Result<Vec<_>>>()?;
    let columns = input_columns(def, &schema)?;
    Ok(Arc::new(AcumaticaWriteExec::new(
        Statement::Update,
        table,
        resolved,
        columns,
        assignments,
    )))
}

/// `DELETE FROM <table> WHERE …`.
pub async fn delete(
    table: &AcumaticaTable,
    state: &dyn Session,
    filters: Vec<Expr>,
) -> Result<Arc<dyn ExecutionPlan>> {
    check_writable(table, Statement::Delete)?;
    check_where(table, Statement::Delete, &filters)?;
    let (resolved, schema) = resolve(table, state, &filters, Vec::new()).await?;
    let columns = input_columns(&table.def, &schema)?;
    Ok(Arc::new(AcumaticaWriteExec::new(
        Statement::Delete,
        table,
        resolved,
        columns,
        Vec::new(),
    )))
}

/// Indices of the table's columns an expression reads.
fn column_indices(def: &TableDef, expr: &Expr) -> Vec<usize> {
    expr.column_refs()
        .iter()
        .filter_map(|c| def.columns.iter().position(|d| d.name == c.name))
        .collect()
}

/// The records a `WHERE` selects: the table's scan of the identifying columns (id, keys) and
/// those `also` and the filters read, with the filters pushed as in a query and all of them
/// re-checked here (a pushed string comparison is case-insensitive on the server).
async fn resolve(
    table: &AcumaticaTable,
    state: &dyn Session,
    filters: &[Expr],
    also: Vec<usize>,
) -> Result<(Arc<dyn ExecutionPlan>, SchemaRef)> {
    let def = &table.def;
    let mut wanted: BTreeSet<usize> = also.into_iter().collect();
    wanted.extend(def.keys.iter().copied());
    for (i, c) in def.columns.iter().enumerate() {
        if matches!(c.source, ColumnSource::Id | ColumnSource::ParentId) {
            wanted.insert(i);
        }
    }
    for f in filters {
        wanted.extend(column_indices(def, f));
    }
    let projection: Vec<usize> = wanted.into_iter().collect();
    let scan = table.scan(state, Some(&projection), filters, None).await?;
    let schema = scan.schema();
    let Some(predicate) = conjunction(filters.iter().cloned()) else {
        return Ok((scan, schema));
    };
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let predicate = state.create_physical_expr(predicate, &df_schema)?;
    Ok((Arc::new(FilterExec::try_new(predicate, scan)?), schema))
}

/// For each input column, the table column it is.
fn input_columns(def: &TableDef, schema: &Schema) -> Result<Vec<usize>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            def.columns
                .iter()
                .position(|c| c.name == *f.name())
                .ok_or_else(|| {
                    DataFusionError::Plan(format!("{} has no column {}", def.name, f.name()))
                })
        })
        .collect()
}
