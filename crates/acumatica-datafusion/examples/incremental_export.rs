//! Incremental export: the SalesOrder lines whose order changed since a timestamp, to Parquet.
//!
//! ```sh
//! # against the embedded simulator (no Acumatica needed):
//! cargo run -p acumatica-datafusion --example incremental_export -- 2024-06-01T00:00:00Z lines.parquet
//! # against a real instance:
//! ACUMATICA_CONNECTION="Url=https://erp.example.com/AcumaticaERP;User=etl;Password=…;Company=MyCompany" \
//!   cargo run -p acumatica-datafusion --example incremental_export -- 2024-06-01T00:00:00Z lines.parquet
//! ```
//!
//! The filter on the parent's audit time (`LastModified` on SalesOrder; most entities call it
//! `LastModifiedDateTime`) is sent to Acumatica as `$filter`, so only changed orders travel.
//! Save the time you started at and pass it next run.

use acumatica_client::{Connection, ConnectionConfig};
use acumatica_datafusion::AcumaticaOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let since = args.next().unwrap_or_else(|| "2024-06-01T00:00:00Z".into());
    let out = args
        .next()
        .unwrap_or_else(|| "sales_order_lines.parquet".into());
    // Validate the timestamp before it goes into SQL.
    let since = chrono::DateTime::parse_from_rfc3339(&since)
        .map_err(|e| format!("{since:?} is not an RFC 3339 time: {e}"))?
        .to_utc();

    let (config, _demo) = match std::env::var("ACUMATICA_CONNECTION") {
        Ok(s) => (ConnectionConfig::from_connection_string(&s)?, None),
        Err(_) => {
            let sim = acumatica_sim::start(acumatica_sim::SimConfig::default()).await?;
            eprintln!("ACUMATICA_CONNECTION not set: using the embedded simulator (demo data)");
            let s = format!(
                "Url={};User=admin;Password=demo;Company=Company",
                sim.base_url()
            );
            (ConnectionConfig::from_connection_string(&s)?, Some(sim))
        }
    };
    let conn = Connection::connect(config).await?;
    let ctx = SessionContext::new();
    acumatica_datafusion::register(&ctx, conn.clone(), AcumaticaOptions::default()).await?;

    let sql = format!(
        "SELECT * FROM SalesOrder_Details WHERE LastModified > TIMESTAMP '{}'",
        since.format("%Y-%m-%dT%H:%M:%S")
    );
    let df = ctx.sql(&sql).await?;
    let written = df
        .write_parquet(
            &out,
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await?;
    let rows: u64 = written
        .iter()
        .filter_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::UInt64Array>()
                .map(|a| a.value(0))
        })
        .sum();
    eprintln!("{rows} lines changed since {since} written to {out}");
    conn.close().await?;
    Ok(())
}
