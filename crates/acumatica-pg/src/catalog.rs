//! The session the server works on: the default catalog (`acumatica`) as the Postgres
//! database, its schemas (`rest`, `gi`, `dac`) as Postgres schemas, plus `pg_catalog` and the
//! functions clients call on connect (`version()`, `current_schema()`, …).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::catalog::{CatalogProvider, MemoryCatalogProviderList, SchemaProvider};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::error::Result;
use datafusion::execution::context::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::{SessionContext, create_udf};
use datafusion::scalar::ScalarValue;
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;

use crate::attribute::WithTypmods;

/// The server version clients see (`server_version`, `version()`): a PostgreSQL version they
/// know how to talk to, and what is really answering.
pub(crate) const SERVER_VERSION: &str = "16.6";

pub(crate) fn version_string() -> String {
    format!(
        "PostgreSQL {SERVER_VERSION} (acusql {}, Apache DataFusion) on Acumatica ERP",
        env!("CARGO_PKG_VERSION")
    )
}

/// A copy of `ctx`'s session for the server: only its default catalog, with `pg_catalog`
/// added to it, and the Postgres functions. The tables are the same objects (one upstream
/// connection); `ctx` is not changed.
pub(crate) fn pg_state(ctx: &SessionContext) -> Result<SessionState> {
    let state = ctx.state();
    let name = state.config().options().catalog.default_catalog.clone();
    let list = MemoryCatalogProviderList::new();
    let tables = state.catalog_list().catalog(&name);
    let with_pg = tables.clone().map(|inner| {
        Arc::new(WithPgCatalog {
            inner,
            extra: RwLock::default(),
        })
    });
    if let Some(catalog) = &with_pg {
        datafusion::catalog::CatalogProviderList::register_catalog(
            &list,
            name.clone(),
            catalog.clone(),
        );
    }
    let state = SessionStateBuilder::new_from_existing(state)
        .with_catalog_list(Arc::new(list))
        .build();
    let pg = SessionContext::new_with_state(state);
    datafusion_pg_catalog::setup_pg_catalog(&pg, &name, EmptyContextProvider).map_err(|e| *e)?;
    if let (Some(catalog), Some(tables)) = (&with_pg, tables)
        && let Some(pg_catalog) = catalog.schema("pg_catalog")
    {
        catalog.register_schema("pg_catalog", Arc::new(WithTypmods { pg_catalog, tables }))?;
    }
    pg.register_udf(version_udf());
    pg.register_udf(to_regtype_udf());
    for name in ["col_description", "obj_description", "shobj_description"] {
        pg.register_udf(ScalarUDF::new_from_impl(NoComment::new(name)));
    }
    let default_schema = pg.state().config().options().catalog.default_schema.clone();
    register_search_path_udfs(&pg, &default_schema);
    Ok(pg.state())
}

/// `current_schema()` and `current_schemas(bool)` answering with the connection's schema.
pub(crate) fn register_search_path_udfs(ctx: &SessionContext, schema: &str) {
    let current = schema.to_string();
    ctx.register_udf(create_udf(
        "current_schema",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_args: &[ColumnarValue]| {
            let array: ArrayRef = Arc::new(StringArray::from(vec![current.clone()]));
            Ok(ColumnarValue::Array(array))
        }),
    ));
    let current = schema.to_string();
    ctx.register_udf(create_udf(
        "current_schemas",
        vec![DataType::Boolean],
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let implicit = match args.first() {
                Some(ColumnarValue::Scalar(s)) => {
                    matches!(s, ScalarValue::Boolean(Some(true)))
                }
                Some(ColumnarValue::Array(a)) => {
                    use datafusion::arrow::array::{Array, AsArray};
                    let b = a.as_boolean();
                    !b.is_empty() && b.is_valid(0) && b.value(0)
                }
                None => false,
            };
            let mut values = Vec::new();
            if implicit {
                values.push("pg_catalog".to_string());
            }
            values.push(current.clone());
            let list = SingleRowListArrayBuilder::new(Arc::new(StringArray::from(values)));
            Ok(ColumnarValue::Array(Arc::new(list.build_list_array())))
        }),
    ));
}

/// `version()`: SQLAlchemy and other clients parse "PostgreSQL X.Y" out of it.
fn version_udf() -> ScalarUDF {
    let text = version_string();
    create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |_args: &[ColumnarValue]| {
            let array: ArrayRef = Arc::new(StringArray::from(vec![text.clone()]));
            Ok(ColumnarValue::Array(array))
        }),
    )
}

/// `to_regtype(name)`: the type's oid, or NULL. Clients probe optional types with it (the
/// SQLAlchemy psycopg dialect asks for `hstore` on connect); none of those exist here.
fn to_regtype_udf() -> ScalarUDF {
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let rows = match args.first() {
                Some(ColumnarValue::Array(a)) => a.len(),
                _ => 1,
            };
            let nulls: ArrayRef =
                Arc::new(datafusion::arrow::array::Int32Array::from(vec![None; rows]));
            Ok(ColumnarValue::Array(nulls))
        }),
    )
}

/// `col_description(table, column)`, `obj_description(oid[, catalog])` and
/// `shobj_description(oid, catalog)`: the comments on objects, which psql's `\d+` and `\dt+`
/// show. Nothing here has a comment, so each is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NoComment {
    name: &'static str,
    signature: Signature,
}

impl NoComment {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            signature: Signature::one_of(
                vec![TypeSignature::Any(1), TypeSignature::Any(2)],
                Volatility::Stable,
            ),
        }
    }
}

impl ScalarUDFImpl for NoComment {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))
    }
}

/// A catalog that adds schemas (`pg_catalog`) to another one without changing it.
#[derive(Debug)]
struct WithPgCatalog {
    inner: Arc<dyn CatalogProvider>,
    extra: RwLock<BTreeMap<String, Arc<dyn SchemaProvider>>>,
}

impl CatalogProvider for WithPgCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self.inner.schema_names();
        if let Ok(extra) = self.extra.read() {
            names.extend(extra.keys().cloned());
        }
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if let Some(s) = self.extra.read().ok().and_then(|e| e.get(name).cloned()) {
            return Some(s);
        }
        self.inner.schema(name)
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        let mut extra = self
            .extra
            .write()
            .map_err(|_| datafusion::error::DataFusionError::Internal("catalog lock".into()))?;
        Ok(extra.insert(name.to_string(), schema))
    }
}
