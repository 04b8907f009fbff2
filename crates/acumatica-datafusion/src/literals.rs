//! Literals that cannot become the type of the column they are compared with are refused while
//! planning, with the column and the value named: `CreditLimit = 'abc'` says that `'abc'` is not
//! a number for `CreditLimit`, instead of an optimizer's cast error about `Decimal128(38, 10)`.
//!
//! The check runs as an [`AnalyzerRule`] after DataFusion's type coercion, which is where a
//! string literal next to a decimal or timestamp column gets its `CAST`. It changes nothing in
//! the plan.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::expr::{Between, Cast, InList};
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// The rule's name, which DataFusion puts before its errors.
pub const RULE_NAME: &str = "acumatica_literal_check";

/// The analyzer rule; add it with `SessionContext::add_analyzer_rule` (`register` does).
#[derive(Debug, Default)]
pub struct LiteralCheck;

impl AnalyzerRule for LiteralCheck {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.apply_with_subqueries(|node| {
            node.apply_expressions(|e| {
                e.apply(|e| {
                    check(e)?;
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })?;
        Ok(plan)
    }

    fn name(&self) -> &str {
        RULE_NAME
    }
}

/// Checks the literals one expression compares with a column.
fn check(e: &Expr) -> Result<()> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let text = || format!("{} {op} {}", shown(left), shown(right));
            if let Some(col) = column_name(left) {
                literal_fits(right, &col, text)?;
            }
            if let Some(col) = column_name(right) {
                literal_fits(left, &col, text)?;
            }
            Ok(())
        }
        Expr::Between(Between {
            expr, low, high, ..
        }) => match column_name(expr) {
            Some(col) => {
                let text = || format!("{} BETWEEN {} AND {}", shown(expr), shown(low), shown(high));
                literal_fits(low, &col, text)?;
                literal_fits(high, &col, text)
            }
            None => Ok(()),
        },
        Expr::InList(InList { expr, list, .. }) => match column_name(expr) {
            Some(col) => list.iter().try_for_each(|item| {
                literal_fits(item, &col, || {
                    format!("{} IN (… {} …)", shown(expr), shown(item))
                })
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The column an operand reads, through the casts type coercion adds.
fn column_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Column(c) => Some(c.name.clone()),
        Expr::Cast(Cast { expr, .. })
        | Expr::TryCast(datafusion::logical_expr::TryCast { expr, .. }) => column_name(expr),
        _ => None,
    }
}

/// `CAST('abc' AS Decimal128(…))` next to `column`: refused with both named when the cast fails.
fn literal_fits(operand: &Expr, column: &str, comparison: impl Fn() -> String) -> Result<()> {
    let Expr::Cast(Cast { expr, field }) = operand else {
        return Ok(());
    };
    let Expr::Literal(value, _) = expr.as_ref() else {
        return Ok(());
    };
    // Text literals only (DataFusion's `try_as_str` covers every string type).
    let Some(Some(text)) = value.try_as_str() else {
        return Ok(());
    };
    if value.cast_to(field.data_type()).is_ok() {
        return Ok(());
    }
    Err(DataFusionError::Plan(format!(
        "{}: '{text}' is not {} ({column} is {})",
        comparison(),
        kind(field.data_type()),
        field.data_type()
    )))
}

fn shown(e: &Expr) -> String {
    match e {
        Expr::Cast(Cast { expr, .. }) => shown(expr),
        Expr::Column(c) => c.name.clone(),
        Expr::Literal(v, _) => match v.try_as_str() {
            Some(Some(text)) => format!("'{}'", text.replace('\'', "''")),
            _ => v.to_string(),
        },
        other => other.to_string(),
    }
}

/// What a value of the type is, for people.
fn kind(t: &DataType) -> &'static str {
    match t {
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64 => "a number",
        t if t.is_integer() => "a whole number",
        DataType::Timestamp(..) => "a date and time (e.g. '2024-05-01' or '2024-05-01T13:45:00Z')",
        DataType::Date32 | DataType::Date64 => "a date (e.g. '2024-05-01')",
        DataType::Boolean => "a boolean (true or false)",
        _ => "a value of that type",
    }
}
