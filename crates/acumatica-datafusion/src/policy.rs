//! Which statements a client may run: the one statement policy every server of ours (Flight
//! SQL now, others later) applies before anything is executed.
//!
//! A remote client gets SQL over Acumatica, not the server host: no `COPY … TO` (it writes
//! files), no DDL (`CREATE EXTERNAL TABLE` reads files, `CREATE VIEW`/`DROP` change what other
//! clients see), no `SET` of settings (some reach the file system, e.g. spill directories), and
//! no writes unless the server was started with writes allowed. The shell and embedding
//! programs use [`StatementPolicy::local`], which allows everything.
//!
//! DataFusion's `SQLOptions` is not enough on its own: it counts `COPY` as DML, so a server
//! allowing writes would also allow `COPY`. The plan is therefore walked here (subqueries and
//! `EXPLAIN ANALYZE` inputs included) and checked node by node.

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{LogicalPlan, Statement};
use datafusion::prelude::{DataFrame, SessionContext};

/// A statement the policy refuses. Servers report it as "permission denied".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not allowed on this server: {what} ({why})")]
pub struct Refused {
    /// What the statement tried (`COPY … TO`, `CREATE EXTERNAL TABLE`, …).
    pub what: String,
    why: &'static str,
}

/// What client statements may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementPolicy {
    local_files: bool,
    writes: bool,
    ddl_and_settings: bool,
}

impl StatementPolicy {
    /// For clients on the network: read-only queries over Acumatica, nothing on the host.
    pub fn server() -> Self {
        Self {
            local_files: false,
            writes: false,
            ddl_and_settings: false,
        }
    }

    /// For the person at the shell or the program embedding the catalog: everything,
    /// `COPY … TO 'file'` included (it is their own machine).
    pub fn local() -> Self {
        Self {
            local_files: true,
            writes: true,
            ddl_and_settings: true,
        }
    }

    /// Allows (or not) `INSERT`/`UPDATE`/`DELETE` into Acumatica tables; never file access.
    pub fn with_writes(mut self, allowed: bool) -> Self {
        self.writes = allowed;
        self
    }

    pub fn allows_writes(&self) -> bool {
        self.writes
    }

    /// Checks a planned statement.
    pub fn check(&self, plan: &LogicalPlan) -> Result<(), Refused> {
        let mut refused = None;
        let _ = plan.apply_with_subqueries(|node| {
            refused = self.check_node(node);
            Ok(if refused.is_some() {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        });
        match refused {
            Some(r) => Err(r),
            None => Ok(()),
        }
    }

    fn check_node(&self, node: &LogicalPlan) -> Option<Refused> {
        let refuse = |what: &str, why: &'static str| {
            Some(Refused {
                what: what.to_string(),
                why,
            })
        };
        match node {
            LogicalPlan::Copy(_) if !self.local_files => {
                refuse("COPY … TO", "clients cannot write files on the server")
            }
            LogicalPlan::Ddl(ddl) if !self.ddl_and_settings => refuse(
                &sql_words(ddl.name()),
                "the catalog is read from Acumatica; clients cannot change it or read files",
            ),
            LogicalPlan::Dml(dml) if !self.writes => refuse(
                &format!("{} into {}", dml.op, dml.table_name),
                "this server is read-only; start it with writes allowed to change Acumatica data",
            ),
            LogicalPlan::Statement(Statement::SetVariable(set)) if !self.ddl_and_settings => {
                refuse(
                    &format!("SET {}", set.variable),
                    "clients cannot change the server's settings",
                )
            }
            _ => None,
        }
    }

    /// Plans `sql` in `ctx`, checks it, and only then returns it for execution (DDL runs when
    /// it is turned into a `DataFrame`, so the check must come first).
    pub async fn sql(
        &self,
        ctx: &SessionContext,
        sql: &str,
    ) -> datafusion::error::Result<DataFrame> {
        // `CALL <Entity>.<Action>(…)` runs an Acumatica action: a write.
        if let Some(call) = crate::action::parse_call(sql) {
            let call = call?;
            if !self.writes {
                return Err(DataFusionError::External(Box::new(Refused {
                    what: format!("CALL {}.{}", call.entity, call.action),
                    why: "this server is read-only; start it with writes allowed to run Acumatica actions",
                })));
            }
            return crate::action::plan_call(ctx, call).await;
        }
        let plan = ctx.state().create_logical_plan(sql).await?;
        self.check(&plan)
            .map_err(|r| DataFusionError::External(Box::new(r)))?;
        ctx.execute_logical_plan(plan).await
    }
}

/// `CreateExternalTable` → `CREATE EXTERNAL TABLE`, as the client wrote it.
fn sql_words(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The policy refusal inside a DataFusion error, if that is what it is.
pub fn refusal(e: &DataFusionError) -> Option<&Refused> {
    match e.find_root() {
        DataFusionError::External(inner) => inner.downcast_ref::<Refused>(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan(ctx: &SessionContext, sql: &str) -> LogicalPlan {
        ctx.state().create_logical_plan(sql).await.unwrap()
    }

    #[tokio::test]
    async fn servers_refuse_files_ddl_settings_and_writes_the_shell_does_not() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT)").await.unwrap();
        let server = StatementPolicy::server();
        for (sql, what) in [
            ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
            (
                "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/etc/passwd'",
                "CREATE",
            ),
            ("CREATE VIEW v AS SELECT 1", "CREATE"),
            ("DROP TABLE t", "DROP"),
            ("SET datafusion.runtime.temp_directory = '/tmp'", "SET"),
            ("INSERT INTO t VALUES (1)", "Insert"),
            ("EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
        ] {
            let p = plan(&ctx, sql).await;
            let e = server.check(&p).expect_err(sql);
            assert!(e.to_string().contains(what), "{sql}: {e}");
            StatementPolicy::local().check(&p).expect(sql);
        }
        for sql in [
            "SELECT 1",
            "SELECT * FROM t WHERE a IN (SELECT 1)",
            "EXPLAIN SELECT 1",
        ] {
            server.check(&plan(&ctx, sql).await).expect(sql);
        }
        // Writes can be allowed; files never are.
        let writer = StatementPolicy::server().with_writes(true);
        writer
            .check(&plan(&ctx, "INSERT INTO t VALUES (1)").await)
            .unwrap();
        assert!(
            writer
                .check(&plan(&ctx, "COPY (SELECT 1) TO '/tmp/x.csv'").await)
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_refused_statement_runs_nothing_and_is_recognisable() {
        let ctx = SessionContext::new();
        let e = StatementPolicy::server()
            .sql(&ctx, "CREATE TABLE made (a INT)")
            .await
            .unwrap_err();
        assert!(refusal(&e).is_some(), "{e}");
        assert!(ctx.table("made").await.is_err(), "nothing was created");
    }
}
