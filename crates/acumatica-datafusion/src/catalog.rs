//! The `acumatica` catalog: schema `rest` (one table per contract entity and detail
//! collection), `gi` (generic inquiries exposed via OData) and `dac` (DACs via OData).
//! Names are matched ignoring case when the spelling differs only in case.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use acumatica_client::metadata::{CustomField, custom_fields_from_adhoc};

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use futures::future::BoxFuture;

use crate::table::AcumaticaTable;

/// The tables of one schema (`rest`, `gi` or `dac`).
#[derive(Debug)]
pub struct AcumaticaSchema {
    names: Vec<String>,
    by_lower: HashMap<String, Arc<AcumaticaTable>>,
    /// With custom fields on: each entity's `$adHocSchema` is read when one of its tables is
    /// first used, and the tables are rebuilt with the custom columns.
    custom: Option<CustomDiscovery>,
}

#[derive(Debug, Default)]
struct CustomDiscovery {
    /// Entity → its custom fields (read once per entity; failures are not remembered).
    fields: tokio::sync::Mutex<HashMap<String, Arc<Vec<CustomField>>>>,
    /// Table (lower case) → the table with its custom columns.
    tables: Mutex<HashMap<String, Arc<AcumaticaTable>>>,
}

impl AcumaticaSchema {
    pub fn new(tables: Vec<AcumaticaTable>) -> Self {
        let mut names: Vec<String> = tables.iter().map(|t| t.def.name.clone()).collect();
        names.sort();
        let by_lower = tables
            .into_iter()
            .map(|t| (t.def.name.to_ascii_lowercase(), Arc::new(t)))
            .collect();
        Self {
            names,
            by_lower,
            custom: None,
        }
    }

    /// Offers each entity's custom fields as columns (`cf_<View>_<Field>`), discovered from
    /// `$adHocSchema` on first use of a table.
    pub fn with_custom_fields(mut self) -> Self {
        self.custom = Some(CustomDiscovery::default());
        self
    }

    /// A table with its custom columns when discovery is on. A failed discovery leaves the
    /// table as the contract defines it (with a warning) and is tried again next time.
    async fn resolve(&self, name: &str) -> Option<Arc<AcumaticaTable>> {
        let base = self.get(name)?;
        let Some(d) = &self.custom else {
            return Some(base);
        };
        if base.def.odata.is_some() {
            return Some(base);
        }
        let lower = name.to_ascii_lowercase();
        if let Some(t) = d.tables.lock().ok().and_then(|t| t.get(&lower).cloned()) {
            return Some(t);
        }
        let fields = {
            let mut cache = d.fields.lock().await;
            match cache.get(&base.def.resource) {
                Some(f) => f.clone(),
                None => {
                    let read = base
                        .connection()
                        .adhoc_schema(&base.def.resource)
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|b| custom_fields_from_adhoc(&b));
                    match read {
                        Ok(f) => {
                            let f = Arc::new(f);
                            cache.insert(base.def.resource.clone(), f.clone());
                            f
                        }
                        Err(e) => {
                            tracing::warn!(
                                "custom fields of {} are not available: {e}",
                                base.def.resource
                            );
                            return Some(base);
                        }
                    }
                }
            }
        };
        let table = Arc::new(base.with_custom(&fields));
        if let Ok(mut t) = d.tables.lock() {
            t.insert(lower, table.clone());
        }
        Some(table)
    }

    fn get(&self, name: &str) -> Option<Arc<AcumaticaTable>> {
        self.by_lower.get(&name.to_ascii_lowercase()).cloned()
    }
}

#[async_trait]
impl SchemaProvider for AcumaticaSchema {
    fn table_names(&self) -> Vec<String> {
        self.names.clone()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        Ok(self
            .resolve(name)
            .await
            .map(|t| t as Arc<dyn TableProvider>))
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        Ok(self.get(name).map(|_| TableType::Base))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Reads a feed's tables (its `$metadata`).
pub type FeedLoader = Box<dyn Fn() -> BoxFuture<'static, AcumaticaSchema> + Send + Sync>;

/// The tables of an OData feed (`gi`, `dac`), read from its `$metadata` when a query or a
/// listing first needs them: a query on `rest.Customer` sends no OData request.
///
/// DataFusion lists tables synchronously (`table_names`): a listing before any query on the
/// feed waits for `$metadata` in place, which needs a multi-threaded tokio runtime. On any other
/// thread the listing has the feed's tables only once a query has loaded them; `register` reads
/// the feeds at once when it runs on a single-threaded runtime.
pub struct FeedSchema {
    feed: String,
    load: FeedLoader,
    loaded: tokio::sync::OnceCell<AcumaticaSchema>,
}

impl std::fmt::Debug for FeedSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedSchema")
            .field("feed", &self.feed)
            .field("loaded", &self.loaded.initialized())
            .finish()
    }
}

impl FeedSchema {
    pub fn new(feed: impl Into<String>, load: FeedLoader) -> Self {
        Self {
            feed: feed.into(),
            load,
            loaded: tokio::sync::OnceCell::new(),
        }
    }

    /// A feed whose tables are already read.
    pub fn ready(feed: impl Into<String>, tables: AcumaticaSchema) -> Self {
        let s = Self::new(
            feed,
            Box::new(|| Box::pin(async { AcumaticaSchema::new(Vec::new()) })),
        );
        let _ = s.loaded.set(tables);
        s
    }

    async fn tables(&self) -> &AcumaticaSchema {
        self.loaded.get_or_init(|| (self.load)()).await
    }

    /// The tables, read now if need be and if this thread may wait for them.
    fn tables_now(&self) -> Option<&AcumaticaSchema> {
        if let Some(t) = self.loaded.get() {
            return Some(t);
        }
        let handle = tokio::runtime::Handle::try_current().ok()?;
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            tracing::debug!(
                "the {} feed is not read yet and cannot be read here",
                self.feed
            );
            return None;
        }
        Some(tokio::task::block_in_place(|| {
            handle.block_on(self.tables())
        }))
    }
}

#[async_trait]
impl SchemaProvider for FeedSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables_now()
            .map(SchemaProvider::table_names)
            .unwrap_or_default()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        self.tables().await.table(name).await
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        self.tables().await.table_type(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables_now().is_some_and(|t| t.table_exist(name))
    }
}

/// The catalog: named schemas of tables.
#[derive(Debug)]
pub struct AcumaticaCatalog {
    schemas: Vec<(String, Arc<dyn SchemaProvider>)>,
}

impl AcumaticaCatalog {
    /// A catalog with only the `rest` schema.
    pub fn new(rest: AcumaticaSchema) -> Self {
        Self::with_schemas(vec![("rest".into(), Arc::new(rest))])
    }

    pub fn with_schemas(schemas: Vec<(String, Arc<dyn SchemaProvider>)>) -> Self {
        Self { schemas }
    }
}

impl CatalogProvider for AcumaticaCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schemas.iter().map(|(n, _)| n.clone()).collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.schemas
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s.clone())
    }
}
