//! OData feeds over the same generated data: generic inquiries (GI) over OData v4
//! (`/t/<tenant>/api/odata/gi`) and legacy v3 (`/odata/<tenant>`), and DACs over OData v4
//! (`/t/<tenant>/api/odata/dac`). Service documents, `$metadata` (EDMX), and `$filter`,
//! `$select`, `$top`, `$skip`, `$orderby` (`$expand` for DAC navigation collections).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::data::{Data, Entity, Record, V};
use crate::filter::{self, Dialect};

/// One column of an inquiry or DAC.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// `Edm.String`, `Edm.Decimal`, …
    pub edm: &'static str,
}

const fn col(name: &'static str, edm: &'static str) -> Column {
    Column { name, edm }
}

/// A published inquiry or DAC.
#[derive(Debug)]
pub struct Set {
    /// The entity set name (URL segment); DACs also answer to `aliases`.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub keys: &'static [&'static str],
    pub columns: &'static [Column],
    /// DAC navigation collections: (name, target set).
    pub navigation: &'static [(&'static str, &'static str)],
}

pub const INQUIRIES: &[Set] = &[
    Set {
        name: "CustomerBalance",
        aliases: &[],
        keys: &["CustomerID"],
        columns: &[
            col("CustomerID", "Edm.String"),
            col("CustomerName", "Edm.String"),
            col("Status", "Edm.String"),
            col("CurrencyID", "Edm.String"),
            col("CreditLimit", "Edm.Decimal"),
            col("OpenInvoices", "Edm.Int32"),
            col("Balance", "Edm.Decimal"),
            col("LastModifiedOn", "Edm.DateTimeOffset"),
        ],
        navigation: &[],
    },
    Set {
        name: "OpenSalesOrderLines",
        aliases: &[],
        keys: &["OrderType", "OrderNbr", "LineNbr"],
        columns: &[
            col("OrderType", "Edm.String"),
            col("OrderNbr", "Edm.String"),
            col("LineNbr", "Edm.Int32"),
            col("CustomerID", "Edm.String"),
            col("OrderDate", "Edm.DateTimeOffset"),
            col("Status", "Edm.String"),
            col("InventoryID", "Edm.String"),
            col("Description", "Edm.String"),
            col("Quantity", "Edm.Decimal"),
            col("UnitPrice", "Edm.Decimal"),
            col("Amount", "Edm.Decimal"),
            col("Warehouse", "Edm.String"),
        ],
        navigation: &[],
    },
    Set {
        name: "InventoryOnHand",
        aliases: &[],
        keys: &["InventoryID", "Warehouse"],
        columns: &[
            col("InventoryID", "Edm.String"),
            col("Warehouse", "Edm.String"),
            col("Description", "Edm.String"),
            col("QtyOnHand", "Edm.Decimal"),
            col("QtyAvailable", "Edm.Decimal"),
            col("LastModifiedOn", "Edm.DateTimeOffset"),
        ],
        navigation: &[],
    },
];

pub const DACS: &[Set] = &[
    Set {
        name: "SOOrder",
        aliases: &["PX_Objects_SO_SOOrder"],
        keys: &["OrderType", "OrderNbr"],
        columns: &[
            col("OrderType", "Edm.String"),
            col("OrderNbr", "Edm.String"),
            col("Status", "Edm.String"),
            col("OrderDate", "Edm.DateTimeOffset"),
            col("CustomerID", "Edm.Int32"),
            col("CuryOrderTotal", "Edm.Decimal"),
            col("OrderDesc", "Edm.String"),
            col("Hold", "Edm.Boolean"),
            col("NoteID", "Edm.Guid"),
            col("LastModifiedDateTime", "Edm.DateTimeOffset"),
        ],
        navigation: &[("SOLineCollection", "SOLine")],
    },
    Set {
        name: "SOLine",
        aliases: &["PX_Objects_SO_SOLine"],
        keys: &["OrderType", "OrderNbr", "LineNbr"],
        columns: &[
            col("OrderType", "Edm.String"),
            col("OrderNbr", "Edm.String"),
            col("LineNbr", "Edm.Int32"),
            col("InventoryID", "Edm.Int32"),
            col("TranDesc", "Edm.String"),
            col("OrderQty", "Edm.Decimal"),
            col("CuryUnitPrice", "Edm.Decimal"),
            col("CuryLineAmt", "Edm.Decimal"),
        ],
        navigation: &[],
    },
    Set {
        name: "InventoryItem",
        aliases: &["PX_Objects_IN_InventoryItem"],
        keys: &["InventoryID"],
        columns: &[
            col("InventoryID", "Edm.Int32"),
            col("InventoryCD", "Edm.String"),
            col("Descr", "Edm.String"),
            col("ItemStatus", "Edm.String"),
            col("StkItem", "Edm.Boolean"),
            col("BasePrice", "Edm.Decimal"),
            col("LastModifiedDateTime", "Edm.DateTimeOffset"),
        ],
        navigation: &[],
    },
];

/// Which feed a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    GiV4,
    GiV3,
    Dac,
}

impl Feed {
    pub fn sets(self) -> &'static [Set] {
        match self {
            Self::GiV4 | Self::GiV3 => INQUIRIES,
            Self::Dac => DACS,
        }
    }

    pub fn find(self, name: &str) -> Option<&'static Set> {
        self.sets().iter().find(|s| {
            s.name.eq_ignore_ascii_case(name)
                || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// The EDMX document of a feed.
pub fn metadata(feed: Feed) -> String {
    let (namespace, v4) = match feed {
        Feed::GiV4 => ("GI", true),
        Feed::GiV3 => ("GI", false),
        Feed::Dac => ("PX.Api", true),
    };
    let mut types = String::new();
    let mut sets = String::new();
    for s in feed.sets() {
        types.push_str(&format!("<EntityType Name=\"{}\"><Key>", s.name));
        for k in s.keys {
            types.push_str(&format!("<PropertyRef Name=\"{k}\"/>"));
        }
        types.push_str("</Key>");
        for c in s.columns {
            let edm = if !v4 && c.edm == "Edm.DateTimeOffset" {
                "Edm.DateTime"
            } else {
                c.edm
            };
            let nullable = if s.keys.contains(&c.name) {
                " Nullable=\"false\""
            } else {
                ""
            };
            let extra = if edm == "Edm.Decimal" {
                " Precision=\"19\" Scale=\"6\""
            } else {
                ""
            };
            types.push_str(&format!(
                "<Property Name=\"{}\" Type=\"{edm}\"{nullable}{extra}/>",
                xml_escape(c.name)
            ));
        }
        for (nav, target) in s.navigation {
            types.push_str(&format!(
                "<NavigationProperty Name=\"{nav}\" Type=\"Collection({namespace}.{target})\"/>"
            ));
        }
        types.push_str("</EntityType>");
        for name in std::iter::once(&s.name).chain(s.aliases.iter()) {
            sets.push_str(&format!(
                "<EntitySet Name=\"{name}\" EntityType=\"{namespace}.{}\"/>",
                s.name
            ));
        }
    }
    if v4 {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\"><edmx:DataServices><Schema Namespace=\"{namespace}\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">{types}<EntityContainer Name=\"Default\">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
        )
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><edmx:Edmx Version=\"1.0\" xmlns:edmx=\"http://schemas.microsoft.com/ado/2007/06/edmx\"><edmx:DataServices m:DataServiceVersion=\"3.0\" m:MaxDataServiceVersion=\"3.0\" xmlns:m=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\"><Schema Namespace=\"{namespace}\" xmlns=\"http://schemas.microsoft.com/ado/2009/11/edm\">{types}<EntityContainer Name=\"Default\" m:IsDefaultEntityContainer=\"true\">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
        )
    }
}

/// The service document.
pub fn service(feed: Feed, context: &str) -> String {
    let items: Vec<String> = feed
        .sets()
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
        .map(|n| format!("{{\"name\":\"{n}\",\"kind\":\"EntitySet\",\"url\":\"{n}\"}}"))
        .collect();
    match feed {
        Feed::GiV3 => format!(
            "{{\"odata.metadata\":\"{context}/$metadata\",\"value\":[{}]}}",
            items.join(",")
        ),
        _ => format!(
            "{{\"@odata.context\":\"{context}/$metadata\",\"value\":[{}]}}",
            items.join(",")
        ),
    }
}

const DAC_STATUS: &[(&str, &str)] = &[
    ("Open", "N"),
    ("Completed", "C"),
    ("On Hold", "H"),
    ("Shipping", "S"),
    ("Cancelled", "L"),
];

fn row(id: String, fields: Vec<(&'static str, V)>) -> Record {
    Record {
        id,
        fields,
        ..Default::default()
    }
}

/// Balance and count of open invoices per customer, computed once.
fn balances(data: &Data) -> &'static [(i128, i64)] {
    type Balances = &'static [(i128, i64)];
    static CACHE: OnceLock<std::sync::Mutex<HashMap<(u64, u32), Balances>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut g = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    g.entry((data.seed, data.scale)).or_insert_with(|| {
        let mut v = vec![(0i128, 0i64); data.count(Entity::Customer)];
        for i in 0..data.count(Entity::SalesInvoice) {
            let inv = data.record(Entity::SalesInvoice, i, false);
            if let (Some(V::Str(c)), Some(V::Dec(b, _))) =
                (inv.get("CustomerID"), inv.get("Balance"))
                && let Some(n) = c.strip_prefix('C').and_then(|n| n.parse::<usize>().ok())
                && *b != 0
            {
                v[n - 1].0 += b;
                v[n - 1].1 += 1;
            }
        }
        Box::leak(v.into_boxed_slice())
    })
}

/// Every row of a set, in key order, lazily (DAC rows keep their detail lines in `details`).
pub fn rows<'a>(
    data: &'a Data,
    feed: Feed,
    set: &'static Set,
    with_lines: bool,
) -> Box<dyn Iterator<Item = Record> + 'a> {
    match (feed, set.name) {
        (Feed::GiV4 | Feed::GiV3, "CustomerBalance") => {
            let b = balances(data);
            Box::new((0..data.count(Entity::Customer)).map(move |i| {
                let c = data.record(Entity::Customer, i, false);
                let g = |k: &str| c.get(k).cloned().unwrap_or(V::Null);
                row(
                    c.id.clone(),
                    vec![
                        ("CustomerID", g("CustomerID")),
                        ("CustomerName", g("CustomerName")),
                        ("Status", g("Status")),
                        ("CurrencyID", g("CurrencyID")),
                        ("CreditLimit", g("CreditLimit")),
                        ("OpenInvoices", V::Int(b[i].1)),
                        ("Balance", V::Dec(b[i].0, 4)),
                        ("LastModifiedOn", g("LastModifiedDateTime")),
                    ],
                )
            }))
        }
        (Feed::GiV4 | Feed::GiV3, "OpenSalesOrderLines") => Box::new(
            (0..data.count(Entity::SalesOrder))
                .filter_map(move |i| {
                    let head = data.record(Entity::SalesOrder, i, false);
                    let open = matches!(head.get("Status"), Some(V::Str(s)) if matches!(s.as_str(), "Open" | "On Hold" | "Shipping"));
                    open.then(|| data.record(Entity::SalesOrder, i, true))
                })
                .flat_map(|o| {
                    let g = |k: &str| o.get(k).cloned().unwrap_or(V::Null);
                    let head = [g("OrderType"), g("OrderNbr"), g("CustomerID"), g("Date"), g("Status")];
                    let lines = o.details.first().map(|d| d.1.clone()).unwrap_or_default();
                    lines.into_iter().map(move |l| {
                        let lg = |k: &str| l.get(k).cloned().unwrap_or(V::Null);
                        row(
                            l.id.clone(),
                            vec![
                                ("OrderType", head[0].clone()),
                                ("OrderNbr", head[1].clone()),
                                ("LineNbr", lg("LineNbr")),
                                ("CustomerID", head[2].clone()),
                                ("OrderDate", head[3].clone()),
                                ("Status", head[4].clone()),
                                ("InventoryID", lg("InventoryID")),
                                ("Description", lg("LineDescription")),
                                ("Quantity", lg("OrderQty")),
                                ("UnitPrice", lg("UnitPrice")),
                                ("Amount", lg("Amount")),
                                ("Warehouse", lg("WarehouseID")),
                            ],
                        )
                    })
                }),
        ),
        (Feed::GiV4 | Feed::GiV3, "InventoryOnHand") => Box::new((0..data.count(Entity::StockItem)).flat_map(move |i| {
            let item = data.record(Entity::StockItem, i, false);
            ["MAIN", "RETAIL"].into_iter().enumerate().map(move |(w, wh)| {
                let h = crate::data::mix(data.seed ^ (i as u64) << 4 ^ w as u64);
                let on_hand = (h % 500) as i128 * 1_000_000;
                let g = |k: &str| item.get(k).cloned().unwrap_or(V::Null);
                row(
                    format!("{}-{w}", item.id),
                    vec![
                        ("InventoryID", g("InventoryID")),
                        // Key values come space-padded to the column width, as on SQL Server.
                        ("Warehouse", V::Str(format!("{wh:<10}"))),
                        ("Description", g("Description")),
                        ("QtyOnHand", V::Dec(on_hand, 6)),
                        ("QtyAvailable", V::Dec(on_hand - (h >> 20) as i128 % 50 * 1_000_000, 6)),
                        ("LastModifiedOn", g("LastModifiedDateTime")),
                    ],
                )
            })
        })),
        (Feed::Dac, "SOOrder") => Box::new((0..data.count(Entity::SalesOrder)).map(move |i| {
            let o = data.record(Entity::SalesOrder, i, with_lines);
            let g = |k: &str| o.get(k).cloned().unwrap_or(V::Null);
            let status = match o.get("Status") {
                Some(V::Str(s)) => DAC_STATUS.iter().find(|x| x.0 == s).map_or("N", |x| x.1),
                _ => "N",
            };
            let customer = match o.get("CustomerID") {
                Some(V::Str(c)) => c[1..].parse::<i64>().unwrap_or(0) + 1000,
                _ => 0,
            };
            let mut r = row(
                o.id.clone(),
                vec![
                    ("OrderType", g("OrderType")),
                    ("OrderNbr", g("OrderNbr")),
                    ("Status", V::Str(status.into())),
                    ("OrderDate", g("Date")),
                    ("CustomerID", V::Int(customer)),
                    ("CuryOrderTotal", g("OrderTotal")),
                    ("OrderDesc", g("Description")),
                    ("Hold", g("Hold")),
                    ("NoteID", V::Str(o.id.clone())),
                    ("LastModifiedDateTime", g("LastModified")),
                ],
            );
            if with_lines {
                let lines = o.details.first().map(|d| d.1.clone()).unwrap_or_default();
                r.details = vec![("SOLineCollection", lines.iter().map(|l| so_line(&o, l)).collect())];
            }
            r
        })),
        (Feed::Dac, "SOLine") => Box::new((0..data.count(Entity::SalesOrder)).flat_map(move |i| {
            let o = data.record(Entity::SalesOrder, i, true);
            let lines = o.details.first().map(|d| d.1.clone()).unwrap_or_default();
            lines.iter().map(|l| so_line(&o, l)).collect::<Vec<_>>()
        })),
        (Feed::Dac, "InventoryItem") => Box::new((0..data.count(Entity::StockItem)).map(move |i| {
            let s = data.record(Entity::StockItem, i, false);
            let g = |k: &str| s.get(k).cloned().unwrap_or(V::Null);
            let status = if matches!(s.get("ItemStatus"), Some(V::Str(x)) if x == "Active") { "AC" } else { "IN" };
            row(
                s.id.clone(),
                vec![
                    ("InventoryID", V::Int(i as i64 + 1)),
                    ("InventoryCD", V::Str(format!("{:<30}", Data::item_id(i)))),
                    ("Descr", g("Description")),
                    ("ItemStatus", V::Str(status.into())),
                    ("StkItem", V::Bool(true)),
                    ("BasePrice", g("DefaultPrice")),
                    ("LastModifiedDateTime", g("LastModifiedDateTime")),
                ],
            )
        })),
        _ => Box::new(std::iter::empty()),
    }
}

fn so_line(o: &Record, l: &Record) -> Record {
    let g = |k: &str| l.get(k).cloned().unwrap_or(V::Null);
    let item = match l.get("InventoryID") {
        Some(V::Str(s)) => s.trim_start_matches("ITEM").parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    row(
        l.id.clone(),
        vec![
            ("OrderType", o.get("OrderType").cloned().unwrap_or(V::Null)),
            ("OrderNbr", o.get("OrderNbr").cloned().unwrap_or(V::Null)),
            ("LineNbr", g("LineNbr")),
            ("InventoryID", V::Int(item)),
            ("TranDesc", g("LineDescription")),
            ("OrderQty", g("OrderQty")),
            ("CuryUnitPrice", g("UnitPrice")),
            ("CuryLineAmt", g("Amount")),
        ],
    )
}

/// An OData error: status and the standard v4 (or v3) error envelope.
pub struct ODataError(pub u16, pub String);

fn err(feed: Feed, status: u16, code: &str, message: &str) -> ODataError {
    let m = serde_json::to_string(message).unwrap_or_default();
    ODataError(
        status,
        match feed {
            Feed::GiV3 => format!(
                "{{\"odata.error\":{{\"code\":\"{code}\",\"message\":{{\"lang\":\"en-US\",\"value\":{m}}}}}}}"
            ),
            _ => format!("{{\"error\":{{\"code\":\"{code}\",\"message\":{m}}}}}"),
        },
    )
}

fn write_value(out: &mut String, v: &V, feed: Feed) {
    match v {
        V::Null => out.push_str("null"),
        V::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        V::Int(i) => out.push_str(&i.to_string()),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Dec(u, s) => {
            let p = 10_i128.pow(u32::from(*s));
            if *u < 0 {
                out.push('-');
            }
            let a = u.unsigned_abs();
            out.push_str(&format!(
                "{}.{:0w$}",
                a / p as u128,
                a % p as u128,
                w = *s as usize
            ));
        }
        V::Time(t) => {
            let d = chrono::DateTime::from_timestamp(*t, 0).unwrap_or_default();
            let f = if feed == Feed::GiV3 {
                "%Y-%m-%dT%H:%M:%S"
            } else {
                "%Y-%m-%dT%H:%M:%SZ"
            };
            out.push('"');
            out.push_str(&d.format(f).to_string());
            out.push('"');
        }
    }
}

/// Server-driven paging: without `$top`, at most this many rows, then `@odata.nextLink`.
pub const MAX_PAGE: usize = 10_000;

/// Serves `GET <feed>/<set>?<query>`; `params` are the decoded query options.
pub fn query(
    data: &Data,
    feed: Feed,
    set_name: &str,
    params: &HashMap<String, String>,
    context: &str,
) -> Result<String, ODataError> {
    let set = feed.find(set_name).ok_or_else(|| {
        err(
            feed,
            404,
            "NotFound",
            &format!("Resource not found for the segment '{set_name}'."),
        )
    })?;
    let column = |n: &str| set.columns.iter().find(|c| c.name.eq_ignore_ascii_case(n));
    let type_name = match feed {
        Feed::Dac => format!("PX.Api.{}", set.name),
        _ => "GI.Row".to_string(),
    };
    let unknown = |n: &str| {
        err(
            feed,
            400,
            "BadRequest",
            &format!("Could not find a property named '{n}' on type '{type_name}'."),
        )
    };
    let select: Option<Vec<&Column>> = match params.get("$select") {
        None => None,
        Some(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|n| column(n).ok_or_else(|| unknown(n)))
                .collect::<Result<_, _>>()?,
        ),
    };
    let expand: Vec<&str> = params
        .get("$expand")
        .map(|e| {
            e.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !expand.is_empty() && feed != Feed::Dac {
        return Err(err(
            feed,
            400,
            "BadRequest",
            "The query parameter '$expand' is not supported.",
        ));
    }
    for e in &expand {
        let nav = e.split('(').next().unwrap_or_default();
        if !set
            .navigation
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(nav))
        {
            return Err(unknown(nav));
        }
    }
    let dialect = if feed == Feed::GiV3 {
        Dialect::ODataV3
    } else {
        Dialect::ODataV4
    };
    let filter = match params.get("$filter") {
        None => None,
        Some(f) => {
            let e = filter::parse_in(f, dialect).map_err(|e| err(feed, 400, "BadRequest", &e.0))?;
            let mut paths = Vec::new();
            filter::paths(&e, &mut paths);
            if let Some(p) = paths.iter().find(|p| column(p).is_none()) {
                return Err(unknown(p));
            }
            Some(e)
        }
    };
    let num = |k: &str| -> Result<Option<usize>, ODataError> {
        params
            .get(k)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    err(
                        feed,
                        400,
                        "BadRequest",
                        &format!("Invalid value '{v}' for {k}."),
                    )
                })
            })
            .transpose()
    };
    let top = num("$top")?;
    let skip = num("$skip")?.unwrap_or(0);
    let mut order: Vec<(&Column, bool)> = Vec::new();
    if let Some(o) = params.get("$orderby") {
        for part in o.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or_default();
            let desc = matches!(
                words.next().map(str::to_ascii_lowercase).as_deref(),
                Some("desc")
            );
            order.push((column(name).ok_or_else(|| unknown(name))?, desc));
        }
    }
    // Rows come in key order; an `$orderby` on a key prefix, ascending, changes nothing.
    let natural = order
        .iter()
        .enumerate()
        .all(|(i, (c, desc))| !desc && set.keys.get(i) == Some(&c.name));
    let with_lines = !expand.is_empty();
    let mut matching = rows(data, feed, set, with_lines).filter(|r| match &filter {
        None => true,
        Some(f) => filter::eval(f, r).unwrap_or(false),
    });
    let limit = top.unwrap_or(MAX_PAGE);
    let mut picked: Vec<Record> = if natural {
        matching.by_ref().skip(skip).take(limit + 1).collect()
    } else {
        let mut all: Vec<Record> = matching.collect();
        all.sort_by(|a, b| {
            for (c, desc) in &order {
                let o = compare(a.get(c.name), b.get(c.name));
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        all.into_iter().skip(skip).take(limit + 1).collect()
    };
    let more = top.is_none() && picked.len() > limit;
    picked.truncate(limit);
    let mut out = String::new();
    match feed {
        Feed::GiV3 => out.push_str(&format!(
            "{{\"odata.metadata\":\"{context}/$metadata#{}\",\"value\":[",
            set.name
        )),
        _ => out.push_str(&format!(
            "{{\"@odata.context\":\"{context}/$metadata#{}\",\"value\":[",
            set.name
        )),
    }
    let cols: Vec<&Column> = select.unwrap_or_else(|| set.columns.iter().collect());
    for (i, r) in picked.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_row(&mut out, r, &cols, feed, &expand);
    }
    out.push(']');
    if more {
        let mut next: Vec<String> = params
            .iter()
            .filter(|(k, _)| *k != "$skip")
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect();
        next.sort();
        next.push(format!("$skip={}", skip + limit));
        let key = if feed == Feed::GiV3 {
            "odata.nextLink"
        } else {
            "@odata.nextLink"
        };
        out.push_str(&format!(
            ",\"{key}\":\"{context}/{}?{}\"",
            set.name,
            next.join("&")
        ));
    }
    out.push('}');
    Ok(out)
}

fn write_row(out: &mut String, r: &Record, cols: &[&Column], feed: Feed, expand: &[&str]) {
    out.push('{');
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(c.name);
        out.push_str("\":");
        write_value(out, r.get(c.name).unwrap_or(&V::Null), feed);
    }
    for (name, lines) in &r.details {
        if !expand.iter().any(|e| {
            e.split('(')
                .next()
                .unwrap_or_default()
                .eq_ignore_ascii_case(name)
        }) {
            continue;
        }
        let target = DACS
            .iter()
            .find(|s| s.name == "SOLine")
            .map(|s| s.columns)
            .unwrap_or(&[]);
        let line_cols: Vec<&Column> = target.iter().collect();
        out.push_str(&format!(",\"{name}\":["));
        for (j, l) in lines.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_row(out, l, &line_cols, feed, &[]);
        }
        out.push(']');
    }
    out.push('}');
}

fn compare(a: Option<&V>, b: Option<&V>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None | Some(V::Null), None | Some(V::Null)) => Ordering::Equal,
        (None | Some(V::Null), _) => Ordering::Less,
        (_, None | Some(V::Null)) => Ordering::Greater,
        (Some(V::Str(x)), Some(V::Str(y))) => x
            .trim_end()
            .to_lowercase()
            .cmp(&y.trim_end().to_lowercase()),
        (Some(V::Int(x)), Some(V::Int(y))) => x.cmp(y),
        (Some(V::Time(x)), Some(V::Time(y))) => x.cmp(y),
        (Some(V::Bool(x)), Some(V::Bool(y))) => x.cmp(y),
        (Some(V::Dec(x, sx)), Some(V::Dec(y, sy))) => {
            let s = (*sx).max(*sy);
            (x * 10_i128.pow(u32::from(s - sx))).cmp(&(y * 10_i128.pow(u32::from(s - sy))))
        }
        _ => Ordering::Equal,
    }
}
