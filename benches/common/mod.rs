//! Shared by the benchmarks: realistic Acumatica pages taken from the simulator, and the table
//! definitions the decoder needs.

use acumatica_client::metadata::EndpointSchema;
use acumatica_client::{Connection, ConnectionConfig, RestQuery};
use acumatica_datafusion::TableDef;
use datafusion::arrow::datatypes::SchemaRef;

/// Records per page, as `acusql` requests them (`AcumaticaOptions::page_size`).
pub const PAGE: u64 = 1000;

/// The connection string of a simulator's demo company.
pub fn connection_string(base_url: &str) -> String {
    format!("AuthScheme=Basic;Url={base_url};User=admin;Password=demo;Company=Company")
}

/// Signs in to a simulator.
pub async fn connect(base_url: &str, extra: &str) -> Connection {
    let text = format!("{};{extra}", connection_string(base_url));
    let config = ConnectionConfig::from_connection_string(text.trim_end_matches(';'))
        .expect("valid connection string");
    Connection::connect(config)
        .await
        .expect("sign-in to the simulator")
}

/// One table of the bundled `Default/24.200.001` endpoint, with every column projected.
pub struct Table {
    pub def: TableDef,
    pub projection: Vec<usize>,
    pub schema: SchemaRef,
}

pub fn table(name: &str) -> Table {
    let schema = EndpointSchema::bundled("Default", "24.200.001").expect("bundled schema");
    let def = TableDef::all(&schema)
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name}"));
    let projection = (0..def.columns.len()).collect();
    let schema = def.schema.clone();
    Table {
        def,
        projection,
        schema,
    }
}

/// The two pages the decode figures use, as the simulator writes them (Acumatica's shapes).
pub struct Pages {
    /// `GET …/SalesOrder?$top=1000`: 1,000 orders, every field.
    pub orders: Vec<u8>,
    /// `GET …/SalesOrder?$expand=Details&$top=1000`: the page a `SalesOrder_Details` scan
    /// reads — 1,000 orders with their ≈ 10,000 lines.
    pub details: Vec<u8>,
}

pub async fn pages() -> Pages {
    let sim = acumatica_sim::start(acumatica_sim::SimConfig {
        scale: 1,
        ..Default::default()
    })
    .await
    .expect("start the simulator");
    let conn = connect(&sim.base_url(), "").await;
    let orders = conn
        .list(&RestQuery::new("SalesOrder").top(PAGE))
        .await
        .expect("orders page")
        .to_vec();
    let details = conn
        .list(&RestQuery::new("SalesOrder").expand(["Details"]).top(PAGE))
        .await
        .expect("details page")
        .to_vec();
    let _ = conn.close().await;
    sim.shutdown().await;
    Pages { orders, details }
}
