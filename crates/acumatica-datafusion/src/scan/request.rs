//! The requests a scan repeats page after page, rendered from the projected columns: which
//! fields to `$select`, which linked entities and details to `$expand`, which custom fields to
//! ask for, and (OData) the order that keeps `$top`/`$skip` paging stable.

use acumatica_client::RestQuery;
use acumatica_client::odata::ODataQuery;

use crate::table::{ColumnSource, TableDef};

/// The contract REST list request for the columns `projection` of `def`.
pub(super) fn rest_request(
    def: &TableDef,
    projection: &[usize],
    filter: Option<String>,
) -> RestQuery {
    let mut request = RestQuery::new(def.resource.clone());
    request.filter = filter;
    let fields: Vec<&ColumnSource> = projection.iter().map(|i| &def.columns[*i].source).collect();
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
                    request.select.extend(smallest_member(def));
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
    request
}

/// The OData request for the columns `projection` of `def` (an inquiry or a DAC).
pub(super) fn odata_request(
    def: &TableDef,
    projection: &[usize],
    filter: Option<String>,
) -> ODataQuery {
    let mut q = ODataQuery::new(def.resource.clone());
    q.filter = filter;
    q.select = projection
        .iter()
        .filter_map(|i| match &def.columns[*i].source {
            ColumnSource::Plain(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    if q.select.is_empty() {
        q.select.extend(smallest_member(def));
    }
    // Paging with $top/$skip is stable only in a fixed order: the key's.
    q.orderby = def
        .keys
        .iter()
        .map(|k| def.columns[*k].name.clone())
        .collect();
    q
}

/// The requests of a scan sorted on the server by `field`: the non-NULL values in order and
/// the NULLs by a request of their own, first or last as asked (the server's own place for
/// NULLs need not be DataFusion's).
pub(super) fn sort_phases(
    base: &ODataQuery,
    field: &str,
    descending: bool,
    nulls_first: bool,
) -> Vec<ODataQuery> {
    let and = |extra: &str| match &base.filter {
        Some(f) => Some(format!("({f}) and {extra}")),
        None => Some(extra.to_string()),
    };
    let mut values = base.clone();
    values.filter = and(&format!("{field} ne null"));
    values.orderby = std::iter::once(format!("{field}{}", if descending { " desc" } else { "" }))
        .chain(base.orderby.iter().cloned())
        .collect();
    let mut nulls = base.clone();
    nulls.filter = and(&format!("{field} eq null"));
    if nulls_first {
        vec![nulls, values]
    } else {
        vec![values, nulls]
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
