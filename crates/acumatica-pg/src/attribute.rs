//! `pg_catalog.pg_attribute` with the precision and scale of numeric columns in `atttypmod`.
//!
//! `datafusion-pg-catalog` leaves `atttypmod` at -1 (no modifier), so the ODBC driver's
//! `SQLColumns` reports its default `numeric(28,6)` and psql's `\d` a bare `numeric`. Here
//! `pg_attribute` is a view over the original: the modifier of every decimal column of our
//! catalog (Postgres' `((precision << 16) | scale) + 4`) joined in by schema, table and
//! column name through `pg_class` and `pg_namespace`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Int32Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::{ViewTable, provider_as_source};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::{JoinType, LogicalPlanBuilder, col};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;

use crate::encode::numeric_typmod;

const PG_ATTRIBUTE: &str = "pg_attribute";

/// The `pg_catalog` schema with `pg_attribute` replaced by the view; every other table is
/// the original.
#[derive(Debug)]
pub(crate) struct WithTypmods {
    pub(crate) pg_catalog: Arc<dyn SchemaProvider>,
    /// The catalog whose decimal columns get their modifiers (without `pg_catalog`).
    pub(crate) tables: Arc<dyn CatalogProvider>,
}

#[async_trait]
impl SchemaProvider for WithTypmods {
    fn table_names(&self) -> Vec<String> {
        self.pg_catalog.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if !name.eq_ignore_ascii_case(PG_ATTRIBUTE) {
            return self.pg_catalog.table(name).await;
        }
        let (Some(attribute), Some(class), Some(namespace)) = (
            self.pg_catalog.table(PG_ATTRIBUTE).await?,
            self.pg_catalog.table("pg_class").await?,
            self.pg_catalog.table("pg_namespace").await?,
        ) else {
            return Ok(None);
        };
        let typmods = NumericColumns::new(self.tables.clone());
        let typmods = StreamingTable::try_new(typmods.schema.clone(), vec![Arc::new(typmods)])?;
        let scan = |alias: &str, table: Arc<dyn TableProvider>| {
            LogicalPlanBuilder::scan(alias, provider_as_source(table), None)
        };
        // The oid of each table with decimal columns, and their modifiers.
        let relations = scan("c", class)?
            .join(
                scan("n", namespace)?.build()?,
                JoinType::Inner,
                (vec!["c.relnamespace"], vec!["n.oid"]),
                None,
            )?
            .join(
                scan("m", Arc::new(typmods))?.build()?,
                JoinType::Inner,
                (
                    vec!["n.nspname", "c.relname"],
                    vec!["m.schema_name", "m.table_name"],
                ),
                None,
            )?
            .project(vec![
                col("c.oid").alias("relid"),
                col("m.column_name"),
                col("m.typmod"),
            ])?
            .alias("t")?
            .build()?;
        let columns = attribute
            .schema()
            .fields()
            .iter()
            .map(|f| {
                if f.name() == "atttypmod" {
                    coalesce(vec![col("t.typmod"), col("a.atttypmod")]).alias("atttypmod")
                } else {
                    col(format!("a.{}", f.name()))
                }
            })
            .collect::<Vec<_>>();
        let plan = scan("a", attribute)?
            .join(
                relations,
                JoinType::Left,
                (
                    vec!["a.attrelid", "a.attname"],
                    vec!["t.relid", "t.column_name"],
                ),
                None,
            )?
            .project(columns)?
            .build()?;
        Ok(Some(Arc::new(ViewTable::new(plan, None))))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.pg_catalog.table_exist(name)
    }
}

/// The decimal columns of a catalog with their modifiers, read when queried.
#[derive(Debug)]
struct NumericColumns {
    schema: SchemaRef,
    tables: Arc<dyn CatalogProvider>,
}

impl NumericColumns {
    fn new(tables: Arc<dyn CatalogProvider>) -> Self {
        Self {
            schema: Arc::new(Schema::new(vec![
                Field::new("schema_name", DataType::Utf8, false),
                Field::new("table_name", DataType::Utf8, false),
                Field::new("column_name", DataType::Utf8, false),
                Field::new("typmod", DataType::Int32, false),
            ])),
            tables,
        }
    }

    async fn batch(schema: SchemaRef, tables: Arc<dyn CatalogProvider>) -> Result<RecordBatch> {
        let mut schemas = StringBuilder::new();
        let mut names = StringBuilder::new();
        let mut columns = StringBuilder::new();
        let mut typmods = Int32Builder::new();
        for schema_name in tables.schema_names() {
            let Some(schema) = tables.schema(&schema_name) else {
                continue;
            };
            for table_name in schema.table_names() {
                let Some(table) = schema.table(&table_name).await? else {
                    continue;
                };
                for field in table.schema().fields() {
                    if let Some(typmod) = numeric_typmod(field.data_type()) {
                        schemas.append_value(&schema_name);
                        names.append_value(&table_name);
                        columns.append_value(field.name());
                        typmods.append_value(typmod);
                    }
                }
            }
        }
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(schemas.finish()),
                Arc::new(names.finish()),
                Arc::new(columns.finish()),
                Arc::new(typmods.finish()),
            ],
        )?)
    }
}

impl PartitionStream for NumericColumns {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batch = Self::batch(self.schema.clone(), self.tables.clone());
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::once(batch),
        ))
    }
}
