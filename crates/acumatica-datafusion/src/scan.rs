//! `AcumaticaScanExec`: pages of a list request, fetched by N partitions in parallel (within
//! the connection's throttle), decoded into record batches as they arrive.
//!
//! Partition `p` of `N` reads pages `p, p+N, p+2N, …` (`$skip` = page × page size) until a
//! short page. On a static table no row is lost or read twice; when rows are inserted or
//! deleted during a scan, `$skip` paging can shift rows across page boundaries (Acumatica has
//! no snapshot reads), so a concurrently changing table may show a row twice or miss one.

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
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

use crate::decode::{decode_odata_page, decode_page};
use crate::table::{ColumnSource, ScanOptions, TableDef};

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
    /// Pushdown was on when the scan was planned (sorting may then go to the server).
    pushdown: bool,
    limit: Option<usize>,
    page_size: usize,
    partitions: usize,
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
        let mut request = RestQuery::new(def.entity.clone());
        request.filter = filter;
        let fields: Vec<&ColumnSource> =
            projection.iter().map(|i| &def.columns[*i].source).collect();
        match &def.detail {
            None => {
                let own = |s: &&ColumnSource| matches!(s, ColumnSource::Field(_));
                let all_own = def.columns.iter().map(|c| &c.source).filter(own).count();
                let projected_own: Vec<String> = fields
                    .iter()
                    .filter_map(|s| match s {
                        ColumnSource::Field(f) => Some(f.clone()),
                        _ => None,
                    })
                    .collect();
                // Linked entities: expanded when any of their columns is projected.
                let mut links: Vec<(String, Vec<String>)> = Vec::new();
                for s in &fields {
                    if let ColumnSource::Linked(l, f) = s {
                        match links.iter_mut().find(|(x, _)| x == l) {
                            Some((_, fs)) => fs.push(f.clone()),
                            None => links.push((l.clone(), vec![f.clone()])),
                        }
                    }
                }
                request.expand = links.iter().map(|(l, _)| l.clone()).collect();
                // Every own field wanted: no `$select` at all (a long list only costs URL
                // length), and the expanded links come whole.
                if projected_own.len() < all_own || all_own == 0 {
                    request.select = projected_own;
                    for (l, fs) in &links {
                        let in_table = def
                            .columns
                            .iter()
                            .filter(|c| matches!(&c.source, ColumnSource::Linked(x, _) if x == l))
                            .count();
                        if fs.len() == in_table {
                            request.select.push(l.clone());
                        } else {
                            request.select.extend(fs.iter().map(|f| format!("{l}/{f}")));
                        }
                    }
                    if request.select.is_empty() {
                        // Nothing but row counts or ids needed: ask for the smallest thing.
                        request.select.extend(smallest_member(&def));
                    }
                }
            }
            Some(detail) => {
                request.expand = vec![detail.clone()];
                let mut select: Vec<String> = fields
                    .iter()
                    .filter_map(|s| match s {
                        ColumnSource::ParentField(f) => Some(f.clone()),
                        ColumnSource::Field(f) => Some(format!("{detail}/{f}")),
                        _ => None,
                    })
                    .collect();
                if !select.iter().any(|s| s.starts_with(&format!("{detail}/"))) {
                    // The lines must come back even when none of their fields is projected.
                    select.push(detail.clone());
                }
                request.select = select;
            }
        }
        // Custom fields: requested by `$custom` (the `custom` block comes whatever `$select` says).
        request.custom = fields
            .iter()
            .filter_map(|s| match s {
                ColumnSource::Custom(v, f) => Some(match &def.detail {
                    None => format!("{v}.{f}"),
                    Some(d) => format!("{d}/{v}.{f}"),
                }),
                _ => None,
            })
            .collect();
        let odata = def.odata.map(|kind| {
            let mut q = ODataQuery::new(def.entity.clone());
            q.filter = request.filter.clone();
            q.select = fields
                .iter()
                .filter_map(|s| match s {
                    ColumnSource::Plain(f) => Some(f.clone()),
                    _ => None,
                })
                .collect();
            if q.select.is_empty() {
                q.select.extend(smallest_member(&def));
            }
            // Paging with $top/$skip is stable only in a fixed order: the key's.
            q.orderby = def
                .keys
                .iter()
                .map(|k| def.columns[*k].name.clone())
                .collect();
            (kind, q)
        });
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
        let desc = sort.options.descending;
        let and = |extra: &str| match &base.filter {
            Some(f) => Some(format!("({f}) and {extra}")),
            None => Some(extra.to_string()),
        };
        let mut values = base.clone();
        values.filter = and(&format!("{field} ne null"));
        values.orderby = std::iter::once(format!("{field}{}", if desc { " desc" } else { "" }))
            .chain(base.orderby.iter().cloned())
            .collect();
        let mut nulls = base.clone();
        nulls.filter = and(&format!("{field} eq null"));
        let phases = if sort.options.nulls_first {
            vec![nulls, values]
        } else {
            vec![values, nulls]
        };
        let mut scan = self.clone();
        scan.phases = phases;
        scan.partitions = 1;
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
        struct Cursor {
            page: usize,
            rows: usize,
            done: bool,
            /// OData: the server cut the current page short and sent this link.
            next: Option<String>,
            /// Records of the current page so far (across nextLink continuations).
            page_records: usize,
            /// The server refused to expand the detail in a list: keys, then records.
            one_by_one: bool,
            /// Server-sorted OData scans: which request of `phases` runs.
            phase: usize,
            /// The partition's next page, already requested (contract REST scans without a
            /// limit, once a full page has been seen).
            ahead: Option<ReadAhead>,
            /// A digest of the partition's previous page, to notice a server that ignores
            /// `$skip` and answers every page with the same records.
            last_page: Option<u64>,
        }
        let conn = self.conn.clone();
        let def = self.def.clone();
        let projection = self.projection.clone();
        let schema = self.schema.clone();
        let request = self.request.clone();
        let odata = self.odata.clone();
        let (page_size, step, limit) = (self.page_size, self.partitions, self.limit);
        let start = Cursor {
            page: partition,
            rows: 0,
            done: false,
            next: None,
            page_records: 0,
            one_by_one: false,
            phase: 0,
            ahead: None,
            last_page: None,
        };
        let phases = self.phases.clone();
        // Lazy: a page is requested only when the consumer asks for the next batch, so a
        // satisfied LIMIT or a dropped stream sends no further requests.
        let stream = futures::stream::unfold(start, move |mut cur| {
            let (conn, def, projection, schema, request, odata, phases) = (
                conn.clone(),
                def.clone(),
                projection.clone(),
                schema.clone(),
                request.clone(),
                odata.clone(),
                phases.clone(),
            );
            async move {
                if cur.done || limit.is_some_and(|l| cur.rows >= l) {
                    return None;
                }
                let skip = cur.page * page_size;
                let top = match (limit, def.detail.is_none()) {
                    (Some(l), true) => page_size.min(l - cur.rows),
                    _ => page_size,
                };
                let fail = |e: Box<dyn std::error::Error + Send + Sync>, mut cur: Cursor| {
                    cur.done = true;
                    Some((Err(DataFusionError::External(e)), cur))
                };
                let request_failed = |source| {
                    Box::new(ScanError::Request {
                        table: def.name.clone(),
                        source,
                    })
                };
                // Identical pages are a sign of a server ignoring `$skip` only where records
                // cannot repeat: REST records carry their `id`, OData rows their key when
                // it is projected.
                let distinct_rows = odata.is_none()
                    || (!def.keys.is_empty() && def.keys.iter().all(|k| projection.contains(k)));
                let digest: Option<u64>;
                let decoded = match &odata {
                    None => {
                        let mut q = request;
                        if skip > 0 {
                            q.skip = Some(skip as u64);
                        }
                        q.top = Some(top as u64);
                        let body = if cur.one_by_one {
                            records_one_by_one(&conn, &def, &q).await
                        } else {
                            let fetched = match cur.ahead.take() {
                                Some(a) if a.skip == skip => a.join().await,
                                _ => conn.list(&q).await,
                            };
                            match fetched {
                                Err(e) if cannot_optimize(&e) && def.detail.is_some() => {
                                    tracing::debug!(
                                        "{}: the server cannot expand {} in a list; reading keys, then records one by one",
                                        def.entity,
                                        def.detail.as_deref().unwrap_or_default()
                                    );
                                    cur.one_by_one = true;
                                    records_one_by_one(&conn, &def, &q).await
                                }
                                other => other,
                            }
                        };
                        let body = match body {
                            Ok(b) => b,
                            Err(e) => return fail(request_failed(e), cur),
                        };
                        digest = distinct_rows.then(|| page_digest(&body));
                        // Read-ahead: once this partition has seen a full page, its next page
                        // is requested before this one is decoded, so the server's work and
                        // the network overlap our decoding. Not with a limit (a satisfied
                        // LIMIT must send nothing more); at the end of the table it costs one
                        // empty page per partition.
                        if limit.is_none() && !cur.one_by_one && cur.page >= step {
                            let next_skip = (cur.page + step) * page_size;
                            let mut next = q.clone();
                            next.skip = Some(next_skip as u64);
                            next.top = Some(page_size as u64);
                            let conn = conn.clone();
                            cur.ahead = Some(ReadAhead::new(
                                next_skip,
                                tokio::spawn(async move { conn.list(&next).await }),
                            ));
                        }
                        let (d, p, s) = (def.clone(), projection.clone(), schema.clone());
                        match off_runtime(move || decode_page(&d, &p, &s, &body, skip)).await {
                            Ok(decoded) => decoded.map(|(b, n)| (b, n, None)),
                            Err(e) => return fail(e, cur),
                        }
                    }
                    Some((kind, q)) => {
                        let body = match cur.next.take() {
                            Some(link) => conn.odata_next(&link).await,
                            None => {
                                let mut q = phases.get(cur.phase).unwrap_or(q).clone();
                                if skip > 0 {
                                    q.skip = Some(skip as u64);
                                }
                                q.top = Some(top as u64);
                                conn.odata_get(*kind, &q).await
                            }
                        };
                        let body = match body {
                            Ok(b) => b,
                            Err(e) => return fail(request_failed(e), cur),
                        };
                        digest = distinct_rows.then(|| page_digest(&body));
                        let (d, p, s) = (def.clone(), projection.clone(), schema.clone());
                        let offset = skip + cur.page_records;
                        match off_runtime(move || decode_odata_page(&d, &p, &s, &body, offset))
                            .await
                        {
                            Ok(decoded) => decoded,
                            Err(e) => return fail(e, cur),
                        }
                    }
                };
                match decoded {
                    Ok((_, records, _))
                        if records > 0 && digest.is_some() && digest == cur.last_page =>
                    {
                        let table = def.name.clone();
                        fail(Box::new(ScanError::RepeatedPage { table, skip }), cur)
                    }
                    Ok((batch, records, next)) => {
                        cur.last_page = digest;
                        // The limit is exact: a page of detail lines can overshoot it.
                        let batch = match limit {
                            Some(l) if cur.rows + batch.num_rows() > l => {
                                batch.slice(0, l - cur.rows)
                            }
                            _ => batch,
                        };
                        cur.rows += batch.num_rows();
                        cur.page_records += records;
                        if next.is_some() && cur.page_records < top {
                            // The server paged within our page: continue it.
                            cur.next = next;
                        } else {
                            cur.done = cur.page_records < top;
                            cur.page += step;
                            cur.page_records = 0;
                            if cur.done && cur.phase + 1 < phases.len() {
                                // The next request of a server-sorted scan.
                                cur.phase += 1;
                                cur.page = 0;
                                cur.done = false;
                            }
                        }
                        Some((Ok(batch), cur))
                    }
                    Err(e) => fail(Box::new(e), cur),
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// Runs a page's decoding on the blocking pool. A page is megabytes of JSON: decoded on a
/// runtime worker it would stall that worker's I/O, timers and signal handling (Ctrl-C in the
/// shell) for as long, and a 2-core machine has only two workers.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, Box<dyn std::error::Error + Send + Sync>> {
    match tokio::task::spawn_blocking(work).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Box::new(e)),
    }
}

/// A digest of a page's bytes (two equal digests: the same page, but for a 2^-64 chance).
fn page_digest(body: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    h.write(body);
    h.finish()
}

/// A page requested ahead of need; dropping it (the stream ended or was dropped) cancels the
/// request.
struct ReadAhead {
    skip: usize,
    task: Option<tokio::task::JoinHandle<PageResult>>,
}

type PageResult = std::result::Result<bytes::Bytes, acumatica_client::Error>;

impl ReadAhead {
    fn new(skip: usize, task: tokio::task::JoinHandle<PageResult>) -> Self {
        Self {
            skip,
            task: Some(task),
        }
    }

    async fn join(mut self) -> PageResult {
        let Some(task) = self.task.take() else {
            return Err(acumatica_client::Error::Config(
                "the page read ahead was already taken".into(),
            ));
        };
        match task.await {
            Ok(r) => r,
            Err(e) => Err(acumatica_client::Error::Config(format!(
                "the page read ahead did not complete: {e}"
            ))),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// What to `$select` when a query needs rows but none of their fields (`COUNT(*)`): the first
/// key, else the first field the server stores.
fn smallest_member(def: &TableDef) -> Option<String> {
    def.keys
        .first()
        .map(|k| def.columns[*k].name.clone())
        .or_else(|| {
            def.columns.iter().find_map(|c| match &c.source {
                ColumnSource::Field(f) | ColumnSource::Plain(f) => Some(f.clone()),
                _ => None,
            })
        })
}

/// True for the documented "Optimization cannot be performed" refusal of a list request.
fn cannot_optimize(e: &acumatica_client::Error) -> bool {
    matches!(e, acumatica_client::Error::Server { exception_type: Some(t), .. } if t.contains("CannotOptimize"))
        || e.to_string().contains("Optimization cannot be performed")
}

/// Records a list cannot return with their details expanded: the page of parent keys (same
/// filter, `$skip`, `$top`), then each record by its keys with the detail expanded, a few at a
/// time (the connection's throttle bounds them). Returns the records as one JSON array, in
/// list order.
async fn records_one_by_one(
    conn: &Connection,
    def: &TableDef,
    page: &RestQuery,
) -> std::result::Result<bytes::Bytes, acumatica_client::Error> {
    use futures::StreamExt;
    let key_fields: Vec<String> = def
        .keys
        .iter()
        .filter_map(|k| match &def.columns[*k].source {
            ColumnSource::ParentField(f) | ColumnSource::Field(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    let mut keys_query = RestQuery::new(def.entity.clone());
    keys_query.filter = page.filter.clone();
    keys_query.top = page.top;
    keys_query.skip = page.skip;
    keys_query.select = key_fields.clone();
    let body = conn.list(&keys_query).await?;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&body)
        .map_err(|e| acumatica_client::Error::Server {
            status: 200,
            message: format!("the key list is not a JSON array: {e}"),
            exception_message: None,
            exception_type: None,
        })?;
    let ids: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            if key_fields.is_empty() {
                return vec![
                    r.get("id")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string(),
                ];
            }
            key_fields
                .iter()
                .map(|k| match r.get(k).and_then(|w| w.get("value")) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) if !v.is_null() => v.to_string(),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    let mut one = page.clone();
    one.filter = None;
    one.top = None;
    one.skip = None;
    let bodies: Vec<std::result::Result<bytes::Bytes, acumatica_client::Error>> =
        futures::stream::iter(ids)
            .map(|k| {
                let (conn, one) = (conn.clone(), one.clone());
                async move {
                    let refs: Vec<&str> = k.iter().map(String::as_str).collect();
                    conn.get_by_keys(&one, &refs).await
                }
            })
            .buffered(conn.config().max_concurrent_requests.max(1))
            .collect()
            .await;
    let mut out = Vec::with_capacity(
        bodies
            .iter()
            .map(|b| b.as_ref().map_or(0, |b| b.len() + 1))
            .sum::<usize>()
            + 2,
    );
    out.push(b'[');
    for (i, b) in bodies.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&b?);
    }
    out.push(b']');
    Ok(bytes::Bytes::from(out))
}
