//! What `\d` and `\d+` show of a table: its columns (type, key; with `+` the Acumatica type
//! and where each value comes from) and lines about the table under them (what it is, its
//! keys; with `+` an entity's detail tables, linked entities and actions).

use std::sync::Arc;

use acumatica_client::odata::ODataKind;
use acumatica_datafusion::table::ColumnSource;
use acumatica_datafusion::{AcumaticaTable, TableDef};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::catalog::{Found, quote};

/// One row per column, and lines about the table under it.
pub struct Description {
    pub columns: RecordBatch,
    pub footer: Vec<String>,
}

/// Describes a table; `verbose` (`\d+`) adds the Acumatica type and where each column comes
/// from, and for entities their detail tables, linked entities and actions.
pub fn describe(found: &Found, others: &[Found], actions: &[String], verbose: bool) -> Description {
    let schema = found.provider.schema();
    let entity = found.provider.downcast_ref::<AcumaticaTable>();
    let def = entity.map(|t| t.def.clone());
    let keys: Vec<String> = def
        .as_ref()
        .map(|d| d.keys.iter().map(|k| d.columns[*k].name.clone()).collect())
        .unwrap_or_default();
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut key = Vec::new();
    let mut acumatica = Vec::new();
    let mut described = Vec::new();
    for field in schema.fields() {
        names.push(field.name().clone());
        types.push(field.data_type().to_string());
        key.push(if keys.contains(field.name()) {
            "yes"
        } else {
            ""
        });
        let column = def.as_ref().and_then(|d| d.column(field.name()));
        acumatica.push(
            column
                .and_then(|c| c.wrapper)
                .map(|w| w.name().to_string())
                .unwrap_or_else(|| match column {
                    Some(_) => "Guid".to_string(),
                    None => String::new(),
                }),
        );
        described.push(match (column, &def) {
            (Some(c), Some(d)) => column_description(&c.source, d),
            _ => String::new(),
        });
    }
    let mut fields = vec![
        Field::new("Column", DataType::Utf8, false),
        Field::new("Type", DataType::Utf8, false),
        Field::new("Key", DataType::Utf8, false),
    ];
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names)),
        Arc::new(StringArray::from(types)),
        Arc::new(StringArray::from(key)),
    ];
    if verbose {
        fields.push(Field::new("Acumatica type", DataType::Utf8, false));
        fields.push(Field::new("Description", DataType::Utf8, false));
        arrays.push(Arc::new(StringArray::from(acumatica)));
        arrays.push(Arc::new(StringArray::from(described)));
    }
    let columns = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .unwrap_or_else(|_| RecordBatch::new_empty(Arc::new(Schema::empty())));
    let mut footer = Vec::new();
    let Some(def) = def else {
        return Description { columns, footer };
    };
    let what = match (def.odata, &def.detail) {
        (Some(ODataKind::Gi), _) => format!("Generic inquiry {} (OData)", quote(&def.resource)),
        (Some(ODataKind::Dac), _) => format!("DAC {} (OData)", def.resource),
        (None, Some(detail)) => format!(
            "Detail lines {}.{detail} (one row per line; the parent's keys first)",
            def.resource
        ),
        (None, None) => format!("Entity {} (contract-based REST)", def.resource),
    };
    footer.push(what);
    if !keys.is_empty() {
        let whose = if def.detail.is_some() {
            format!(" (of the parent {})", def.resource)
        } else {
            String::new()
        };
        footer.push(format!("Keys{whose}: {}", keys.join(", ")));
    }
    if !verbose || def.odata.is_some() {
        return Description { columns, footer };
    }
    if def.detail.is_none() {
        let details: Vec<String> = others
            .iter()
            .filter(|o| {
                o.provider
                    .downcast_ref::<AcumaticaTable>()
                    .is_some_and(|t| t.def.resource == def.resource && t.def.detail.is_some())
            })
            .map(Found::reference)
            .collect();
        if !details.is_empty() {
            footer.push(format!("Detail tables: {}", details.join(", ")));
        }
        let mut links: Vec<&str> = Vec::new();
        for c in &def.columns {
            if let ColumnSource::Linked(link, _) = &c.source
                && !links.contains(&link.as_str())
            {
                links.push(link);
            }
        }
        if !links.is_empty() {
            footer.push(format!(
                "Linked entities: {} (columns <Link>_<Field>)",
                links.join(", ")
            ));
        }
        if !actions.is_empty() {
            footer.push(format!("Actions: {}", actions.join(", ")));
        }
    } else {
        footer.push(format!("Parent table: {}", quote(&def.resource)));
    }
    Description { columns, footer }
}

/// Where a column's value comes from, in Acumatica's terms.
fn column_description(source: &ColumnSource, def: &TableDef) -> String {
    let line = def
        .detail
        .as_ref()
        .map(|d| format!("{d}/"))
        .unwrap_or_default();
    match source {
        ColumnSource::Id => format!(
            "the {}record's id (GUID)",
            if line.is_empty() { "" } else { "line " }
        ),
        ColumnSource::Field(f) => format!("{}.{line}{f}", def.resource),
        ColumnSource::ParentId => format!("the parent {}'s id (GUID)", def.resource),
        ColumnSource::ParentField(f) => format!("{}.{f} of the parent", def.resource),
        ColumnSource::Plain(p) => format!("property {p} of {}", def.resource),
        ColumnSource::Linked(link, f) => format!("{}.{link}/{f} (linked entity)", def.resource),
        ColumnSource::Custom(view, f) => format!("custom field {view}.{f}"),
    }
}
