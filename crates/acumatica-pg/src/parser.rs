//! Parse: SQL → statements, each either planned by DataFusion (and checked by the statement
//! policy before anything runs) or one the server answers itself ([`Command`]: transactions,
//! Postgres session settings, `SHOW`).

use std::fmt::Debug;
use std::sync::Arc;

use arrow_pg::datatypes::into_pg_type;
use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    CloseCursor, DeclareType, Expr, FetchDirection, Ident, Set, Statement, Value, ValueWithSpan,
};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::types::format::FormatOptions;

use crate::copy::{CopyOptions, CopyQuery, copy_out};
use crate::cursor::Cursors;
use crate::session::{Shared, show_field};
use crate::{encode, error, rewrite};

/// A statement after Parse: planned and checked, or answered by the server itself.
#[derive(Debug, Clone)]
pub(crate) enum PgStatement {
    Query(Box<LogicalPlan>),
    /// `COPY (query) TO STDOUT` (or `COPY table TO STDOUT`): the query's rows as COPY lines.
    CopyOut(Box<LogicalPlan>, Arc<CopyOptions>),
    /// `DECLARE name CURSOR FOR query`: the query starts, its rows wait for FETCH.
    Declare(Box<DeclareCursor>),
    Command(Command),
}

/// A `DECLARE … CURSOR`, planned and checked.
#[derive(Debug, Clone)]
pub(crate) struct DeclareCursor {
    pub(crate) name: String,
    pub(crate) plan: LogicalPlan,
    pub(crate) binary: bool,
    pub(crate) hold: bool,
}

/// Statements the server answers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Begin,
    Commit,
    Rollback,
    /// A Postgres session setting (never a DataFusion one: those are DataFusion's to refuse).
    Set {
        name: String,
        value: String,
    },
    Show(String),
    /// Accepted and without effect here (savepoints, `DISCARD`, `SET TRANSACTION`, …): the
    /// command tag to answer.
    Noop(&'static str),
    /// `FETCH`: the next `count` rows of a cursor (`None`: all that are left).
    Fetch {
        name: String,
        count: Option<u64>,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    Close(Option<String>),
}

/// The part of a connection that turns SQL into statements.
pub(crate) struct StatementParser {
    pub(crate) ctx: SessionContext,
    pub(crate) shared: Arc<Shared>,
    /// The connection's cursors (FETCH is described with its cursor's columns).
    pub(crate) cursors: Arc<Cursors>,
}

impl StatementParser {
    pub(crate) fn parse(&self, sql: &str) -> PgWireResult<Vec<Statement>> {
        tracing::debug!("statement: {sql}");
        let mut statements = self.shared.sql.parse(sql).map_err(error::syntax)?;
        for s in &mut statements {
            rewrite::client_catalog_query(s);
        }
        Ok(statements)
    }

    /// Plans and checks one statement (nothing runs).
    pub(crate) async fn prepare(&self, statement: Statement) -> PgWireResult<PgStatement> {
        if let Some(command) = command(&statement) {
            return Ok(PgStatement::Command(command));
        }
        if let Statement::Fetch {
            name, direction, ..
        } = &statement
        {
            let count = fetch_count(direction)?;
            let name = cursor_name(name);
            return Ok(PgStatement::Command(Command::Fetch { name, count }));
        }
        if let Statement::Declare { mut stmts } = statement {
            let declare = match stmts.pop() {
                Some(d) if stmts.is_empty() => d,
                _ => return Err(error::user_error("42601", "DECLARE one cursor at a time")),
            };
            let (Some(DeclareType::Cursor), Some(query), Some(name)) = (
                &declare.declare_type,
                declare.for_query,
                declare.names.first(),
            ) else {
                return Err(error::user_error(
                    "0A000",
                    "only DECLARE name CURSOR FOR query is supported",
                ));
            };
            if declare.scroll == Some(true) {
                return Err(error::user_error(
                    "0A000",
                    "SCROLL cursors are not supported: cursors here move forward only",
                ));
            }
            let plan = self.plan(Statement::Query(query)).await?;
            return Ok(PgStatement::Declare(Box::new(DeclareCursor {
                name: cursor_name(name),
                plan,
                binary: declare.binary == Some(true),
                hold: declare.hold == Some(true),
            })));
        }
        if let Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            ..
        } = statement
        {
            // Postgres `COPY`: to the client only (DataFusion's `COPY … TO 'file'` has its own
            // syntax, planned in `fallback` and refused by the policy).
            let (query, options) = copy_out(source, to, &target, &options, &legacy_options)?;
            let statement = match query {
                CopyQuery::Query(q) => Statement::Query(q),
                CopyQuery::Table(sql) => self
                    .parse(&sql)?
                    .pop()
                    .ok_or_else(|| error::user_error("42601", "COPY names no table"))?,
            };
            let plan = self.plan(statement).await?;
            return Ok(PgStatement::CopyOut(Box::new(plan), Arc::new(options)));
        }
        if matches!(statement, Statement::Call(_)) {
            // `CALL <Entity>.<Action>(…)` runs an Acumatica action: allowed with writes,
            // refused (42501) without.
            let df = self
                .shared
                .policy
                .sql(&self.ctx, &statement.to_string())
                .await
                .map_err(error::from_datafusion)?;
            return Ok(PgStatement::Query(Box::new(df.into_unoptimized_plan())));
        }
        self.plan(statement)
            .await
            .map(|plan| PgStatement::Query(Box::new(plan)))
    }

    /// Plans a statement and checks it against the policy.
    async fn plan(&self, statement: Statement) -> PgWireResult<LogicalPlan> {
        let plan = self
            .ctx
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(statement)))
            .await
            .map_err(error::from_datafusion)?;
        self.check(plan)
    }

    fn check(&self, plan: LogicalPlan) -> PgWireResult<LogicalPlan> {
        self.shared
            .policy
            .check(&plan)
            .map_err(|refused| error::user_error("42501", refused.to_string()))?;
        Ok(plan)
    }

    /// A statement the Postgres parser refused may still be DataFusion SQL (`CREATE EXTERNAL
    /// TABLE`, DataFusion's `COPY … TO`, …): planned by DataFusion's own parser, it runs if
    /// the policy allows it, and is refused with 42501 if not; otherwise the syntax error
    /// stands.
    pub(crate) async fn fallback(
        &self,
        sql: &str,
        syntax: PgWireError,
    ) -> PgWireResult<PgStatement> {
        match self.ctx.state().create_logical_plan(sql).await {
            Ok(plan) => self
                .check(plan)
                .map(|plan| PgStatement::Query(Box::new(plan))),
            Err(_) => Err(syntax),
        }
    }
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = PgStatement;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<PgStatement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut statements = match self.parse(sql) {
            Ok(s) => s,
            Err(e) => return self.fallback(sql, e).await.map(Some),
        };
        if statements.len() > 1 {
            return Err(error::user_error(
                "42601",
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        match statements.pop() {
            None => Ok(None),
            Some(s) => self.prepare(s).await.map(Some),
        }
    }

    fn get_parameter_types(&self, stmt: &PgStatement) -> PgWireResult<Vec<Type>> {
        let plan = match stmt {
            PgStatement::Query(plan) | PgStatement::CopyOut(plan, _) => plan,
            PgStatement::Declare(d) => &d.plan,
            PgStatement::Command(_) => return Ok(Vec::new()),
        };
        parameter_types(plan)?
            .iter()
            .map(|t| match t {
                Some(t) => into_pg_type(t),
                None => Ok(Type::UNKNOWN),
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        stmt: &PgStatement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let format = format.unwrap_or(&Format::UnifiedText);
        match stmt {
            PgStatement::Query(plan) => encode::fields(
                plan.schema().as_arrow(),
                format,
                Arc::new(FormatOptions::default()),
            ),
            PgStatement::Command(Command::Show(name)) => Ok(vec![show_field(name, format)]),
            // FETCH: the columns of its cursor (a cursor declared later in the same batch of
            // messages is not known yet: NoData, and the rows still come with Execute).
            PgStatement::Command(Command::Fetch { name, .. }) => match self.cursors.find(name) {
                Some(cursor) => {
                    encode::fields(&cursor.schema, format, Arc::new(FormatOptions::default()))
                }
                None => Ok(Vec::new()),
            },
            // COPY answers with CopyOutResponse, not rows: Describe says NoData.
            PgStatement::CopyOut(..) | PgStatement::Declare(_) | PgStatement::Command(_) => {
                Ok(Vec::new())
            }
        }
    }
}

/// The parameters of a plan in order (`$1`, `$2`, …) with the types DataFusion inferred.
pub(crate) fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    let types = plan.get_parameter_types().map_err(error::from_datafusion)?;
    let mut entries: Vec<(u32, Option<DataType>)> = types
        .into_iter()
        .map(|(id, t)| {
            let n = id.trim_start_matches('$').parse().unwrap_or(u32::MAX);
            (n, t)
        })
        .collect();
    entries.sort_by_key(|(n, _)| *n);
    Ok(entries.into_iter().map(|(_, t)| t).collect())
}

/// The statements answered here, or `None` for those DataFusion plans (and the policy
/// checks).
pub(crate) fn command(statement: &Statement) -> Option<Command> {
    Some(match statement {
        Statement::StartTransaction { .. } => Command::Begin,
        Statement::Commit { .. } => Command::Commit,
        Statement::Rollback {
            savepoint: None, ..
        } => Command::Rollback,
        Statement::Rollback { .. } => Command::Noop("ROLLBACK"),
        Statement::Savepoint { .. } => Command::Noop("SAVEPOINT"),
        Statement::ReleaseSavepoint { .. } => Command::Noop("RELEASE"),
        Statement::Discard { .. } => Command::Noop("DISCARD ALL"),
        Statement::Close { cursor } => Command::Close(match cursor {
            CloseCursor::All => None,
            CloseCursor::Specific { name } => Some(cursor_name(name)),
        }),
        Statement::Deallocate { .. } => Command::Noop("DEALLOCATE"),
        Statement::Reset(_) => Command::Noop("RESET"),
        Statement::ShowVariable { variable } => {
            let name = variable
                .iter()
                .map(|i| i.value.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(" ");
            if name.starts_with("datafusion.") || name == "all" {
                return None;
            }
            Command::Show(name)
        }
        Statement::Set(set) => match set {
            Set::SingleAssignment {
                variable, values, ..
            } => {
                let name = variable.to_string().to_ascii_lowercase();
                if name.starts_with("datafusion.") {
                    // DataFusion's own settings: planned, and refused by the policy.
                    return None;
                }
                let name = if name == "time zone" {
                    "timezone".to_string()
                } else {
                    name
                };
                Command::Set {
                    name,
                    value: values.iter().map(expr_text).collect::<Vec<_>>().join(", "),
                }
            }
            Set::SetTimeZone { value, .. } => Command::Set {
                name: "timezone".into(),
                value: expr_text(value),
            },
            Set::SetNames { charset_name, .. } => Command::Set {
                name: "client_encoding".into(),
                value: charset_name.value.clone(),
            },
            Set::SetTransaction { .. }
            | Set::SetSessionAuthorization(_)
            | Set::SetRole { .. }
            | Set::SetSessionParam(_) => Command::Noop("SET"),
            _ => return None,
        },
        _ => return None,
    })
}

/// A cursor's name as Postgres keeps it: folded to lower case unless quoted.
fn cursor_name(name: &Ident) -> String {
    match name.quote_style {
        Some(_) => name.value.clone(),
        None => name.value.to_lowercase(),
    }
}

/// The rows a `FETCH` asks for (`None`: all); only forward directions are supported.
fn fetch_count(direction: &FetchDirection) -> PgWireResult<Option<u64>> {
    let number = |v: &ValueWithSpan| match &v.value {
        Value::Number(n, _) => n
            .parse::<u64>()
            .map_err(|_| error::user_error("22023", format!("FETCH count {n} is not a row count"))),
        other => Err(error::user_error(
            "22023",
            format!("FETCH count {other} is not a row count"),
        )),
    };
    match direction {
        FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
            number(limit).map(Some)
        }
        FetchDirection::Next | FetchDirection::Forward { limit: None } => Ok(Some(1)),
        FetchDirection::All | FetchDirection::ForwardAll => Ok(None),
        other => Err(error::user_error(
            "0A000",
            format!("FETCH {other} is not supported: cursors here move forward only"),
        )),
    }
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use datafusion_pg_catalog::sql::PostgresCompatibilityParser;

    use super::*;

    fn parse(sql: &str) -> Statement {
        PostgresCompatibilityParser::new()
            .parse(sql)
            .unwrap()
            .pop()
            .unwrap()
    }

    #[test]
    fn session_statements_are_answered_here_and_datafusion_settings_are_not() {
        assert_eq!(command(&parse("BEGIN")), Some(Command::Begin));
        assert_eq!(command(&parse("COMMIT")), Some(Command::Commit));
        assert_eq!(command(&parse("ROLLBACK")), Some(Command::Rollback));
        assert_eq!(
            command(&parse("SET search_path TO gi, public")),
            Some(Command::Set {
                name: "search_path".into(),
                value: "gi, public".into()
            })
        );
        assert_eq!(
            command(&parse("SET DateStyle = 'ISO'")),
            Some(Command::Set {
                name: "datestyle".into(),
                value: "ISO".into()
            })
        );
        assert_eq!(
            command(&parse("SHOW transaction isolation level")),
            Some(Command::Show("transaction isolation level".into()))
        );
        assert_eq!(
            command(&parse("SET datafusion.runtime.temp_directory = '/tmp'")),
            None
        );
        assert_eq!(command(&parse("SELECT 1")), None);
        assert_eq!(
            command(&parse("SAVEPOINT a")),
            Some(Command::Noop("SAVEPOINT"))
        );
    }

    #[test]
    fn cursors_move_forward_only_and_fold_unquoted_names() {
        let fetch = |sql: &str| match parse(sql) {
            Statement::Fetch {
                name, direction, ..
            } => (cursor_name(&name), fetch_count(&direction).ok()),
            other => panic!("{other}"),
        };
        assert_eq!(fetch("FETCH 5 FROM c"), ("c".into(), Some(Some(5))));
        assert_eq!(fetch("FETCH NEXT IN c"), ("c".into(), Some(Some(1))));
        assert_eq!(fetch("FETCH FORWARD 3 FROM C"), ("c".into(), Some(Some(3))));
        assert_eq!(
            fetch("FETCH ALL FROM \"MyCur\""),
            ("MyCur".into(), Some(None))
        );
        assert_eq!(fetch("FETCH FORWARD ALL FROM c"), ("c".into(), Some(None)));
        assert_eq!(fetch("FETCH BACKWARD 1 FROM c").1, None);
        assert_eq!(fetch("FETCH PRIOR FROM c").1, None);
        assert_eq!(fetch("FETCH ABSOLUTE 3 FROM c").1, None);
        assert_eq!(
            command(&parse("CLOSE \"MyCur\"")),
            Some(Command::Close(Some("MyCur".into())))
        );
        assert_eq!(command(&parse("CLOSE ALL")), Some(Command::Close(None)));
    }
}
