//! The `acumatica` catalog: schema `rest` with one table per entity and detail collection.
//! Names are matched ignoring case (DataFusion lowercases unquoted identifiers).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};

use crate::table::EntityTable;

/// The contract-based REST entities of one endpoint.
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

/// The catalog: `rest` (contract-based REST entities).
#[derive(Debug)]
pub struct AcumaticaCatalog {
    rest: Arc<RestSchema>,
}

impl AcumaticaCatalog {
    pub fn new(rest: RestSchema) -> Self {
        Self {
            rest: Arc::new(rest),
        }
    }
}

impl CatalogProvider for AcumaticaCatalog {
    fn schema_names(&self) -> Vec<String> {
        vec!["rest".into()]
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        name.eq_ignore_ascii_case("rest")
            .then(|| self.rest.clone() as Arc<dyn SchemaProvider>)
    }
}
