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

mod guard;
mod record;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use acumatica_client::Connection;
use acumatica_client::write::{PutMode, WireValue, WriteRecord};
use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, plan_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use futures::StreamExt;

pub use guard::WriteGuard;
pub use record::column_of;
use record::{place, wire_value};

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

/// One request of a write statement.
#[derive(Debug)]
struct Request {
    /// The record, for errors: `record 3 of 5 (CustomerID=C000201)`.
    what: String,
    op: Op,
    /// Records it changes (lines, for a detail table).
    records: u64,
}

#[derive(Debug)]
enum Op {
    Put(WriteRecord, PutMode),
    Delete(String),
}

/// Writes rows to Acumatica; yields one row `count: UInt64`, the records changed.
#[derive(Debug)]
pub struct AcumaticaWriteExec {
    statement: Statement,
    conn: Connection,
    def: Arc<TableDef>,
    /// The rows to insert, or the resolved records to update or delete.
    input: Arc<dyn ExecutionPlan>,
    /// Input column → table column.
    columns: Vec<usize>,
    /// UPDATE: table column → its new value, computed from the resolved row.
    assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    props: Arc<PlanProperties>,
}

fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]))
}

impl AcumaticaWriteExec {
    fn new(
        statement: Statement,
        table: &AcumaticaTable,
        input: Arc<dyn ExecutionPlan>,
        columns: Vec<usize>,
        assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    ) -> Self {
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(count_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Self {
            statement,
            conn: table.connection().clone(),
            def: table.def.clone(),
            input,
            columns,
            assignments,
            props,
        }
    }

    pub fn statement(&self) -> Statement {
        self.statement
    }

    /// The requests the statement sends, as EXPLAIN shows them.
    pub fn requests(&self) -> String {
        let def = &self.def;
        let base = self.conn.endpoint_url().path();
        let put = |mode: PutMode| {
            let (h, v) = mode.header();
            format!("PUT {base}{} ({h}: {v})", def.resource)
        };
        let assigned: Vec<&str> = self
            .assignments
            .iter()
            .map(|(i, _)| def.columns[*i].name.as_str())
            .collect();
        match (self.statement, &def.detail) {
            (Statement::Insert, None) => format!("{} per row", put(PutMode::Insert)),
            (Statement::Insert, Some(d)) => format!(
                "{} per {} with its new {d} lines",
                put(PutMode::Update),
                def.resource
            ),
            (Statement::Update, None) => format!(
                "{} per record: {} + {}",
                put(PutMode::Update),
                identity_text(def),
                assigned.join(", ")
            ),
            (Statement::Update, Some(d)) => format!(
                "{} per {}: {d} lines by id + {}",
                put(PutMode::Update),
                def.resource,
                assigned.join(", ")
            ),
            (Statement::Delete, None) => format!("DELETE {base}{}/<id> per record", def.resource),
            (Statement::Delete, Some(d)) => format!(
                "{} per {}: {d} lines by id with \"delete\": true",
                put(PutMode::Update),
                def.resource
            ),
        }
    }
}

/// How a top-level record is identified in an update: its keys, else its id.
fn identity_text(def: &TableDef) -> String {
    if def.keys.is_empty() {
        "id".into()
    } else {
        def.keys
            .iter()
            .map(|k| def.columns[*k].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl DisplayAs for AcumaticaWriteExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match t {
            DisplayFormatType::TreeRender => write!(f, "requests={}", self.requests()),
            _ => write!(
                f,
                "AcumaticaWriteExec: {} {}: {}",
                self.statement,
                self.def.name,
                self.requests()
            ),
        }
    }
}

impl ExecutionPlan for AcumaticaWriteExec {
    fn name(&self) -> &str {
        "AcumaticaWriteExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for (_, e) in &self.assignments {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|_| {
            DataFusionError::Internal("AcumaticaWriteExec has exactly one input".into())
        })?;
        Ok(Arc::new(Self {
            statement: self.statement,
            conn: self.conn.clone(),
            def: self.def.clone(),
            input,
            columns: self.columns.clone(),
            assignments: self.assignments.clone(),
            props: self.props.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "AcumaticaWriteExec has one partition, not {partition}"
            )));
        }
        let input = self.input.clone();
        let writer = Writer {
            statement: self.statement,
            conn: self.conn.clone(),
            def: self.def.clone(),
            columns: self.columns.clone(),
            assignments: self.assignments.clone(),
        };
        let fut = async move {
            // Every row is read (and every WHERE resolved) before the first request: writing
            // while paging would shift `$skip` pages under the scan.
            let mut batches = Vec::new();
            for p in 0..input.output_partitioning().partition_count() {
                let mut stream = input.execute(p, context.clone())?;
                while let Some(b) = stream.next().await {
                    batches.push(b?);
                }
            }
            let requests = writer.requests(&batches)?;
            let changed = writer.send(requests).await?;
            RecordBatch::try_new(
                count_schema(),
                vec![Arc::new(UInt64Array::from(vec![changed])) as ArrayRef],
            )
            .map_err(DataFusionError::from)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            count_schema(),
            futures::stream::once(fut),
        )))
    }
}

/// What `execute` needs of the plan node.
struct Writer {
    statement: Statement,
    conn: Connection,
    def: Arc<TableDef>,
    columns: Vec<usize>,
    assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
}

/// One resolved row: its values by table column.
struct Row {
    values: Vec<(usize, WireValue)>,
    assigned: Vec<(usize, WireValue)>,
}

impl Row {
    fn get(&self, column: usize) -> &WireValue {
        self.values
            .iter()
            .find(|(c, _)| *c == column)
            .map_or(&WireValue::Null, |(_, v)| v)
    }
}

fn text(v: &WireValue) -> String {
    match v {
        WireValue::Null => "NULL".into(),
        WireValue::Bool(b) => b.to_string(),
        WireValue::Int(i) => i.to_string(),
        WireValue::Number(n) | WireValue::Str(n) => n.clone(),
    }
}

impl Writer {
    fn rows(&self, batches: &[RecordBatch]) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        for batch in batches {
            let assigned: Vec<(usize, ArrayRef)> = self
                .assignments
                .iter()
                .map(|(c, e)| Ok((*c, e.evaluate(batch)?.into_array(batch.num_rows())?)))
                .collect::<Result<_>>()?;
            for r in 0..batch.num_rows() {
                rows.push(Row {
                    values: self
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| Ok((*c, wire_value(batch.column(i), r)?)))
                        .collect::<Result<_>>()?,
                    assigned: assigned
                        .iter()
                        .map(|(c, a)| Ok((*c, wire_value(a, r)?)))
                        .collect::<Result<_>>()?,
                });
            }
        }
        Ok(rows)
    }

    /// `CustomerID=C000201`: the row's key values (or its id).
    fn describe(&self, row: &Row, columns: &[usize]) -> String {
        let def = &self.def;
        let shown: Vec<String> = columns
            .iter()
            .filter(|c| *row.get(**c) != WireValue::Null)
            .map(|c| format!("{}={}", def.columns[*c].name, text(row.get(*c))))
            .collect();
        shown.join(", ")
    }

    fn id_column(&self, parent: bool) -> Option<usize> {
        self.def.columns.iter().position(|c| {
            c.source
                == if parent {
                    ColumnSource::ParentId
                } else {
                    ColumnSource::Id
                }
        })
    }

    /// The parent of a detail row, as the body of its `PUT`: its keys (or id).
    fn parent_of(&self, row: &Row) -> Result<(WriteRecord, Vec<WireValue>)> {
        let def = &self.def;
        let mut parent = WriteRecord::default();
        let mut identity = Vec::new();
        let mut missing = Vec::new();
        for k in def.keys.iter().copied().chain(self.id_column(true)) {
            let v = row.get(k).clone();
            let c = &def.columns[k];
            if v == WireValue::Null {
                missing.push(c.name.clone());
                continue;
            }
            match &c.source {
                ColumnSource::ParentField(f) => parent.field(f, v.clone()),
                _ => parent.id = Some(text(&v)),
            }
            identity.push(v);
        }
        if !missing.is_empty() {
            return refuse(format!(
                "{} on {}: every row needs {} (the {} its line belongs to)",
                self.statement,
                def.name,
                missing.join(" and "),
                def.resource
            ));
        }
        Ok((parent, identity))
    }

    fn requests(&self, batches: &[RecordBatch]) -> Result<Vec<Request>> {
        let def = &self.def;
        let rows = self.rows(batches)?;
        let total = rows.len();
        let id = self.id_column(false);
        let mut out: Vec<Request> = Vec::new();
        let Some(detail) = &def.detail else {
            for (n, row) in rows.iter().enumerate() {
                let shown = match self.statement {
                    Statement::Insert => self.describe(row, &def.keys),
                    _ if def.keys.is_empty() => {
                        self.describe(row, &id.into_iter().collect::<Vec<_>>())
                    }
                    _ => self.describe(row, &def.keys),
                };
                let what = if shown.is_empty() {
                    format!("record {} of {total}", n + 1)
                } else {
                    format!("record {} of {total} ({shown})", n + 1)
                };
                let id_value = id.map(|i| row.get(i).clone()).unwrap_or(WireValue::Null);
                let op = match self.statement {
                    Statement::Insert => {
                        let mut rec = WriteRecord::default();
                        for (c, v) in &row.values {
                            if *v != WireValue::Null {
                                place(&mut rec, &def.columns[*c], v.clone());
                            }
                        }
                        Op::Put(rec, PutMode::Insert)
                    }
                    Statement::Update => {
                        let mut rec = WriteRecord::default();
                        if def.keys.is_empty() {
                            rec.id = Some(text(&id_value));
                        }
                        for k in &def.keys {
                            place(&mut rec, &def.columns[*k], row.get(*k).clone());
                        }
                        for (c, v) in &row.assigned {
                            place(&mut rec, &def.columns[*c], v.clone());
                        }
                        Op::Put(rec, PutMode::Update)
                    }
                    Statement::Delete => match id_value {
                        WireValue::Str(s) => Op::Delete(s),
                        _ => {
                            return refuse(format!(
                                "DELETE on {}: {what} has no id to delete it by",
                                def.name
                            ));
                        }
                    },
                };
                out.push(Request {
                    what,
                    op,
                    records: 1,
                });
            }
            return Ok(out);
        };
        // Detail lines: one PUT of the parent per parent, with its lines, in row order.
        let mut groups: Vec<(Vec<WireValue>, WriteRecord, String, Vec<WriteRecord>)> = Vec::new();
        for row in &rows {
            let (parent, identity) = self.parent_of(row)?;
            let mut line = WriteRecord::default();
            match self.statement {
                Statement::Insert => {
                    for (c, v) in &row.values {
                        if *v != WireValue::Null {
                            place(&mut line, &def.columns[*c], v.clone());
                        }
                    }
                }
                Statement::Update | Statement::Delete => {
                    line.id = match id.map(|i| row.get(i)) {
                        Some(WireValue::Str(s)) => Some(s.clone()),
                        _ => {
                            return refuse(format!(
                                "{} on {}: a line has no id to find it by",
                                self.statement, def.name
                            ));
                        }
                    };
                    line.delete = self.statement == Statement::Delete;
                    for (c, v) in &row.assigned {
                        place(&mut line, &def.columns[*c], v.clone());
                    }
                }
            }
            match groups.iter_mut().find(|g| g.0 == identity) {
                Some(g) => g.3.push(line),
                None => {
                    let parent_keys: Vec<usize> = def
                        .keys
                        .iter()
                        .copied()
                        .chain(self.id_column(true))
                        .collect();
                    let shown = self.describe(row, &parent_keys);
                    groups.push((identity, parent, shown, vec![line]));
                }
            }
        }
        let parents = groups.len();
        for (n, (_, mut parent, shown, lines)) in groups.into_iter().enumerate() {
            let records = lines.len() as u64;
            *parent.details_mut(detail) = lines;
            out.push(Request {
                what: format!(
                    "{} {} of {parents} ({shown}, {records} line(s))",
                    def.resource,
                    n + 1
                ),
                op: Op::Put(parent, PutMode::Update),
                records,
            });
        }
        Ok(out)
    }

    /// Sends the requests one after the other; stops at the first failure.
    async fn send(&self, requests: Vec<Request>) -> Result<u64> {
        let mut applied = 0;
        for r in requests {
            let sent = match &r.op {
                Op::Put(rec, mode) => self
                    .conn
                    .put(&self.def.resource, rec, *mode)
                    .await
                    .map(drop),
                Op::Delete(id) => self.conn.delete_by_id(&self.def.resource, id).await,
            };
            if let Err(source) = sent {
                return Err(DataFusionError::External(Box::new(
                    self.failed(applied, r.what, source),
                )));
            }
            applied += r.records;
        }
        Ok(applied)
    }

    fn failed(&self, applied: u64, failed: String, source: acumatica_client::Error) -> WriteFailed {
        let columns: Vec<(String, String)> = match &source {
            acumatica_client::Error::Invalid { fields, .. } => fields
                .iter()
                .map(|f| (column_of(&self.def, f), f.message.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let reason = match &source {
            _ if !columns.is_empty() => format!(
                "Acumatica refused it: {}",
                columns
                    .iter()
                    .map(|(c, m)| format!("{c}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            acumatica_client::Error::Transport { .. } => format!(
                "{source}; whether that record was written is unknown: check it before running the statement again"
            ),
            _ => source.to_string(),
        };
        WriteFailed {
            statement: self.statement,
            table: self.def.name.clone(),
            applied,
            failed,
            columns,
            reason,
            source,
        }
    }
}
