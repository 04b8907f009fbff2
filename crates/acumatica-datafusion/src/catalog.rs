//! The `acumatica` catalog: schema `rest` (one table per contract entity and detail
//! collection), `gi` (generic inquiries exposed via OData) and `dac` (DACs via OData).
//! Names are matched ignoring case when the spelling differs only in case.

use std::collections::HashMap;
use std::sync::Arc;

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
}

impl RestSchema {
    pub fn new(tables: Vec<EntityTable>) -> Self {
        let mut names: Vec<String> = tables.iter().map(|t| t.def.name.clone()).collect();
        names.sort();
        let by_lower = tables
            .into_iter()
            .map(|t| (t.def.name.to_ascii_lowercase(), Arc::new(t)))
            .collect();
        Self { names, by_lower }
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
        Ok(self.get(name).map(|t| t as Arc<dyn TableProvider>))
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
