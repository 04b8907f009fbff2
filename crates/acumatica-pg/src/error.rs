//! DataFusion and upstream errors as Postgres errors: a SQLSTATE a client can act on and a
//! short message (the did-you-mean hint, never the list of all columns).

use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use pgwire::error::{ErrorInfo, PgWireError};

/// Longest message sent to a client.
const MAX_MESSAGE: usize = 500;

pub(crate) fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

/// The SQLSTATE for a DataFusion error.
pub(crate) fn sqlstate(e: &DataFusionError) -> &'static str {
    if acumatica_datafusion::policy::refusal(e).is_some() {
        return "42501"; // insufficient_privilege
    }
    let root = e.find_root();
    if let DataFusionError::External(inner) = root
        && let Some(upstream) = inner.downcast_ref::<acumatica_client::Error>()
    {
        return match upstream {
            acumatica_client::Error::RateLimited { .. } | acumatica_client::Error::LoginLimit => {
                "53300" // too_many_connections: Acumatica's own limits
            }
            acumatica_client::Error::Transport { .. } => "08006", // connection_failure
            _ => "58000",                                         // system_error
        };
    }
    match root {
        DataFusionError::SchemaError(e, _) => match e.as_ref() {
            SchemaError::FieldNotFound { .. } => "42703",
            SchemaError::AmbiguousReference { .. } => "42702",
            _ => "42P01",
        },
        DataFusionError::Plan(text) if text.contains("not found") => "42P01",
        DataFusionError::Plan(_) => "42601",
        DataFusionError::SQL(..) => "42601",
        DataFusionError::NotImplemented(_) => "0A000",
        DataFusionError::ResourcesExhausted(_) => "53200",
        DataFusionError::ArrowError(..) => "22000",
        _ => "XX000",
    }
}

pub(crate) fn from_datafusion(e: DataFusionError) -> PgWireError {
    let message = acumatica_datafusion::error_summary(&e, MAX_MESSAGE);
    user_error(sqlstate(&e), message)
}

pub(crate) fn syntax(e: impl std::fmt::Display) -> PgWireError {
    user_error("42601", format!("syntax error: {e}"))
}

/// The error a statement ends with when it was cancelled (by the client, or by shutdown).
pub(crate) fn cancelled(shutting_down: bool) -> PgWireError {
    if shutting_down {
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "FATAL".to_owned(),
            "57P01".to_owned(),
            "terminating connection: the server is shutting down".to_owned(),
        )))
    } else {
        PgWireError::QueryCanceled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refusals_unknown_tables_and_columns_have_their_sqlstates() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT)").await.unwrap();
        let e = acumatica_datafusion::StatementPolicy::server()
            .sql(&ctx, "CREATE TABLE u (a INT)")
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "42501");
        let e = ctx.sql("SELECT * FROM nope").await.unwrap_err();
        assert_eq!(sqlstate(&e), "42P01", "{e}");
        let e = ctx.sql("SELECT b FROM t").await.unwrap_err();
        assert_eq!(sqlstate(&e), "42703", "{e}");
        let e = ctx.sql("SELEC 1").await.unwrap_err();
        assert_eq!(sqlstate(&e), "42601", "{e}");
    }
}
