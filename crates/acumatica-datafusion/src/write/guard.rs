//! Refuses `UPDATE`/`DELETE` whose `WHERE` reads other tables or subqueries.
//!
//! DataFusion hands a table provider only the `WHERE` conjuncts on the target table
//! (`extract_dml_filters`); a subquery that the optimizer turned into a join would be dropped,
//! and `WHERE Status = 'Active' AND CustomerID IN (SELECT …)` would change every active
//! customer. This analyzer rule sees the whole statement first and refuses such writes on
//! Acumatica tables.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, WriteOp};
use datafusion::optimizer::AnalyzerRule;

use super::refuse;
use crate::table::AcumaticaTable;

/// The analyzer rule [`crate::register`] adds to the session.
#[derive(Debug, Default)]
pub struct WriteGuard;

fn is_subquery(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Exists(_) | Expr::InSubquery(_) | Expr::ScalarSubquery(_) | Expr::SetComparison(_)
    )
}

/// What in a write's input reads beyond the target table, if anything.
fn beyond_target(
    input: &LogicalPlan,
    target: &datafusion::common::TableReference,
) -> Option<&'static str> {
    let mut found = None;
    let _ = input.apply_with_subqueries(|node| {
        let what = match node {
            LogicalPlan::TableScan(scan) if !scan.table_name.resolved_eq(target) => {
                Some("another table")
            }
            LogicalPlan::Join(_) | LogicalPlan::Subquery(_) => Some("a subquery or join"),
            LogicalPlan::Values(_) | LogicalPlan::Union(_) => Some("a subquery"),
            other => other
                .expressions()
                .iter()
                .any(|e| e.exists(|x| Ok(is_subquery(x))).unwrap_or(true))
                .then_some("a subquery"),
        };
        found = what;
        Ok(if what.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

impl AnalyzerRule for WriteGuard {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let mut refused = None;
        plan.apply(|node| {
            if let LogicalPlan::Dml(dml) = node
                && matches!(dml.op, WriteOp::Update | WriteOp::Delete)
                && source_as_provider(&dml.target).is_ok_and(|p| p.is::<AcumaticaTable>())
                && let Some(what) = beyond_target(&dml.input, &dml.table_name)
            {
                refused = Some(format!(
                    "{} on {}: the WHERE reads {what}; Acumatica writes take conditions on the table's own columns only (select the keys first, then write them out)",
                    dml.op, dml.table_name
                ));
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        match refused {
            Some(text) => refuse(text),
            None => Ok(plan),
        }
    }

    fn name(&self) -> &str {
        "acumatica_write_guard"
    }
}
