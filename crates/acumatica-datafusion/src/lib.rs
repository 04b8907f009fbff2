//! Acumatica entities and their detail collections as Apache DataFusion tables, with
//! `WHERE` → `$filter`, projection → `$select`/`$expand` and `LIMIT` → `$top` pushdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use acumatica_client::{Connection, ConnectionConfig};
//! use datafusion::prelude::SessionContext;
//! let conn = Connection::connect(ConnectionConfig::from_connection_string(
//!     "Url=https://erp.example.com;User=etl;Password=…;Company=MyCompany",
//! )?)
//! .await?;
//! let ctx = SessionContext::new();
//! acumatica_datafusion::register(&ctx, conn, Default::default()).await?;
//! ctx.sql("SELECT OrderNbr, OrderTotal FROM SalesOrder WHERE OrderTotal > 1000").await?.show().await?;
//! # Ok(()) }
//! ```
//!
//! Tables: one per top-level entity (`Customer`: `id` then its scalar fields) and one per
//! detail collection (`SalesOrder_Details`: the parent's key columns, the line's `id`, then its
//! fields). Type mapping and the decimal scale are described in [`types`].

pub mod action;
pub mod catalog;
pub mod decode;
pub mod literals;
pub mod policy;
pub mod pushdown;
pub mod scan;
pub mod table;
pub mod types;
pub mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use acumatica_client::Connection;
use acumatica_client::metadata::EndpointSchema;
use acumatica_client::odata::ODataKind;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

pub use catalog::AcumaticaCatalog;
pub use policy::StatementPolicy;
pub use scan::{AcumaticaScanExec, ScanError};
pub use table::{AcumaticaTable, ScanOptions, TableDef};

/// How the catalog is built and scanned.
#[derive(Debug, Clone)]
pub struct AcumaticaOptions {
    /// Catalog name (`acumatica`); it becomes the session's default catalog, `rest` the default schema.
    pub catalog: String,
    /// Send filters, columns and limits to Acumatica. Off = fetch columns only, filter locally.
    pub enable_pushdown: bool,
    /// Records per page (`$top`).
    pub page_size: usize,
    /// Pages requested in parallel per scan (the connection's throttle still applies).
    pub max_parallel_pages: usize,
    /// Where the REST tables' schema comes from.
    pub schema_source: SchemaSource,
    /// Offer custom fields as columns `cf_<View>_<Field>` (also on with the connection
    /// property `IncludeCustomFields=true`). Each entity's `$adHocSchema` is read when one of
    /// its tables is first used; the columns are fetched (`$custom`) only when projected and
    /// filtered on the server with `cf.<Type>(f='<View>.<Field>')`.
    pub custom_fields: bool,
}

/// Where the contract endpoint's schema comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaSource {
    /// The endpoint's own `swagger.json` (customised endpoints and fields included), cached
    /// per process; the bundled schema when it cannot be read.
    #[default]
    Auto,
    /// Only the live `swagger.json`: an error when it cannot be read.
    Live,
    /// Only the schemas bundled under `schemas/` (no request; for offline planning).
    Bundled,
}

impl Default for AcumaticaOptions {
    fn default() -> Self {
        Self {
            catalog: "acumatica".into(),
            enable_pushdown: true,
            page_size: 1000,
            max_parallel_pages: 4,
            schema_source: SchemaSource::Auto,
            custom_fields: false,
        }
    }
}

/// What `register` returns: switches that apply to the registered catalog.
#[derive(Debug, Clone)]
pub struct Registration {
    pushdown: Arc<AtomicBool>,
}

impl Registration {
    /// Turns pushdown on or off for later queries (results are the same either way).
    pub fn set_pushdown(&self, on: bool) {
        self.pushdown.store(on, Ordering::Relaxed);
    }

    pub fn pushdown(&self) -> bool {
        self.pushdown.load(Ordering::Relaxed)
    }
}

/// Live schemas read in this process, by endpoint URL.
static LIVE: std::sync::Mutex<Vec<(String, Arc<EndpointSchema>)>> =
    std::sync::Mutex::new(Vec::new());

/// Forgets the endpoint schemas read in this process: the next `register` reads
/// `swagger.json` again (from the connection's metadata cache when it has one).
pub fn forget_endpoint_schemas() {
    if let Ok(mut l) = LIVE.lock() {
        l.clear();
    }
}

/// The endpoint schema the catalog is built from (read once per process and endpoint; the
/// shell's `\d+` reads entities' actions from it).
pub async fn endpoint_schema(
    conn: &Connection,
    source: SchemaSource,
) -> Result<Arc<EndpointSchema>> {
    let config = conn.config();
    let bundled =
        || EndpointSchema::bundled(&config.endpoint_name, &config.endpoint_version).map(Arc::new);
    let missing = || {
        let known: Vec<String> = EndpointSchema::bundled_versions()
            .map(|(e, v)| format!("{e}/{v}"))
            .collect();
        DataFusionError::Configuration(format!(
            "no schema for endpoint {}/{}: its swagger.json cannot be read and the bundled ones are {}",
            config.endpoint_name,
            config.endpoint_version,
            known.join(", ")
        ))
    };
    if source == SchemaSource::Bundled {
        return bundled().ok_or_else(missing);
    }
    let key = conn.endpoint_url().to_string();
    if let Some((_, s)) = LIVE
        .lock()
        .ok()
        .and_then(|l| l.iter().find(|(k, _)| *k == key).cloned())
    {
        return Ok(s);
    }
    let live = match conn.swagger().await {
        Ok(bytes) => EndpointSchema::from_swagger(&bytes).map_err(|e| e.to_string()),
        // A refused sign-in is no reason to plan with the bundled schema: the queries would
        // fail the same way (a connection may sign in only now, on its first request).
        Err(e @ (acumatica_client::Error::Auth(_) | acumatica_client::Error::LoginLimit)) => {
            return Err(DataFusionError::External(Box::new(e)));
        }
        Err(e) => Err(e.to_string()),
    };
    match (live, source) {
        (Ok(s), _) => {
            let s = Arc::new(s);
            if let Ok(mut l) = LIVE.lock() {
                l.push((key, s.clone()));
            }
            Ok(s)
        }
        (Err(e), SchemaSource::Live) => Err(DataFusionError::Configuration(format!(
            "cannot read the endpoint's swagger.json: {e}"
        ))),
        (Err(e), _) => {
            tracing::warn!("swagger.json not available ({e}); using the bundled schema");
            bundled().ok_or_else(missing)
        }
    }
}

/// The Acumatica client's error at the root of a query's failure, if there is one: a failed
/// page request ([`ScanError::Request`]) or a client error passed on as it is. Callers act on
/// it (licence limit, rate limited, not found) without reading message text.
pub fn client_error(e: &DataFusionError) -> Option<&acumatica_client::Error> {
    let DataFusionError::External(inner) = e.find_root() else {
        return None;
    };
    inner
        .downcast_ref::<acumatica_client::Error>()
        .or_else(|| inner.downcast_ref::<ScanError>()?.client_error())
}

/// A DataFusion error as one short message for a person or a remote client: the first line
/// of its cause, with the did-you-mean hint kept and the list of every valid column (some
/// entities have hundreds) and DataFusion's advice on identifier normalisation left out.
/// At most `max` characters.
pub fn error_summary(e: &DataFusionError, max: usize) -> String {
    let text = match e {
        // Our own planning checks already say what is wrong, column and value first.
        DataFusionError::Context(rule, inner) if rule == literals::RULE_NAME => {
            inner.message().into_owned()
        }
        e => e.to_string(),
    };
    text_summary(&text, max)
}

/// [`error_summary`] for the text of any error (a cause further down a chain, say).
pub fn text_summary(text: &str, max: usize) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with("Valid fields are")
            || line.starts_with("Column names are case sensitive")
        {
            continue;
        }
        // "… Did you mean 'x'? Valid fields are …" on one line.
        let line = line.split(" Valid fields are ").next().unwrap_or(line);
        kept.push(line);
    }
    let joined = kept.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The session settings acusql uses, for programs that want the same behaviour: information
/// schema on, 4 partitions (the connection's default concurrency), and Parquet row groups of
/// 122,880 rows so that `COPY … TO '….parquet'` holds a bounded amount in memory whatever the
/// table size (DataFusion's default of 1,048,576 rows buffers ~1M rows per file).
pub fn session_config() -> datafusion::prelude::SessionConfig {
    datafusion::prelude::SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(4)
        .set_bool("datafusion.sql_parser.parse_float_as_decimal", true)
        .set_usize("datafusion.execution.parquet.max_row_group_size", 122_880)
}

/// The tables of an OData feed, from its live `$metadata`. A feed that cannot be read (no
/// tenant configured, no rights, an older version without it) gives no tables and a warning:
/// the REST tables stay usable.
async fn odata_tables(conn: &Connection, kind: ODataKind) -> Vec<TableDef> {
    if conn.config().company.is_none() {
        return Vec::new();
    }
    let xml = match conn.odata_metadata(kind).await {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!("the OData {} feed is not available: {e}", kind.segment());
            return Vec::new();
        }
    };
    match acumatica_client::odata::sets_from_edmx(&String::from_utf8_lossy(&xml)) {
        Ok(sets) => sets.iter().map(|s| TableDef::odata(kind, s)).collect(),
        Err(e) => {
            tracing::warn!("the OData {} $metadata cannot be read: {e}", kind.segment());
            Vec::new()
        }
    }
}

/// Registers the Acumatica catalog of `conn`'s endpoint into `ctx`, makes it the default (so
/// `SELECT * FROM Customer` works unqualified) and keeps identifiers as typed (Acumatica names
/// are mixed case: `CustomerID`).
pub async fn register(
    ctx: &SessionContext,
    conn: Connection,
    options: AcumaticaOptions,
) -> Result<Registration> {
    let schema = endpoint_schema(&conn, options.schema_source).await?;
    let pushdown = Arc::new(AtomicBool::new(options.enable_pushdown));
    let scan = ScanOptions {
        page_size: options.page_size,
        max_parallel_pages: options.max_parallel_pages,
        enable_pushdown: pushdown.clone(),
    };
    let tables = TableDef::all(&schema)
        .into_iter()
        .map(|def| AcumaticaTable::new(def, conn.clone(), scan.clone()))
        .collect();
    let mut rest = catalog::AcumaticaSchema::new(tables);
    if options.custom_fields || conn.config().include_custom_fields {
        rest = rest.with_custom_fields();
    }
    let mut schemas: Vec<(String, Arc<dyn datafusion::catalog::SchemaProvider>)> =
        vec![("rest".to_string(), Arc::new(rest))];
    // The feeds' `$metadata` is read when a query or a listing needs it (at once on a
    // single-threaded runtime, where a listing could not wait for it).
    let lazy = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    for kind in [ODataKind::Gi, ODataKind::Dac] {
        let load = {
            let (conn, scan) = (conn.clone(), scan.clone());
            move || -> futures::future::BoxFuture<'static, catalog::AcumaticaSchema> {
                let (conn, scan) = (conn.clone(), scan.clone());
                Box::pin(async move {
                    let tables = odata_tables(&conn, kind)
                        .await
                        .into_iter()
                        .map(|def| AcumaticaTable::new(def, conn.clone(), scan.clone()))
                        .collect();
                    catalog::AcumaticaSchema::new(tables)
                })
            }
        };
        let feed = if lazy {
            catalog::FeedSchema::new(kind.segment(), Box::new(load))
        } else {
            catalog::FeedSchema::ready(kind.segment(), load().await)
        };
        schemas.push((kind.segment().to_string(), Arc::new(feed)));
    }
    // UPDATE/DELETE whose WHERE reads other tables are refused before planning drops it;
    // literals are checked against their columns. Once each, however often `register` runs.
    let has_rule = |name: &str| {
        ctx.state()
            .analyzer()
            .rules
            .iter()
            .any(|r| r.name() == name)
    };
    if !has_rule("acumatica_write_guard") {
        ctx.add_analyzer_rule(Arc::new(write::WriteGuard));
    }
    let literal_check_present = has_rule(literals::RULE_NAME);
    ctx.register_catalog(
        &options.catalog,
        Arc::new(AcumaticaCatalog::with_schemas(schemas)),
    );
    {
        let state = ctx.state_ref();
        let mut state = state.write();
        let opts = state.config_mut().options_mut();
        opts.catalog.default_catalog = options.catalog.clone();
        opts.catalog.default_schema = "rest".into();
        opts.sql_parser.enable_ident_normalization = false;
        // `123456789012345.6789` is a decimal, not a float: amounts compare exactly.
        opts.sql_parser.parse_float_as_decimal = true;
    }
    if !literal_check_present {
        ctx.add_analyzer_rule(Arc::new(literals::LiteralCheck));
    }
    Ok(Registration { pushdown })
}

/// What [`refresh`] did.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The catalog registered anew (its pushdown switch starts as the options say).
    pub registration: Registration,
    /// Documents dropped from the metadata cache.
    pub forgotten: usize,
    /// Tables of the `rest` schema now.
    pub rest_tables: usize,
}

/// Reads the metadata again and registers the catalog anew: drops `conn`'s documents from
/// the metadata cache and the endpoint schemas read in this process, reads `swagger.json`
/// from the server and replaces the catalog in `ctx`. The OData feeds' `$metadata` is read
/// again when a query or a listing next needs it.
pub async fn refresh(
    ctx: &SessionContext,
    conn: &Connection,
    options: AcumaticaOptions,
) -> Result<Refreshed> {
    let forgotten = conn.forget_metadata();
    forget_endpoint_schemas();
    let catalog = options.catalog.clone();
    let registration = register(ctx, conn.clone(), options).await?;
    let rest_tables = ctx
        .catalog(&catalog)
        .and_then(|c| c.schema("rest"))
        .map_or(0, |s| s.table_names().len());
    Ok(Refreshed {
        registration,
        forgotten,
        rest_tables,
    })
}

/// The client error of a query that failed because the server no longer knows a field or
/// entity the catalog has (see [`acumatica_client::Error::is_unknown_to_server`]): the
/// metadata is older than the server's, and [`refresh`] may let the statement run.
pub fn schema_mismatch(e: &DataFusionError) -> Option<&acumatica_client::Error> {
    client_error(e).filter(|c| c.is_unknown_to_server())
}
