//! A simulator on 127.0.0.1:0, a connection, and a SessionContext with the catalog.

use acumatica_client::{Connection, ConnectionConfig};
use acumatica_datafusion::{AcumaticaOptions, Registration};
use acumatica_sim::{SimConfig, SimHandle};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{SessionConfig, SessionContext};

pub struct Env {
    pub sim: SimHandle,
    pub conn: Connection,
    pub ctx: SessionContext,
    pub catalog: Registration,
}

pub async fn env() -> Env {
    env_with(AcumaticaOptions::default()).await
}

pub async fn env_with(options: AcumaticaOptions) -> Env {
    env_full(SimConfig::default(), "", options).await
}

/// A simulator configured as given, and extra connection properties.
pub async fn env_full(sim: SimConfig, extra: &str, options: AcumaticaOptions) -> Env {
    let sim = acumatica_sim::start(sim).await.expect("simulator starts");
    let config = ConnectionConfig::from_connection_string(&format!(
        "Url={};User=admin;Password=demo;Company=Company;{extra}",
        sim.base_url()
    ))
    .expect("config");
    let conn = Connection::connect(config).await.expect("sign-in");
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
    let catalog = acumatica_datafusion::register(&ctx, conn.clone(), options)
        .await
        .expect("catalog");
    Env {
        sim,
        conn,
        ctx,
        catalog,
    }
}

impl Env {
    pub async fn query(&self, sql: &str) -> Vec<RecordBatch> {
        self.ctx
            .sql(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Rows as sorted text lines, for order-independent comparison.
    pub async fn rows(&self, sql: &str) -> Vec<String> {
        let batches = self.query(sql).await;
        let text = pretty_format_batches(&batches).expect("format").to_string();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    pub fn list_requests(&self) -> Vec<String> {
        self.sim
            .request_log()
            .into_iter()
            .filter(|r| r.method == "GET" && r.url.starts_with("/entity/Default/"))
            .map(|r| r.url)
            .collect()
    }
}

pub fn count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}
