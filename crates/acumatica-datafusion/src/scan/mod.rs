//! `AcumaticaScanExec`: pages of a list request, fetched by N partitions in parallel (within
//! the connection's throttle), decoded into record batches as they arrive.
//!
//! Partition `p` of `N` reads pages `p, p+N, p+2N, …` (`$skip` = page × page size) until a
//! short page. On a static table no row is lost or read twice; when rows are inserted or
//! deleted during a scan, `$skip` paging can shift rows across page boundaries (Acumatica has
//! no snapshot reads), so a concurrently changing table may show a row twice or miss one.
//!
//! - `request`: the request every page repeats, from the projection (planning, no I/O).
//! - `stream`: a partition's `PageStream`, one page per batch asked for.
//! - `rest_pages` and `odata_pages`: where the pages come from, per kind of table;
//!   `read_ahead` and `one_by_one` serve the REST pages.

mod extent;
mod odata_pages;
mod one_by_one;
mod read_ahead;
mod request;
mod rest_pages;
mod stream;

use std::fmt;
use std::sync::Arc;

use acumatica_client::odata::{ODataKind, ODataQuery};
use acumatica_client::{Connection, RestQuery};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

use crate::table::{ColumnSource, ScanOptions, TableDef};
use odata_pages::ODataPages;
use rest_pages::RestPages;
use stream::{PageStream, Pages, Partition};

/// A scan that could not go on, naming the table.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A page request failed (the client's error, intact, as the source).
    #[error("cannot read {table}: {source}")]
    Request {
        table: String,
        #[source]
        source: acumatica_client::Error,
    },
    /// The server answered a page with the same records as the page before: it ignores
    /// `$skip`, and reading on would never end.
    #[error(
        "cannot read {table}: the server sent the same page again (at $skip={skip}); it seems to ignore paging, so the scan stopped instead of reading the same rows forever"
    )]
    RepeatedPage { table: String, skip: usize },
    /// A value of a page cannot be represented (it names the table, row and field).
    #[error(transparent)]
    Decode(#[from] crate::decode::DecodeError),
    /// The task decoding a page did not complete.
    #[error("cannot read {table}: the decoding task did not complete: {source}")]
    Task {
        table: String,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl ScanError {
    /// The client's error behind a failed page request (licence limit, rate limited, the
    /// server's message …).
    pub fn client_error(&self) -> Option<&acumatica_client::Error> {
        match self {
            Self::Request { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Kept whole as `External`, so a caller can `downcast_ref::<ScanError>()` it (see
/// [`crate::client_error`]).
impl From<ScanError> for DataFusionError {
    fn from(e: ScanError) -> Self {
        DataFusionError::External(Box::new(e))
    }
}

#[derive(Debug, Clone)]
pub struct AcumaticaScanExec {
    conn: Connection,
    def: Arc<TableDef>,
    projection: Vec<usize>,
    schema: SchemaRef,
    request: RestQuery,
    /// OData tables: the feed and the request (then `request` is unused).
    odata: Option<(ODataKind, ODataQuery)>,
    /// OData tables sorted on the server (`ORDER BY … LIMIT`): the requests run one after
    /// the other (NULLs and non-NULLs apart, in the order DataFusion wants them).
    phases: Vec<ODataQuery>,
    /// Pushdown was on when the scan was planned (sorting may then go to the server). Read
    /// once here, so one plan never sees the switch in two positions.
    pushdown: bool,
    limit: Option<usize>,
    page_size: usize,
    partitions: usize,
    /// How far the table reaches, shared by the partitions of an execution.
    extents: Arc<extent::Extents>,
    props: Arc<PlanProperties>,
}

impl AcumaticaScanExec {
    pub fn new(
        conn: Connection,
        def: Arc<TableDef>,
        projection: Vec<usize>,
        filter: Option<String>,
        limit: Option<usize>,
        options: &ScanOptions,
    ) -> Self {
        let schema = Arc::new(
            def.schema
                .project(&projection)
                .unwrap_or_else(|_| (*def.schema).clone()),
        );
        let odata = def.odata.map(|kind| {
            (
                kind,
                request::odata_request(&def, &projection, filter.clone()),
            )
        });
        let request = request::rest_request(&def, &projection, filter);
        let page_size = options.page_size.max(1);
        let partitions = match limit {
            Some(l) if l <= page_size => 1,
            _ => options.max_parallel_pages.max(1),
        };
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            conn,
            def,
            projection,
            schema,
            request,
            odata,
            phases: Vec::new(),
            pushdown: options
                .enable_pushdown
                .load(std::sync::atomic::Ordering::Relaxed),
            limit,
            page_size,
            partitions,
            extents: Arc::new(extent::Extents::new(partitions)),
            props,
        }
    }

    /// The list request every page repeats (without `$skip`/`$top`).
    pub fn request(&self) -> &RestQuery {
        &self.request
    }

    /// Rows the scan stops after (pushed `LIMIT`).
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The OData request every page repeats (OData tables).
    pub fn odata_request(&self) -> Option<&ODataQuery> {
        self.odata.as_ref().map(|(_, q)| q)
    }

    /// The first page's request, as EXPLAIN shows it.
    fn first_request(&self) -> String {
        let top = self.limit.map_or(self.page_size, |l| l.min(self.page_size)) as u64;
        if let Some((kind, q)) = &self.odata {
            let base = self
                .conn
                .odata_url(*kind)
                .map(|u| u.path().to_string())
                .unwrap_or_default();
            let phases: Vec<&ODataQuery> = if self.phases.is_empty() {
                vec![q]
            } else {
                self.phases.iter().collect()
            };
            return phases
                .into_iter()
                .map(|q| {
                    let mut q = q.clone();
                    q.top = Some(top);
                    format!("GET {base}{}", q.render_path())
                })
                .collect::<Vec<_>>()
                .join(" then ");
        }
        let mut q = self.request.clone();
        q.top = Some(top);
        format!("GET {}{}", self.conn.endpoint_url().path(), q.render_path())
    }
}

impl DisplayAs for AcumaticaScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match t {
            DisplayFormatType::TreeRender => write!(
                f,
                "request={}\npartitions={}",
                self.first_request(),
                self.partitions
            ),
            _ => write!(
                f,
                "AcumaticaScanExec: {}, partitions={}, page_size={}{}",
                self.first_request(),
                self.partitions,
                self.page_size,
                self.limit
                    .map(|l| format!(", limit={l}"))
                    .unwrap_or_default()
            ),
        }
    }
}

impl ExecutionPlan for AcumaticaScanExec {
    fn name(&self) -> &str {
        "AcumaticaScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    /// `ORDER BY c [DESC] LIMIT n` on an OData table: the server sorts (`$orderby`) and the
    /// limit becomes `$top`. Only where the server's order is DataFusion's: one column of a
    /// number, date-time or boolean type (strings sort case-insensitively there), with NULLs
    /// fetched by a request of their own so they come first or last as asked.
    fn try_pushdown_sort(
        &self,
        order: &[datafusion::physical_expr::PhysicalSortExpr],
    ) -> Result<datafusion::physical_plan::SortOrderPushdownResult<Arc<dyn ExecutionPlan>>> {
        use datafusion::physical_plan::SortOrderPushdownResult as R;
        let (Some((_, base)), [sort]) = (&self.odata, order) else {
            return Ok(R::Unsupported);
        };
        if !self.phases.is_empty() || !self.pushdown {
            return Ok(R::Unsupported);
        }
        let Some(column) = sort
            .expr
            .downcast_ref::<datafusion::physical_expr::expressions::Column>()
        else {
            return Ok(R::Unsupported);
        };
        let Some(&index) = self.projection.get(column.index()) else {
            return Ok(R::Unsupported);
        };
        let def_col = &self.def.columns[index];
        use acumatica_client::metadata::WrapperType as W;
        let orderable = matches!(
            def_col.wrapper,
            Some(W::Int | W::Short | W::Long | W::Byte | W::Decimal | W::DateTime | W::Boolean)
        );
        let ColumnSource::Plain(field) = &def_col.source else {
            return Ok(R::Unsupported);
        };
        if !orderable || def_col.name != *column.name() {
            return Ok(R::Unsupported);
        }
        let phases = request::sort_phases(
            base,
            field,
            sort.options.descending,
            sort.options.nulls_first,
        );
        let mut scan = self.clone();
        scan.phases = phases;
        scan.partitions = 1;
        scan.extents = Arc::new(extent::Extents::new(1));
        let ordering = datafusion::physical_expr::LexOrdering::new(vec![sort.clone()]);
        let mut eq = EquivalenceProperties::new(self.schema.clone());
        if let Some(o) = ordering {
            eq.add_orderings(vec![o]);
        }
        scan.props = Arc::new(PlanProperties::new(
            eq,
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(R::Exact {
            inner: Arc::new(scan),
        })
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        // Only a server-sorted scan is single-partition and ordered; others take LIMIT from
        // the table provider.
        if self.phases.is_empty() {
            return None;
        }
        let mut scan = self.clone();
        scan.limit = match (self.limit, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Some(Arc::new(scan))
    }

    fn fetch(&self) -> Option<usize> {
        // Exact only in one partition; several partitions each stop at the limit.
        self.limit.filter(|_| self.partitions == 1)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let pages = match &self.odata {
            None => Pages::Rest(RestPages::new(self.request.clone())),
            Some((kind, query)) => {
                let def = &self.def;
                let distinct_rows =
                    !def.keys.is_empty() && def.keys.iter().all(|k| self.projection.contains(k));
                Pages::OData(ODataPages::new(
                    *kind,
                    query.clone(),
                    self.phases.clone(),
                    distinct_rows,
                ))
            }
        };
        let part = Partition {
            conn: self.conn.clone(),
            def: self.def.clone(),
            projection: self.projection.clone().into(),
            schema: self.schema.clone(),
            page_size: self.page_size,
            step: self.partitions,
            limit: self.limit,
            extent: self.extents.claim(),
        };
        Ok(PageStream::new(part, pages, partition).into_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's error survives the trip through DataFusion (and its context) whole.
    #[test]
    fn callers_find_the_client_error_behind_a_failed_scan() {
        let scan = ScanError::Request {
            table: "Customer".into(),
            source: acumatica_client::Error::LoginLimit,
        };
        let e = DataFusionError::from(scan).context("while streaming");
        assert!(matches!(
            crate::client_error(&e),
            Some(acumatica_client::Error::LoginLimit)
        ));
        let repeated = ScanError::RepeatedPage {
            table: "Customer".into(),
            skip: 100,
        };
        let e = DataFusionError::from(repeated);
        assert!(crate::client_error(&e).is_none());
        let DataFusionError::External(inner) = &e else {
            panic!("{e:?}");
        };
        assert!(inner.downcast_ref::<ScanError>().is_some());
    }
}
