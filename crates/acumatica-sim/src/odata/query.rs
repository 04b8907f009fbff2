//! Serving a request for a set: its key lookup or function arguments, `$filter`, `$select`,
//! `$expand`, `$orderby`, `$top`, `$skip` and server-driven paging.

use std::collections::HashMap;

use super::catalog::{Column, Feed, Navigation, Set, WITH_PARAMETERS, target};
use super::navigation::{by_key, same};
use super::response::{ODataError, err, unknown_property, write_entity};
use super::rows::rows;
use super::segments::{
    Arg, Expand, expand_depth, parse_expand, parse_filter, parse_literal, parse_segment,
    percent_decode, split_aliases, split_top,
};
use crate::data::{Data, FieldValue, Record};
use crate::filter::{self, Expr};

/// Server-driven paging: without `$top`, at most this many rows, then `@odata.nextLink`.
pub const MAX_PAGE: usize = 10_000;

/// Acumatica's default `px.core/odata@maxExpansionDepth`.
pub const MAX_EXPANSION_DEPTH: usize = 3;

/// `$select` of `set`: the named columns (`*` or none: all).
fn columns(
    feed: Feed,
    set: &'static Set,
    names: Option<&[String]>,
) -> Result<Vec<&'static Column>, ODataError> {
    match names {
        None => Ok(set.columns.iter().collect()),
        Some(names) if names.iter().any(|n| n == "*") => Ok(set.columns.iter().collect()),
        Some(names) => names
            .iter()
            .map(|n| set.column(n).ok_or_else(|| unknown_property(feed, set, n)))
            .collect(),
    }
}

/// An `$expand` item checked against the model, ready to write.
pub(super) struct Expansion {
    pub(super) nav: &'static Navigation,
    pub(super) columns: Vec<&'static Column>,
    pub(super) filter: Option<Expr>,
    pub(super) top: Option<usize>,
    pub(super) skip: usize,
    pub(super) expand: Vec<Expansion>,
}

fn plan_expand(
    feed: Feed,
    set: &'static Set,
    items: &[Expand],
) -> Result<Vec<Expansion>, ODataError> {
    items
        .iter()
        .map(|x| {
            let nav = set
                .nav(&x.nav)
                .ok_or_else(|| unknown_property(feed, set, &x.nav))?;
            let t = target(nav);
            Ok(Expansion {
                nav,
                columns: columns(feed, t, x.select.as_deref())?,
                filter: x
                    .filter
                    .as_deref()
                    .map(|f| parse_filter(feed, t, f))
                    .transpose()?,
                top: x.top,
                skip: x.skip.unwrap_or(0),
                expand: plan_expand(feed, t, &x.expand)?,
            })
        })
        .collect()
}

/// Serves `GET <feed>/<segment>?<query>`. `segment` is the raw (percent-encoded) last path
/// segment: a set (`Customer%20Contacts`), a DAC key lookup
/// (`SOOrder(OrderType='SO',OrderNbr='SO000058')`) or an inquiry with parameters
/// (`ItemAvailabilityData_WithParameters(InventoryID='ITEM00001')`, or `(InventoryID=@1)` with
/// `@1='…'` in the query). `params` are the decoded query options, keys lower-cased.
pub fn query(
    data: &Data,
    feed: Feed,
    segment: &str,
    params: &HashMap<String, String>,
    context: &str,
) -> Result<String, ODataError> {
    let bad = |m: &str| err(feed, 400, "BadRequest", m);
    let not_found = || {
        err(
            feed,
            404,
            "NotFound",
            &format!(
                "Resource not found for the segment '{}'.",
                percent_decode(segment)
            ),
        )
    };
    let seg = parse_segment(segment).map_err(|m| bad(&m))?;
    let (params, aliases) = split_aliases(params);
    let value_of = |a: &Arg| -> Result<FieldValue, ODataError> {
        match a {
            Arg::Value(v) => Ok(v.clone()),
            Arg::Alias(name) => match aliases.get(name).map(|t| parse_literal(t.trim())) {
                Some(Ok(Arg::Value(v))) => Ok(v),
                Some(_) => Err(bad(&format!(
                    "The value of the parameter alias '{name}' is not a valid literal."
                ))),
                None => Err(bad(&format!(
                    "The parameter alias '{name}' is not given a value in the query string."
                ))),
            },
        }
    };
    // What the segment addresses: a set, one entity of a DAC, or an inquiry's rows for
    // parameter values.
    let mut lookup: Option<Vec<FieldValue>> = None;
    let mut conditions: Vec<(&'static str, FieldValue)> = Vec::new();
    let set = match (feed.find(&seg.name), &seg.args) {
        (Some(set), None) => set,
        (Some(set), Some(args)) if feed == Feed::Dac => {
            lookup = Some(key_values(set, args, &value_of).map_err(|m| bad(&m))?);
            set
        }
        (Some(set), Some(_)) => {
            return Err(bad(&format!(
                "The inquiry '{}' has no key lookup; pass parameters with {}{WITH_PARAMETERS}(Name='value').",
                set.name,
                set.type_name()
            )));
        }
        (None, _) => {
            let base = seg
                .name
                .len()
                .checked_sub(WITH_PARAMETERS.len())
                .filter(|&n| {
                    feed != Feed::Dac
                        && seg.name.is_char_boundary(n)
                        && seg.name[n..].eq_ignore_ascii_case(WITH_PARAMETERS)
                })
                .map(|n| &seg.name[..n]);
            let set = base
                .and_then(|b| {
                    feed.sets().iter().find(|s| {
                        !s.parameters.is_empty()
                            && (s.name.eq_ignore_ascii_case(b)
                                || s.type_name().eq_ignore_ascii_case(b))
                    })
                })
                .ok_or_else(not_found)?;
            for (name, arg) in seg.args.iter().flatten() {
                let Some(name) = name else {
                    return Err(bad(&format!(
                        "The arguments of '{}' must be named (Name='value').",
                        seg.name
                    )));
                };
                let p = set
                    .parameters
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        bad(&format!(
                            "The function '{}' has no parameter named '{name}'.",
                            seg.name
                        ))
                    })?;
                // An empty parameter, like an empty field on the inquiry form, filters nothing.
                match value_of(arg)? {
                    FieldValue::Null => {}
                    v => conditions.push((p.column, v)),
                }
            }
            set
        }
    };
    let select = params.get("$select").map(|s| {
        split_top(s, ',')
            .into_iter()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    let cols = columns(feed, set, select.as_deref())?;
    let expand = match params.get("$expand") {
        None => Vec::new(),
        Some(_) if feed != Feed::Dac => {
            return Err(bad("The query parameter '$expand' is not supported."));
        }
        Some(e) => {
            let items = parse_expand(e).map_err(|m| bad(&m))?;
            if expand_depth(&items) > MAX_EXPANSION_DEPTH {
                return Err(bad(&format!(
                    "The request includes a $expand path which is too deep. The maximum depth allowed is {MAX_EXPANSION_DEPTH}."
                )));
            }
            plan_expand(feed, set, &items)?
        }
    };
    if let Some(values) = lookup {
        let r = by_key(data, set, &values).ok_or_else(not_found)?;
        let mut body = String::new();
        write_entity(&mut body, data, feed, &r, &cols, &expand);
        let ctx = format!(
            "\"@odata.context\":\"{context}/$metadata#{}/$entity\"",
            set.name
        );
        return Ok(match body.strip_prefix("{}") {
            Some(_) => format!("{{{ctx}}}"),
            None => format!("{{{ctx},{}", &body[1..]),
        });
    }
    let filter = params
        .get("$filter")
        .map(|f| parse_filter(feed, set, f))
        .transpose()?;
    let num = |k: &str| -> Result<Option<usize>, ODataError> {
        params
            .get(k)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| bad(&format!("Invalid value '{v}' for {k}.")))
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
            let c = set
                .column(name)
                .ok_or_else(|| unknown_property(feed, set, name))?;
            order.push((c, desc));
        }
    }
    // Rows come in key order; an `$orderby` on a key prefix, ascending, changes nothing.
    let natural = order
        .iter()
        .enumerate()
        .all(|(i, (c, desc))| !desc && set.keys.get(i) == Some(&c.name));
    let mut matching = rows(data, feed, set).filter(|r| {
        conditions
            .iter()
            .all(|(c, v)| r.get(c).is_some_and(|x| same(x, v)))
            && filter
                .as_ref()
                .is_none_or(|f| filter::eval(f, r).unwrap_or(false))
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
    for (i, r) in picked.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_entity(&mut out, data, feed, r, &cols, &expand);
    }
    out.push(']');
    if more {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let mut next: Vec<String> = params
            .iter()
            .filter(|(k, _)| *k != "$skip")
            .chain(aliases.iter())
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        next.sort();
        next.push(format!("$skip={}", skip + limit));
        let key = if feed == Feed::GiV3 {
            "odata.nextLink"
        } else {
            "@odata.nextLink"
        };
        // The request's own segment (still percent-encoded), so a function call pages too.
        out.push_str(&format!(
            ",\"{key}\":\"{context}/{}?{}\"",
            segment.replace('"', "%22"),
            next.join("&")
        ));
    }
    out.push('}');
    Ok(out)
}

/// Key values of a DAC key lookup in `set.keys` order: `(value)` for a single key, else
/// `(Key1=value,Key2=value)` naming every key.
fn key_values(
    set: &Set,
    args: &[(Option<String>, Arg)],
    value_of: &dyn Fn(&Arg) -> Result<FieldValue, ODataError>,
) -> Result<Vec<FieldValue>, String> {
    let wrong = || {
        format!(
            "The key of '{}' is ({}); give every key field once, as Name='value'.",
            set.name,
            set.keys.join(",")
        )
    };
    let value = |a: &Arg| value_of(a).map_err(|_| wrong());
    if let [(None, a)] = args
        && set.keys.len() == 1
    {
        return Ok(vec![value(a)?]);
    }
    if args.len() != set.keys.len() {
        return Err(wrong());
    }
    set.keys
        .iter()
        .map(|k| {
            let (_, a) = args
                .iter()
                .find(|(n, _)| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(k)))
                .ok_or_else(wrong)?;
            value(a)
        })
        .collect()
}

pub(super) fn compare(a: Option<&FieldValue>, b: Option<&FieldValue>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None | Some(FieldValue::Null), None | Some(FieldValue::Null)) => Ordering::Equal,
        (None | Some(FieldValue::Null), _) => Ordering::Less,
        (_, None | Some(FieldValue::Null)) => Ordering::Greater,
        (Some(FieldValue::Str(x)), Some(FieldValue::Str(y))) => x
            .trim_end()
            .to_lowercase()
            .cmp(&y.trim_end().to_lowercase()),
        (Some(FieldValue::Int(x)), Some(FieldValue::Int(y))) => x.cmp(y),
        (Some(FieldValue::Time(x)), Some(FieldValue::Time(y))) => x.cmp(y),
        (Some(FieldValue::Bool(x)), Some(FieldValue::Bool(y))) => x.cmp(y),
        (Some(FieldValue::Dec(x, sx)), Some(FieldValue::Dec(y, sy))) => {
            let s = (*sx).max(*sy);
            (x * 10_i128.pow(u32::from(s - sx))).cmp(&(y * 10_i128.pow(u32::from(s - sy))))
        }
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Entity;
    use crate::odata::rows::{SITES, inventory_item};

    const DATA: Data = Data { seed: 42, scale: 1 };

    fn get(
        feed: Feed,
        segment: &str,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, (u16, String)> {
        let params = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        query_json(feed, segment, &params)
    }

    fn query_json(
        feed: Feed,
        segment: &str,
        params: &HashMap<String, String>,
    ) -> Result<serde_json::Value, (u16, String)> {
        match query(
            &DATA,
            feed,
            segment,
            params,
            "http://x/t/Company/api/odata/gi",
        ) {
            Ok(body) => Ok(serde_json::from_str(&body).expect("valid JSON")),
            Err(ODataError(status, body)) => Err((status, body)),
        }
    }

    #[test]
    fn inquiry_parameters_filter_rows() {
        let all = get(Feed::GiV4, "ItemAvailabilityData", &[]).unwrap();
        assert_eq!(
            all["value"].as_array().unwrap().len(),
            DATA.count(Entity::StockItem)
        );
        let one = get(
            Feed::GiV4,
            "ItemAvailabilityData_WithParameters(InventoryID='ITEM00005')",
            &[],
        )
        .unwrap();
        let rows = one["value"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["InventoryID"], "ITEM00005");
        // The quantities are InventoryOnHand's, summed over the warehouses.
        let per_wh = get(
            Feed::GiV4,
            "InventoryOnHand",
            &[("$filter", "InventoryID eq 'ITEM00005'")],
        )
        .unwrap();
        let sum: f64 = per_wh["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["QtyOnHand"].as_f64().unwrap())
            .sum();
        assert_eq!(rows[0]["QtyOnHand"].as_f64().unwrap(), sum);
        // Alias form, and an alias glued to the option before it.
        let aliased = get(
            Feed::GiV4,
            "ItemAvailabilityData_WithParameters(InventoryID=@1)",
            &[("@1", "'ITEM00005'")],
        )
        .unwrap();
        assert_eq!(aliased["value"], one["value"]);
        let glued = get(
            Feed::GiV4,
            "ItemAvailabilityData_WithParameters(InventoryID=@1)",
            &[("$select", "InventoryID&@1='ITEM00007'")],
        )
        .unwrap();
        assert_eq!(
            glued["value"],
            serde_json::json!([{"InventoryID": "ITEM00007"}])
        );
        // Without arguments: every row.
        let none = get(Feed::GiV4, "ItemAvailabilityData_WithParameters()", &[]).unwrap();
        assert_eq!(none["value"], all["value"]);
        for (segment, status, text) in [
            (
                "ItemAvailabilityData_WithParameters(Warehouse='MAIN')",
                400,
                "no parameter named 'Warehouse'",
            ),
            (
                "ItemAvailabilityData_WithParameters(InventoryID=@9)",
                400,
                "'@9'",
            ),
            (
                "ItemAvailabilityData_WithParameters('ITEM00005')",
                400,
                "named",
            ),
            (
                "CustomerBalance_WithParameters(X='1')",
                404,
                "CustomerBalance_WithParameters",
            ),
            ("CustomerBalance('C000001')", 400, "no key lookup"),
        ] {
            let (st, body) = get(Feed::GiV4, segment, &[]).unwrap_err();
            assert_eq!(st, status, "{segment}: {body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(
                v["error"]["message"].as_str().unwrap().contains(text),
                "{segment}: {body}"
            );
        }
        // The legacy v3 envelope for errors.
        let (_, body) = get(
            Feed::GiV3,
            "ItemAvailabilityData_WithParameters(Bad=1)",
            &[],
        )
        .unwrap_err();
        assert!(body.contains("odata.error"), "{body}");
    }

    #[test]
    fn dac_key_lookup_returns_one_entity_or_404() {
        let dac = |segment: &str, q: &[(&str, &str)]| get(Feed::Dac, segment, q);
        let o = dac(
            "SOOrder(OrderType='SO',OrderNbr='SO000058')",
            &[
                ("$select", "OrderNbr,Status"),
                ("$expand", "SOLineCollection($select=LineNbr)"),
            ],
        )
        .unwrap();
        assert!(
            o["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#SOOrder/$entity")
        );
        assert_eq!(o["OrderNbr"], "SO000058");
        let lines = o["SOLineCollection"].as_array().unwrap();
        assert!(!lines.is_empty());
        assert_eq!(lines[0], serde_json::json!({"LineNbr": 1}));
        // Key order in the URL does not matter; a single key may be positional.
        let same = dac(
            "PX_Objects_SO_SOOrder(OrderNbr='SO000058',OrderType='SO')",
            &[("$select", "OrderNbr,Status")],
        )
        .unwrap();
        assert_eq!(same["Status"], o["Status"]);
        let item = dac("InventoryItem(41)", &[]).unwrap();
        assert_eq!(item["InventoryCD"].as_str().unwrap().trim(), "ITEM00041");
        for segment in [
            "SOOrder(OrderType='SO',OrderNbr='000058')",
            "InventoryItem(0)",
            "Customer(99999)",
        ] {
            let (st, body) = dac(segment, &[]).unwrap_err();
            assert_eq!(st, 404, "{segment}: {body}");
            assert!(body.contains("\"error\""), "{body}");
        }
        let (st, _) = dac("SOOrder(OrderType='SO')", &[]).unwrap_err();
        assert_eq!(st, 400);
    }

    #[test]
    fn expand_writes_objects_arrays_and_nulls_to_depth_three() {
        let v = get(
            Feed::Dac,
            "SOLine",
            &[
                ("$top", "2"),
                ("$select", "OrderNbr,LineNbr"),
                ("$expand", "InventoryItemByInventoryID($select=InventoryCD;$expand=INSiteStatusCollection($select=SiteID;$expand=INSiteBySiteID($select=SiteCD)))"),
            ],
        )
        .unwrap();
        let first = &v["value"][0];
        let item = &first["InventoryItemByInventoryID"];
        assert!(item["InventoryCD"].is_string());
        let statuses = item["INSiteStatusCollection"].as_array().unwrap();
        assert_eq!(statuses.len(), SITES.len());
        assert_eq!(
            statuses[0]["INSiteBySiteID"]["SiteCD"]
                .as_str()
                .unwrap()
                .trim(),
            "MAIN"
        );
        let (st, body) = get(
            Feed::Dac,
            "SOLine",
            &[("$expand", "SOOrderByOrderNbr($expand=SOLineCollection($expand=InventoryItemByInventoryID($expand=INSiteByDfltSiteID)))")],
        )
        .unwrap_err();
        assert_eq!(st, 400);
        assert!(body.contains("too deep"), "{body}");
        let (st, body) = get(
            Feed::Dac,
            "Customer",
            &[("$expand", "AddressByDefAddressID($select=Nope)")],
        )
        .unwrap_err();
        assert_eq!(st, 400);
        assert!(body.contains("'Nope' on type 'PX.Api.Address'"), "{body}");
        // A nested $filter that leaves the 1:1 entity out writes null.
        let v = get(
            Feed::Dac,
            "Customer",
            &[
                ("$top", "1"),
                ("$select", "AcctCD"),
                (
                    "$expand",
                    "AddressByDefAddressID($filter=City eq 'Nowhere')",
                ),
            ],
        )
        .unwrap();
        assert!(v["value"][0]["AddressByDefAddressID"].is_null());
    }

    #[test]
    fn bare_date_equality_matches_the_day() {
        let item = inventory_item(&DATA, 3);
        let Some(FieldValue::Time(t)) = item.get("LastModifiedDateTime").cloned() else {
            panic!()
        };
        let day = chrono::DateTime::from_timestamp(t.secs(), 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let v = get(
            Feed::Dac,
            "InventoryItem",
            &[
                ("$filter", &format!("LastModifiedDateTime eq {day}")),
                ("$select", "InventoryID"),
            ],
        )
        .unwrap();
        assert!(
            v["value"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"InventoryID": 4}))
        );
        let v = get(
            Feed::Dac,
            "InventoryItem",
            &[
                ("$filter", &format!("LastModifiedDateTime ne {day}")),
                ("$select", "InventoryID"),
            ],
        )
        .unwrap();
        assert!(
            !v["value"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"InventoryID": 4}))
        );
    }
}
