//! Client catalog queries made plannable: the few shapes psql and other clients send that
//! DataFusion (or `datafusion-pg-catalog`'s own rewrites) cannot plan, changed into ones with
//! the same answer on this server.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Statement, Value, visit_expressions_mut,
};

/// Applies every rewrite to a statement.
pub(crate) fn client_catalog_query(statement: &mut Statement) {
    names_match_in_any_case(statement);
    no_storage_options(statement);
}

/// psql lower-cases unquoted names in its patterns (`\d SalesOrder` looks for
/// `relname ~ '^(salesorder)$'`), as Postgres folds unquoted identifiers. Acusql finds table
/// names in any case, so pattern matches on relation and schema names ignore case too.
fn names_match_in_any_case(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |e| {
        if let Expr::BinaryOp { left, op, .. } = e {
            let name = match left.as_ref() {
                Expr::Identifier(i) => Some(&i.value),
                Expr::CompoundIdentifier(parts) => parts.last().map(|i| &i.value),
                _ => None,
            };
            if name.is_some_and(|n| n == "relname" || n == "nspname") {
                match op {
                    BinaryOperator::PGRegexMatch => *op = BinaryOperator::PGRegexIMatch,
                    BinaryOperator::PGRegexNotMatch => *op = BinaryOperator::PGRegexNotIMatch,
                    _ => {}
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Tables here have no storage options (`pg_class` has no `reloptions`, and no table has a
/// TOAST table), so psql's `\d+` column `array_to_string(c.reloptions || array(select
/// 'toast.' || x from unnest(tc.reloptions) x), ', ')` — an `array(SELECT …)` constructor
/// DataFusion lacks — is the empty string, which psql itself sends for `\d`.
fn no_storage_options(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |e| {
        if let Expr::Function(f) = e
            && f.name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .is_some_and(|i| i.value.eq_ignore_ascii_case("array_to_string"))
            && f.args.to_string().contains("reloptions")
        {
            *e = Expr::value(Value::SingleQuotedString(String::new()));
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

    fn rewritten(sql: &str) -> String {
        let mut s = PostgresCompatibilityParser::new().parse(sql).unwrap();
        client_catalog_query(&mut s[0]);
        s[0].to_string()
    }

    #[test]
    fn psql_patterns_on_names_ignore_case() {
        let sql = rewritten(
            "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(customer)$'",
        );
        assert!(sql.contains("~*"), "{sql}");
    }

    #[test]
    fn storage_options_of_describe_plus_are_empty() {
        let sql = rewritten(
            "SELECT c.relchecks, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')\n, c.reltablespace FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid) WHERE c.oid = '16746'",
        );
        assert!(sql.contains("c.relchecks, '', c.reltablespace"), "{sql}");
        assert!(!sql.contains("array("), "{sql}");
    }
}
