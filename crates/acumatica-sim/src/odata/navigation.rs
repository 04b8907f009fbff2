//! Key lookups and navigation properties: the row of a DAC with given key values, and the rows
//! a `…By…` or `…Collection` navigation leads to.

use super::catalog::{Feed, Navigation, Set, target};
use super::query::compare;
use super::rows::{
    ITEM_CLASSES, SITES, account_contact, address, dac_customer, field, inventory_item, item_class,
    person_contact, rows, site, site_status, so_lines, so_order,
};
use crate::data::{Data, Entity, FieldValue, Record};

/// Key values are equal as SQL Server compares them: strings case-insensitively without
/// trailing spaces, numbers by value (a number written as text matches too).
pub(super) fn same(a: &FieldValue, b: &FieldValue) -> bool {
    match (a, b) {
        (FieldValue::Str(x), FieldValue::Str(y)) => x.trim_end().eq_ignore_ascii_case(y.trim_end()),
        (FieldValue::Str(s), FieldValue::Int(i)) | (FieldValue::Int(i), FieldValue::Str(s)) => {
            s.trim().parse::<i64>() == Ok(*i)
        }
        (FieldValue::Int(_) | FieldValue::Dec(..), FieldValue::Int(_) | FieldValue::Dec(..)) => {
            compare(Some(&as_dec(a)), Some(&as_dec(b))).is_eq()
        }
        (FieldValue::Bool(x), FieldValue::Bool(y)) => x == y,
        (FieldValue::Time(x), FieldValue::Time(y)) => x == y,
        _ => false,
    }
}

fn as_dec(v: &FieldValue) -> FieldValue {
    match v {
        FieldValue::Int(i) => FieldValue::Dec(i128::from(*i), 0),
        v => v.clone(),
    }
}

fn int_key(v: &FieldValue) -> Option<i64> {
    match v {
        FieldValue::Int(i) => Some(*i),
        FieldValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The row of a DAC with these key values (in the order of `set.keys`), found directly from
/// the ids where they are computed, else by a scan.
pub fn by_key(data: &Data, set: &'static Set, values: &[FieldValue]) -> Option<Record> {
    let index = |v: &FieldValue, first: i64, n: usize| {
        int_key(v)
            .and_then(|k| usize::try_from(k - first).ok())
            .filter(|&i| i < n)
    };
    let customers = data.count(Entity::Customer);
    let items = data.count(Entity::StockItem);
    let found = match (set.name, values) {
        ("Customer", [id]) => index(id, 1001, customers).map(|c| dac_customer(data, c)),
        ("Address", [id]) => index(id, 1, customers).map(address),
        ("Contact", [id]) => {
            let people = data.count(Entity::Contact);
            index(id, 100, people)
                .map(|i| person_contact(data, i))
                .or_else(|| {
                    index(id, 100 + people as i64, customers).map(|c| account_contact(data, c))
                })
        }
        ("InventoryItem", [id]) => index(id, 1, items).map(|i| inventory_item(data, i)),
        ("INSite", [id]) => SITES
            .iter()
            .position(|s| int_key(id) == Some(s.0))
            .map(site),
        ("INItemClass", [id]) => ITEM_CLASSES
            .iter()
            .position(|s| int_key(id) == Some(s.0))
            .map(item_class),
        ("INSiteStatus", [item, _, id]) => index(item, 1, items).and_then(|i| {
            let w = SITES.iter().position(|s| int_key(id) == Some(s.0))?;
            Some(site_status(data, i, w))
        }),
        ("SOOrder", [_, FieldValue::Str(nbr)]) => order_index(data, nbr).map(|i| so_order(data, i)),
        ("SOLine", [_, FieldValue::Str(nbr), _]) => order_index(data, nbr).and_then(|i| {
            so_lines(data, i)
                .into_iter()
                .find(|l| key_matches(set, l, values))
        }),
        _ => {
            return rows(data, Feed::Dac, set).find(|r| key_matches(set, r, values));
        }
    };
    found.filter(|r| key_matches(set, r, values))
}

/// `SO000058` → index 57 (when in range).
fn order_index(data: &Data, nbr: &str) -> Option<usize> {
    let n: usize = nbr.trim().strip_prefix("SO")?.parse().ok()?;
    n.checked_sub(1)
        .filter(|&i| i < data.count(Entity::SalesOrder))
}

fn key_matches(set: &Set, r: &Record, values: &[FieldValue]) -> bool {
    set.keys.len() == values.len()
        && set
            .keys
            .iter()
            .zip(values)
            .all(|(k, v)| r.get(k).is_some_and(|x| same(x, v)))
}

/// The entity a 1:1 navigation leads to, if any.
pub(super) fn related_one(data: &Data, nav: &Navigation, r: &Record) -> Option<Record> {
    let t = target(nav);
    let wanted: Vec<(&str, FieldValue)> = nav
        .on
        .iter()
        .map(|(from, to)| (*to, field(r, from)))
        .collect();
    if wanted.iter().any(|(_, v)| *v == FieldValue::Null) {
        return None;
    }
    let by_keys =
        t.keys.len() == wanted.len() && t.keys.iter().zip(&wanted).all(|(k, (to, _))| k == to);
    if by_keys {
        let values: Vec<FieldValue> = wanted.into_iter().map(|(_, v)| v).collect();
        return by_key(data, t, &values);
    }
    rows(data, Feed::Dac, t).find(|x| {
        wanted
            .iter()
            .all(|(to, v)| x.get(to).is_some_and(|y| same(y, v)))
    })
}

/// The entities of a collection navigation.
pub(super) fn related_many(data: &Data, nav: &Navigation, r: &Record) -> Vec<Record> {
    match nav.name {
        "SOLineCollection" => match r.get("OrderNbr") {
            Some(FieldValue::Str(nbr)) => order_index(data, nbr)
                .map(|i| so_lines(data, i))
                .unwrap_or_default(),
            _ => Vec::new(),
        },
        "INSiteStatusCollection" => {
            let items = data.count(Entity::StockItem);
            match r
                .get("InventoryID")
                .and_then(int_key)
                .and_then(|k| usize::try_from(k - 1).ok())
            {
                Some(i) if i < items => (0..SITES.len()).map(|w| site_status(data, i, w)).collect(),
                _ => Vec::new(),
            }
        }
        _ => {
            let wanted: Vec<(&str, FieldValue)> = nav
                .on
                .iter()
                .map(|(from, to)| (*to, field(r, from)))
                .collect();
            rows(data, Feed::Dac, target(nav))
                .filter(|x| {
                    wanted
                        .iter()
                        .all(|(to, v)| x.get(to).is_some_and(|y| same(y, v)))
                })
                .collect()
        }
    }
}
