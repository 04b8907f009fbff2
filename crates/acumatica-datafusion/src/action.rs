//! Acumatica actions as procedures:
//! `CALL SalesOrder.ReopenSalesOrder(OrderType => 'SO', OrderNbr => 'SO000123')`.
//!
//! Arguments named like the entity's key columns (or `id`) say which record; the others are
//! the action's parameters. The call sends `POST <Entity>/<Action>` with `{"entity": {keys},
//! "parameters": {…}}`, follows the `202` status URL until `204`, and returns one row:
//! `entity`, `action`, `outcome`, `location`. It is planned like a query (nothing is sent
//! until the result is read) and counts as a write for the statement policy.

use std::fmt;
use std::sync::Arc;

use acumatica_client::Connection;
use acumatica_client::write::{WireValue, WriteRecord};
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::sqlparser::ast::{
    self, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart, Statement, UnaryOperator,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::table::{AcumaticaTable, ColumnSource};
use crate::write::WriteRefused;

/// A parsed `CALL <Entity>.<Action>(name => value, …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub entity: String,
    pub action: String,
    pub args: Vec<(String, WireValue)>,
}

fn bad(text: String) -> DataFusionError {
    DataFusionError::Plan(text)
}

/// `Some` when `sql` is one `CALL` statement (an error when it is malformed); `None` for any
/// other statement.
pub fn parse_call(sql: &str) -> Option<Result<Call>> {
    let first = sql.split_whitespace().next()?;
    if !first.eq_ignore_ascii_case("call") {
        return None;
    }
    Some(parse(sql))
}

const USAGE: &str = "write CALL <Entity>.<Action>(<Key> => 'value', …, <Parameter> => value)";

fn parse(sql: &str) -> Result<Call> {
    let statements =
        Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| bad(format!("{e}; {USAGE}")))?;
    let [Statement::Call(f)] = statements.as_slice() else {
        return Err(bad(format!("one CALL statement expected; {USAGE}")));
    };
    let parts: Vec<String> = f
        .name
        .0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i.value.clone()),
            _ => None,
        })
        .collect();
    let [entity, action] = parts.as_slice() else {
        return Err(bad(format!("CALL {}: {USAGE}", f.name)));
    };
    let args = match &f.args {
        FunctionArguments::List(list) => list.args.clone(),
        FunctionArguments::None => Vec::new(),
        FunctionArguments::Subquery(_) => {
            return Err(bad(format!("CALL {}: {USAGE}", f.name)));
        }
    };
    let mut named = Vec::new();
    for a in args {
        let (name, value) = match a {
            FunctionArg::Named { name, arg, .. } => (name.value, arg),
            FunctionArg::ExprNamed {
                name: ast::Expr::Identifier(name),
                arg,
                ..
            } => (name.value, arg),
            _ => {
                return Err(bad(format!(
                    "CALL {}: every argument needs a name ({USAGE})",
                    f.name
                )));
            }
        };
        let FunctionArgExpr::Expr(e) = value else {
            return Err(bad(format!("CALL {}: {name} needs a value", f.name)));
        };
        named.push((name.clone(), literal(&e).ok_or_else(|| {
            bad(format!(
                "CALL {}: {name} must be a literal (a string, number, boolean or NULL), not {e}",
                f.name
            ))
        })?));
    }
    Ok(Call {
        entity: entity.clone(),
        action: action.clone(),
        args: named,
    })
}

fn literal(e: &ast::Expr) -> Option<WireValue> {
    match e {
        ast::Expr::Value(v) => Some(match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                WireValue::Str(s.clone())
            }
            ast::Value::Number(n, _) => match n.parse::<i64>() {
                Ok(i) => WireValue::Int(i),
                Err(_) => WireValue::Number(n.clone()),
            },
            ast::Value::Boolean(b) => WireValue::Bool(*b),
            ast::Value::Null => WireValue::Null,
            _ => return None,
        }),
        ast::Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal(expr)? {
            WireValue::Int(i) => Some(WireValue::Int(-i)),
            WireValue::Number(n) => Some(WireValue::Number(format!("-{n}"))),
            _ => None,
        },
        _ => None,
    }
}

/// Plans a call: which record (keys or `id`) and which parameters. Nothing is sent until the
/// returned DataFrame is read.
pub async fn plan_call(ctx: &SessionContext, call: Call) -> Result<DataFrame> {
    let provider = ctx.table_provider(call.entity.as_str()).await?;
    let Some(table) = provider.downcast_ref::<AcumaticaTable>() else {
        return Err(bad(format!(
            "CALL: {} is not an Acumatica entity",
            call.entity
        )));
    };
    let def = &table.def;
    if def.detail.is_some() || def.odata.is_some() {
        return Err(bad(format!(
            "CALL: actions belong to top-level entities; {} is not one",
            def.name
        )));
    }
    if table.connection().config().read_only {
        return Err(DataFusionError::External(Box::new(WriteRefused(format!(
            "CALL {}.{}: the connection is read-only (ReadOnly=true); nothing was sent",
            def.name, call.action
        )))));
    }
    let mut record = WriteRecord::default();
    let mut parameters = WriteRecord::default();
    for (name, value) in &call.args {
        let key = def
            .keys
            .iter()
            .map(|k| &def.columns[*k])
            .find(|c| c.name.eq_ignore_ascii_case(name));
        match (key, name.eq_ignore_ascii_case("id")) {
            (_, true) => record.id = Some(text(value)),
            (Some(c), _) => {
                if let ColumnSource::Field(f) = &c.source {
                    record.field(f, value.clone());
                }
            }
            (None, _) => parameters.field(name, value.clone()),
        }
    }
    if record.id.is_none() && record.fields.len() < def.keys.len() {
        let keys: Vec<&str> = def
            .keys
            .iter()
            .map(|k| def.columns[*k].name.as_str())
            .collect();
        return Err(bad(format!(
            "CALL {}.{}: say which record with {} (or id)",
            def.name,
            call.action,
            keys.join(", ")
        )));
    }
    let action = ActionTable {
        conn: table.connection().clone(),
        entity: def.resource.clone(),
        action: call.action,
        record,
        parameters,
    };
    ctx.read_table(Arc::new(action))
}

fn text(v: &WireValue) -> String {
    match v {
        WireValue::Null => String::new(),
        WireValue::Bool(b) => b.to_string(),
        WireValue::Int(i) => i.to_string(),
        WireValue::Number(s) | WireValue::Str(s) => s.clone(),
    }
}

fn outcome_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("entity", DataType::Utf8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("outcome", DataType::Utf8, false),
        Field::new("location", DataType::Utf8, true),
    ]))
}

/// The one-row result of an action, as a table.
#[derive(Debug, Clone)]
struct ActionTable {
    conn: Connection,
    entity: String,
    action: String,
    record: WriteRecord,
    parameters: WriteRecord,
}

#[async_trait]
impl TableProvider for ActionTable {
    fn schema(&self) -> SchemaRef {
        outcome_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection.cloned().unwrap_or_else(|| (0..4).collect());
        let schema = Arc::new(outcome_schema().project(&projection)?);
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(ActionExec {
            call: self.clone(),
            projection,
            schema,
            props,
        }))
    }
}

/// Invokes the action when executed.
#[derive(Debug)]
pub struct ActionExec {
    call: ActionTable,
    projection: Vec<usize>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
}

impl DisplayAs for ActionExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ActionExec: POST {}{}/{} {{\"entity\":{},\"parameters\":{}}}, then its status URL until 204",
            self.call.conn.endpoint_url().path(),
            self.call.entity,
            self.call.action,
            self.call.record.to_json(),
            self.call.parameters.to_json()
        )
    }
}

impl ExecutionPlan for ActionExec {
    fn name(&self) -> &str {
        "ActionExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let call = self.call.clone();
        let (projection, schema) = (self.projection.clone(), self.schema.clone());
        let fut = async move {
            let outcome = call
                .conn
                .invoke_action(&call.entity, &call.action, &call.record, &call.parameters)
                .await
                .map_err(|e| {
                    DataFusionError::External(Box::new(ActionFailed {
                        entity: call.entity.clone(),
                        action: call.action.clone(),
                        source: e,
                    }))
                })?;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec![call.entity.clone()])),
                Arc::new(StringArray::from(vec![call.action.clone()])),
                Arc::new(StringArray::from(vec!["completed"])),
                Arc::new(StringArray::from(vec![outcome.location])),
            ];
            let batch = RecordBatch::try_new(outcome_schema(), columns)?;
            Ok(batch.project(&projection)?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::once(fut),
        )))
    }
}

/// An action Acumatica refused or that did not complete.
#[derive(Debug, thiserror::Error)]
#[error("{entity}.{action} failed: {source}")]
pub struct ActionFailed {
    pub entity: String,
    pub action: String,
    #[source]
    pub source: acumatica_client::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_parse_with_named_literal_arguments() {
        let c = parse_call(
            "CALL SalesOrder.ReopenSalesOrder(OrderType => 'SO', OrderNbr => 'SO000123', Qty => -2.5, Hold => true)",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.entity.as_str(), c.action.as_str()),
            ("SalesOrder", "ReopenSalesOrder")
        );
        assert_eq!(
            c.args,
            [
                ("OrderType".to_string(), WireValue::Str("SO".into())),
                ("OrderNbr".to_string(), WireValue::Str("SO000123".into())),
                ("Qty".to_string(), WireValue::Number("-2.5".into())),
                ("Hold".to_string(), WireValue::Bool(true)),
            ]
        );
        assert!(parse_call("SELECT 1").is_none());
        for bad in [
            "CALL Release('SO')",
            "CALL SalesOrder.Release('SO')",
            "CALL SalesOrder.Release(OrderNbr => lower('x'))",
        ] {
            assert!(parse_call(bad).unwrap().is_err(), "{bad}");
        }
    }
}
