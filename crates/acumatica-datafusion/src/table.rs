//! Table definitions (entity and detail tables) and the `TableProvider` over them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use acumatica_client::Connection;
use acumatica_client::metadata::{
    CustomField, EndpointSchema, EntitySchema, FieldKind, WrapperType,
};
use acumatica_client::odata::{ODataKind, ODataSet};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Constraint, Constraints};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use crate::pushdown::{self, Verdict};
use crate::scan::AcumaticaScanExec;
use crate::types::arrow_type;

/// Where a column's value comes from in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSource {
    /// The record's `id` GUID.
    Id,
    /// A wrapped field of the record.
    Field(String),
    /// The parent record's `id` (detail tables).
    ParentId,
    /// A wrapped field of the parent record (detail tables: the parent's keys).
    ParentField(String),
    /// A plain (unwrapped) property of an OData row.
    Plain(String),
    /// A wrapped field of a 1:1 linked entity (`ShipToContact` → `Email`).
    Linked(String, String),
    /// A custom field of the row (`custom` block: view, field), requested with `$custom`.
    Custom(String, String),
}

impl ColumnSource {
    pub fn is_parent(&self) -> bool {
        matches!(self, Self::ParentId | Self::ParentField(_))
    }
}

#[derive(Debug, Clone)]
pub struct ColumnDef {
    pub name: String,
    pub source: ColumnSource,
    /// `None` for GUID ids (Utf8).
    pub wrapper: Option<WrapperType>,
}

/// A table: a top-level entity, or one detail collection of it.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// SQL name: `Customer`, `SalesOrder_Details`.
    pub name: String,
    /// The resource requested: a top-level entity (`/SalesOrder`) for REST
    /// tables, the entity set for OData tables.
    pub resource: String,
    /// The detail collection field, for detail tables.
    pub detail: Option<String>,
    pub columns: Vec<ColumnDef>,
    pub schema: SchemaRef,
    /// Indices of the key columns.
    pub keys: Vec<usize>,
    /// For OData tables: the feed (`resource` is then the entity set).
    pub odata: Option<ODataKind>,
}

impl TableDef {
    fn finish(
        name: String,
        resource: String,
        detail: Option<String>,
        columns: Vec<ColumnDef>,
        key_names: &[String],
    ) -> Self {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| {
                    Field::new(
                        &c.name,
                        c.wrapper
                            .map_or(datafusion::arrow::datatypes::DataType::Utf8, arrow_type),
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        ));
        let keys = key_names
            .iter()
            .filter_map(|k| columns.iter().position(|c| &c.name == k))
            .collect();
        Self {
            name,
            resource,
            detail,
            columns,
            schema,
            keys,
            odata: None,
        }
    }

    /// The table of an OData entity set (a generic inquiry or a DAC): its properties, plain.
    pub fn odata(kind: ODataKind, set: &ODataSet) -> Self {
        let columns = set
            .properties
            .iter()
            .map(|(name, t)| ColumnDef {
                name: name.clone(),
                source: ColumnSource::Plain(name.clone()),
                wrapper: Some(*t),
            })
            .collect();
        let mut def = Self::finish(set.name.clone(), set.name.clone(), None, columns, &set.keys);
        def.odata = Some(kind);
        def
    }

    /// The table of a top-level entity: `id`, then its scalar fields.
    pub fn entity(e: &EntitySchema) -> Self {
        let mut columns = vec![ColumnDef {
            name: "id".into(),
            source: ColumnSource::Id,
            wrapper: None,
        }];
        for (name, t) in e.value_fields() {
            columns.push(ColumnDef {
                name: name.to_string(),
                source: ColumnSource::Field(name.to_string()),
                wrapper: Some(t),
            });
        }
        Self::finish(e.name.clone(), e.name.clone(), None, columns, &e.keys)
    }

    /// The table of a top-level entity with its 1:1 linked entities flattened: after the
    /// entity's own fields, `<Link>_<Field>` for each value field of each linked entity.
    pub fn entity_with_links(e: &EntitySchema, schema: &EndpointSchema) -> Self {
        let mut def = Self::entity(e);
        let mut columns = def.columns.clone();
        for f in &e.fields {
            let FieldKind::Linked(target) = &f.kind else {
                continue;
            };
            let Some(linked) = schema.entity(target) else {
                continue;
            };
            for (name, t) in linked.value_fields() {
                let column = format!("{}_{name}", f.name);
                if columns.iter().any(|c| c.name == column) {
                    continue;
                }
                columns.push(ColumnDef {
                    name: column,
                    source: ColumnSource::Linked(f.name.clone(), name.to_string()),
                    wrapper: Some(t),
                });
            }
        }
        let keys: Vec<String> = def
            .keys
            .iter()
            .map(|k| def.columns[*k].name.clone())
            .collect();
        def = Self::finish(e.name.clone(), e.name.clone(), None, columns, &keys);
        def
    }

    /// The table of a detail collection: the parent's keys first, then the line's fields.
    pub fn detail(parent: &EntitySchema, detail_field: &str, line: &EntitySchema) -> Self {
        let mut columns = Vec::new();
        for key in &parent.keys {
            if let Some(FieldKind::Value(t)) = parent.field(key).map(|f| &f.kind) {
                columns.push(ColumnDef {
                    name: key.clone(),
                    source: ColumnSource::ParentField(key.clone()),
                    wrapper: Some(*t),
                });
            }
        }
        if columns.is_empty() {
            columns.push(ColumnDef {
                name: format!("{}ID", parent.name),
                source: ColumnSource::ParentId,
                wrapper: None,
            });
        }
        columns.push(ColumnDef {
            name: "id".into(),
            source: ColumnSource::Id,
            wrapper: None,
        });
        // The parent's audit time, so incremental loads can filter lines by it on the server
        // (`WHERE LastModified > …` on `SalesOrder_Details`).
        for audit in ["LastModifiedDateTime", "LastModified"] {
            if let Some(FieldKind::Value(t @ WrapperType::DateTime)) =
                parent.field(audit).map(|f| &f.kind)
                && line.field(audit).is_none()
            {
                columns.push(ColumnDef {
                    name: audit.to_string(),
                    source: ColumnSource::ParentField(audit.to_string()),
                    wrapper: Some(*t),
                });
            }
        }
        for (name, t) in line.value_fields() {
            if columns.iter().any(|c| c.name == name) {
                continue;
            }
            columns.push(ColumnDef {
                name: name.to_string(),
                source: ColumnSource::Field(name.to_string()),
                wrapper: Some(t),
            });
        }
        let keys: Vec<String> = parent.keys.clone();
        Self::finish(
            format!("{}_{}", parent.name, detail_field),
            parent.name.clone(),
            Some(detail_field.to_string()),
            columns,
            &keys,
        )
    }

    /// Every table an endpoint offers: top-level entities and their detail collections.
    pub fn all(schema: &EndpointSchema) -> Vec<Self> {
        let mut out = Vec::new();
        for e in schema.top_level() {
            out.push(Self::entity_with_links(e, schema));
            for f in &e.fields {
                if let FieldKind::Detail(line) = &f.kind
                    && let Some(line) = schema.entity(line)
                {
                    out.push(Self::detail(e, &f.name, line));
                }
            }
        }
        out
    }

    /// This table with the custom fields of its level added as columns `cf_<View>_<Field>`
    /// (after the contract's columns; a name already taken is skipped). `fields` are those of
    /// the whole entity, as `$adHocSchema` lists them.
    pub fn with_custom(&self, fields: &[CustomField]) -> TableDef {
        let level: Vec<String> = self.detail.iter().cloned().collect();
        let mut columns = self.columns.clone();
        for f in fields.iter().filter(|f| f.path == level) {
            let name = custom_column_name(&f.view, &f.field);
            if columns.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
                continue;
            }
            columns.push(ColumnDef {
                name,
                source: ColumnSource::Custom(f.view.clone(), f.field.clone()),
                wrapper: Some(f.kind),
            });
        }
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| self.columns[*k].name.clone())
            .collect();
        let mut def = Self::finish(
            self.name.clone(),
            self.resource.clone(),
            self.detail.clone(),
            columns,
            &keys,
        );
        def.odata = self.odata;
        def
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The SQL name of a custom field's column: `cf_<View>_<Field>` (`cf_Document_AttributePRODUCT`).
pub fn custom_column_name(view: &str, field: &str) -> String {
    format!("cf_{view}_{field}")
}

/// Knobs of the tables.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub page_size: usize,
    pub max_parallel_pages: usize,
    /// Shared switch: when off, nothing is sent to the server but the columns.
    pub enable_pushdown: Arc<AtomicBool>,
}

/// A contract-based REST entity (or one of its detail collections) as a table.
#[derive(Debug)]
pub struct AcumaticaTable {
    pub def: Arc<TableDef>,
    conn: Connection,
    options: ScanOptions,
    constraints: Option<Constraints>,
}

impl AcumaticaTable {
    pub fn new(def: TableDef, conn: Connection, options: ScanOptions) -> Self {
        // Inquiry keys are those of the underlying tables and need not be unique per row.
        let constraints = (!def.keys.is_empty()
            && def.detail.is_none()
            && def.odata != Some(ODataKind::Gi))
        .then(|| Constraints::new_unverified(vec![Constraint::PrimaryKey(def.keys.clone())]));
        Self {
            def: Arc::new(def),
            conn,
            options,
            constraints,
        }
    }

    /// The same table with custom-field columns (see [`TableDef::with_custom`]).
    pub fn with_custom(&self, fields: &[CustomField]) -> AcumaticaTable {
        AcumaticaTable::new(
            self.def.with_custom(fields),
            self.conn.clone(),
            self.options.clone(),
        )
    }

    /// The connection the table reads through.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn pushdown(&self) -> bool {
        self.options.enable_pushdown.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl TableProvider for AcumaticaTable {
    fn schema(&self) -> SchemaRef {
        self.def.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.constraints.as_ref()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // The switch is read once: every filter of the plan gets the same answer.
        let enabled = self.pushdown();
        Ok(filters
            .iter()
            .map(|f| match (enabled, pushdown::translate(f, &self.def)) {
                (true, Some((_, Verdict::Exact))) => TableProviderFilterPushDown::Exact,
                (true, Some((_, Verdict::Inexact))) => TableProviderFilterPushDown::Inexact,
                _ => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..self.def.columns.len()).collect());
        // The filters are those `supports_filters_pushdown` accepted (DataFusion keeps the
        // others above the scan): the switch was read there, once for this plan, so it is not
        // read again here.
        let mut parts = Vec::new();
        let mut all_exact = true;
        for f in filters {
            match pushdown::translate(f, &self.def) {
                Some((text, verdict)) => {
                    all_exact &= verdict == Verdict::Exact;
                    parts.push(text);
                }
                None => all_exact = false,
            }
        }
        let filter = match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(
                parts
                    .iter()
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" and "),
            ),
        };
        let limit = if all_exact { limit } else { None };
        Ok(Arc::new(AcumaticaScanExec::new(
            self.conn.clone(),
            self.def.clone(),
            projection,
            filter,
            limit,
            &self.options,
        )))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::write::insert(self, input, op).await
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::write::update(self, state, assignments, filters).await
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::write::delete(self, state, filters).await
    }
}
