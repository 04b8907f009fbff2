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

use crate::table::EntityTable;

/// The tables of one schema (`rest`, `gi` or `dac`).
#[derive(Debug)]
pub struct RestSchema {
    names: Vec<String>,
    by_lower: HashMap<String, Arc<EntityTable>>,
    /// With custom fields on: each entity's `$adHocSchema` is read when one of its tables is
    /// first used, and the tables are rebuilt with the custom columns.
    custom: Option<CustomDiscovery>,
}

#[derive(Debug, Default)]
struct CustomDiscovery {
    /// Entity → its custom fields (read once per entity; failures are not remembered).
    fields: tokio::sync::Mutex<HashMap<String, Arc<Vec<CustomField>>>>,
    /// Table (lower case) → the table with its custom columns.
    tables: Mutex<HashMap<String, Arc<EntityTable>>>,
}

impl RestSchema {
    pub fn new(tables: Vec<EntityTable>) -> Self {
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
    async fn resolve(&self, name: &str) -> Option<Arc<EntityTable>> {
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
            match cache.get(&base.def.entity) {
                Some(f) => f.clone(),
                None => {
                    let read = base
                        .connection()
                        .adhoc_schema(&base.def.entity)
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|b| custom_fields_from_adhoc(&b));
                    match read {
                        Ok(f) => {
                            let f = Arc::new(f);
                            cache.insert(base.def.entity.clone(), f.clone());
                            f
                        }
                        Err(e) => {
                            tracing::warn!(
                                "custom fields of {} are not available: {e}",
                                base.def.entity
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

    fn get(&self, name: &str) -> Option<Arc<EntityTable>> {
        self.by_lower.get(&name.to_ascii_lowercase()).cloned()
    }
}

#[async_trait]
impl SchemaProvider for RestSchema {
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

/// The catalog: named schemas of tables.
#[derive(Debug)]
pub struct AcumaticaCatalog {
    schemas: Vec<(String, Arc<RestSchema>)>,
}

impl AcumaticaCatalog {
    /// A catalog with only the `rest` schema.
    pub fn new(rest: RestSchema) -> Self {
        Self::with_schemas(vec![("rest".into(), rest)])
    }

    pub fn with_schemas(schemas: Vec<(String, RestSchema)>) -> Self {
        Self {
            schemas: schemas.into_iter().map(|(n, s)| (n, Arc::new(s))).collect(),
        }
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
            .map(|(_, s)| s.clone() as Arc<dyn SchemaProvider>)
    }
}
