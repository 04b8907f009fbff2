//! Running a write statement: [`AcumaticaWriteExec`] turns the resolved rows into one request
//! per record ([`Request`]: a `PUT` or a `DELETE`), sends them one at a time, never retried,
//! and stops at the first one Acumatica refuses, saying how much was applied ([`WriteFailed`]).

use std::fmt;
use std::sync::Arc;

use acumatica_client::Connection;
use acumatica_client::write::{PutMode, WireValue, WriteRecord};
use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties,
};
use futures::StreamExt;

use super::record::{place, wire_value};

use super::record::column_of;
use super::{Statement, WriteFailed, refuse};
use crate::table::{AcumaticaTable, ColumnSource, TableDef};

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
    pub(super) fn new(
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
