//! The rows of each inquiry and DAC, derived from the contract entities' generated data
//! (`crate::data`), in key order and lazily.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::catalog::{Feed, Set};
use crate::data::{Data, Entity, FieldValue, Record};

const DAC_STATUS: &[(&str, &str)] = &[
    ("Open", "N"),
    ("Completed", "C"),
    ("On Hold", "H"),
    ("Shipping", "S"),
    ("Cancelled", "L"),
];

fn row(id: String, fields: Vec<(&'static str, FieldValue)>) -> Record {
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
            if let (Some(FieldValue::Str(c)), Some(FieldValue::Dec(b, _))) =
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

/// Warehouses: (SiteID, SiteCD, Descr), in the order of `data::WAREHOUSES`.
pub(super) const SITES: &[(i64, &str, &str)] =
    &[(1, "MAIN", "Main warehouse"), (2, "RETAIL", "Retail store")];

/// Item classes: (ItemClassID, ItemClassCD, Descr, StkItem).
pub(super) const ITEM_CLASSES: &[(i64, &str, &str, bool)] = &[
    (1, "FOOD", "Food and beverages", true),
    (2, "SERVICE", "Services", false),
];

/// Quantities of stock item `i` in warehouse `w` (an index into `SITES`): on hand and
/// available, 6 decimals.
fn stock(data: &Data, i: usize, w: usize) -> (i128, i128) {
    let h = crate::data::mix(data.seed ^ (i as u64) << 4 ^ w as u64);
    let on_hand = (h % 500) as i128 * 1_000_000;
    (on_hand, on_hand - (h >> 20) as i128 % 50 * 1_000_000)
}

/// Space-padded to the column width, as key values come from SQL Server.
fn padded(s: &str, width: usize) -> FieldValue {
    FieldValue::Str(format!("{s:<width$}"))
}

/// A segmented key (`InventoryCD`, `AcctCD`) as the database holds it.
fn segmented(field: &str, s: &str) -> FieldValue {
    padded(s, crate::data::key_width(field).unwrap_or(s.len()))
}

pub(super) fn field(r: &Record, k: &str) -> FieldValue {
    r.get(k).cloned().unwrap_or(FieldValue::Null)
}

/// The customer's BAccountID (internal id) from its index.
fn baccount_id(c: usize) -> i64 {
    c as i64 + 1001
}

/// `C000042` → index 41.
fn customer_index(id: &FieldValue) -> Option<usize> {
    match id {
        FieldValue::Str(c) => c
            .trim()
            .strip_prefix('C')?
            .parse::<usize>()
            .ok()?
            .checked_sub(1),
        _ => None,
    }
}

/// The contact ids: people first (`100 + i`, as the REST `Contact` entity has them), then one
/// account contact per customer (its billing contact).
fn account_contact_id(data: &Data, c: usize) -> i64 {
    100 + (data.count(Entity::Contact) + c) as i64
}

pub(super) fn dac_customer(data: &Data, c: usize) -> Record {
    let r = data.record(Entity::Customer, c, false);
    let status = match r.get("Status") {
        Some(FieldValue::Str(s)) if s == "On Hold" => "H",
        Some(FieldValue::Str(s)) if s == "Inactive" => "I",
        _ => "A",
    };
    let contact = FieldValue::Int(account_contact_id(data, c));
    row(
        r.id.clone(),
        vec![
            ("BAccountID", FieldValue::Int(baccount_id(c))),
            ("AcctCD", segmented("AcctCD", &Data::customer_id(c))),
            ("AcctName", field(&r, "CustomerName")),
            ("CustomerClassID", field(&r, "CustomerClass")),
            ("Status", FieldValue::Str(status.into())),
            ("CuryID", field(&r, "CurrencyID")),
            ("CreditLimit", field(&r, "CreditLimit")),
            ("DefAddressID", FieldValue::Int(c as i64 + 1)),
            ("DefContactID", contact.clone()),
            ("DefBillContactID", contact),
            ("NoteID", FieldValue::Str(r.id.clone())),
            ("CreatedDateTime", field(&r, "CreatedDateTime")),
            ("LastModifiedDateTime", field(&r, "LastModifiedDateTime")),
        ],
    )
}

/// The customer's phone, as its orders' ship-to contacts show it.
fn customer_phone(c: usize) -> FieldValue {
    FieldValue::Str(format!("+1 555 {:04}", c % 10_000))
}

pub(super) fn person_contact(data: &Data, i: usize) -> Record {
    let p = data.record(Entity::Contact, i, false);
    let account = customer_index(&field(&p, "BusinessAccount"));
    let company = account.map(|c| field(&data.record(Entity::Customer, c, false), "CustomerName"));
    row(
        p.id.clone(),
        vec![
            ("ContactID", field(&p, "ContactID")),
            ("ContactType", FieldValue::Str("PN".into())),
            (
                "BAccountID",
                account.map_or(FieldValue::Null, |c| FieldValue::Int(baccount_id(c))),
            ),
            ("DisplayName", field(&p, "DisplayName")),
            ("FirstName", field(&p, "FirstName")),
            ("LastName", field(&p, "LastName")),
            ("Salutation", field(&p, "JobTitle")),
            ("FullName", company.unwrap_or(FieldValue::Null)),
            ("EMail", field(&p, "Email")),
            ("Phone1", field(&p, "Phone1")),
            ("IsActive", field(&p, "Active")),
            ("LastModifiedDateTime", field(&p, "LastModifiedDateTime")),
        ],
    )
}

/// A customer's account (billing) contact: its name, billing e-mail and phone.
pub(super) fn account_contact(data: &Data, c: usize) -> Record {
    let r = data.record(Entity::Customer, c, false);
    row(
        format!("{}-contact", r.id),
        vec![
            ("ContactID", FieldValue::Int(account_contact_id(data, c))),
            ("ContactType", FieldValue::Str("AP".into())),
            ("BAccountID", FieldValue::Int(baccount_id(c))),
            ("DisplayName", field(&r, "CustomerName")),
            ("FirstName", FieldValue::Null),
            ("LastName", FieldValue::Null),
            ("Salutation", FieldValue::Null),
            ("FullName", field(&r, "CustomerName")),
            ("EMail", field(&r, "Email")),
            ("Phone1", customer_phone(c)),
            ("IsActive", FieldValue::Bool(true)),
            ("LastModifiedDateTime", field(&r, "LastModifiedDateTime")),
        ],
    )
}

/// A customer's main address: the one its orders ship to.
pub(super) fn address(c: usize) -> Record {
    let (city, state) = crate::data::customer_city(c);
    row(
        format!("address-{c}"),
        vec![
            ("AddressID", FieldValue::Int(c as i64 + 1)),
            ("BAccountID", FieldValue::Int(baccount_id(c))),
            (
                "AddressLine1",
                FieldValue::Str(format!("{} Main St", 1 + c % 900)),
            ),
            ("AddressLine2", FieldValue::Null),
            ("City", FieldValue::Str(city.into())),
            ("State", FieldValue::Str(state.into())),
            (
                "PostalCode",
                FieldValue::Str(format!("{:05}", 10_000 + c % 89_999)),
            ),
            ("CountryID", FieldValue::Str("US".into())),
            ("IsValidated", FieldValue::Bool(c.is_multiple_of(2))),
        ],
    )
}

pub(super) fn inventory_item(data: &Data, i: usize) -> Record {
    let s = data.record(Entity::StockItem, i, false);
    let status = if matches!(s.get("ItemStatus"), Some(FieldValue::Str(x)) if x == "Active") {
        "AC"
    } else {
        "IN"
    };
    row(
        s.id.clone(),
        vec![
            ("InventoryID", FieldValue::Int(i as i64 + 1)),
            ("InventoryCD", segmented("InventoryCD", &data.item_id(i))),
            ("Descr", field(&s, "Description")),
            ("ItemStatus", FieldValue::Str(status.into())),
            ("StkItem", FieldValue::Bool(true)),
            ("BasePrice", field(&s, "DefaultPrice")),
            ("LastModifiedDateTime", field(&s, "LastModifiedDateTime")),
            ("BaseUnit", field(&s, "BaseUOM")),
            ("ItemClassID", FieldValue::Int(ITEM_CLASSES[0].0)),
            (
                "DfltSiteID",
                FieldValue::Int(SITES[crate::data::default_warehouse(i)].0),
            ),
        ],
    )
}

pub(super) fn site(w: usize) -> Record {
    let (id, cd, descr) = SITES[w];
    row(
        format!("site-{id}"),
        vec![
            ("SiteID", FieldValue::Int(id)),
            ("SiteCD", padded(cd, 10)),
            ("Descr", FieldValue::Str(descr.into())),
            ("Active", FieldValue::Bool(true)),
        ],
    )
}

pub(super) fn item_class(k: usize) -> Record {
    let (id, cd, descr, stock) = ITEM_CLASSES[k];
    row(
        format!("class-{id}"),
        vec![
            ("ItemClassID", FieldValue::Int(id)),
            ("ItemClassCD", FieldValue::Str(cd.into())),
            ("Descr", FieldValue::Str(descr.into())),
            ("StkItem", FieldValue::Bool(stock)),
        ],
    )
}

pub(super) fn site_status(data: &Data, i: usize, w: usize) -> Record {
    let (on_hand, available) = stock(data, i, w);
    let modified = field(
        &data.record(Entity::StockItem, i, false),
        "LastModifiedDateTime",
    );
    row(
        format!("status-{i}-{w}"),
        vec![
            ("InventoryID", FieldValue::Int(i as i64 + 1)),
            ("SubItemID", FieldValue::Int(0)),
            ("SiteID", FieldValue::Int(SITES[w].0)),
            ("QtyOnHand", FieldValue::Dec(on_hand, 6)),
            ("QtyAvail", FieldValue::Dec(available, 6)),
            ("QtyHardAvail", FieldValue::Dec(available, 6)),
            ("QtyNotAvail", FieldValue::Dec(on_hand - available, 6)),
            ("LastModifiedDateTime", modified),
        ],
    )
}

pub(super) fn so_order(data: &Data, i: usize) -> Record {
    let o = data.record(Entity::SalesOrder, i, false);
    let g = |k: &str| field(&o, k);
    let status = match o.get("Status") {
        Some(FieldValue::Str(s)) => DAC_STATUS.iter().find(|x| x.0 == s).map_or("N", |x| x.1),
        _ => "N",
    };
    let customer = customer_index(&g("CustomerID")).map_or(0, baccount_id);
    row(
        o.id.clone(),
        vec![
            ("OrderType", g("OrderType")),
            ("OrderNbr", g("OrderNbr")),
            ("Status", FieldValue::Str(status.into())),
            ("OrderDate", g("Date")),
            ("CustomerID", FieldValue::Int(customer)),
            ("CuryOrderTotal", g("OrderTotal")),
            ("OrderDesc", g("Description")),
            ("Hold", g("Hold")),
            ("NoteID", FieldValue::Str(o.id.clone())),
            ("LastModifiedDateTime", g("LastModified")),
        ],
    )
}

/// The lines of sales order `i` as `SOLine` rows.
pub(super) fn so_lines(data: &Data, i: usize) -> Vec<Record> {
    let o = data.record(Entity::SalesOrder, i, true);
    let lines = o
        .details
        .first()
        .map(|d| d.1.as_slice())
        .unwrap_or_default();
    lines.iter().map(|l| so_line(data, &o, l)).collect()
}

/// Every row of a set, in key order, lazily.
pub fn rows<'a>(
    data: &'a Data,
    feed: Feed,
    set: &'static Set,
) -> Box<dyn Iterator<Item = Record> + 'a> {
    let customers = data.count(Entity::Customer);
    let items = data.count(Entity::StockItem);
    match (feed, set.name) {
        (Feed::GiV4 | Feed::GiV3, "CustomerBalance") => {
            let b = balances(data);
            Box::new((0..customers).map(move |i| {
                let c = data.record(Entity::Customer, i, false);
                let g = |k: &str| field(&c, k);
                row(
                    c.id.clone(),
                    vec![
                        ("CustomerID", g("CustomerID")),
                        ("CustomerName", g("CustomerName")),
                        ("Status", g("Status")),
                        ("CurrencyID", g("CurrencyID")),
                        ("CreditLimit", g("CreditLimit")),
                        ("OpenInvoices", FieldValue::Int(b[i].1)),
                        ("Balance", FieldValue::Dec(b[i].0, 4)),
                        ("LastModifiedOn", g("LastModifiedDateTime")),
                    ],
                )
            }))
        }
        (Feed::GiV4 | Feed::GiV3, "OpenSalesOrderLines") => Box::new(
            (0..data.count(Entity::SalesOrder))
                .filter_map(move |i| {
                    let head = data.record(Entity::SalesOrder, i, false);
                    let open = matches!(head.get("Status"), Some(FieldValue::Str(s)) if matches!(s.as_str(), "Open" | "On Hold" | "Shipping"));
                    open.then(|| data.record(Entity::SalesOrder, i, true))
                })
                .flat_map(|o| {
                    let g = |k: &str| field(&o, k);
                    let head = [g("OrderType"), g("OrderNbr"), g("CustomerID"), g("Date"), g("Status")];
                    let lines = o.details.first().map(|d| d.1.clone()).unwrap_or_default();
                    lines.into_iter().map(move |l| {
                        let lg = |k: &str| field(&l, k);
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
        (Feed::GiV4 | Feed::GiV3, "InventoryOnHand") => Box::new((0..items).flat_map(move |i| {
            let item = data.record(Entity::StockItem, i, false);
            (0..SITES.len()).map(move |w| {
                let (on_hand, available) = stock(data, i, w);
                row(
                    format!("{}-{w}", item.id),
                    vec![
                        ("InventoryID", field(&item, "InventoryID")),
                        // Key values come space-padded to the column width, as on SQL Server.
                        ("Warehouse", padded(SITES[w].1, 10)),
                        ("Description", field(&item, "Description")),
                        ("QtyOnHand", FieldValue::Dec(on_hand, 6)),
                        ("QtyAvailable", FieldValue::Dec(available, 6)),
                        ("LastModifiedOn", field(&item, "LastModifiedDateTime")),
                    ],
                )
            })
        })),
        (Feed::GiV4 | Feed::GiV3, "Customer Contacts") => {
            // A customer's main contact: the first contact of its business account (contact
            // `i` belongs to customer `i mod customers`, so customer `c` has contact `c`).
            Box::new((0..customers).map(move |c| {
                let cu = data.record(Entity::Customer, c, false);
                let p = data.record(Entity::Contact, c, false);
                row(
                    p.id.clone(),
                    vec![
                        ("CustomerID", field(&cu, "CustomerID")),
                        ("ContactID", field(&p, "ContactID")),
                        ("CustomerName", field(&cu, "CustomerName")),
                        ("CustomerClass", field(&cu, "CustomerClass")),
                        ("Status", field(&cu, "Status")),
                        ("ContactName", field(&p, "DisplayName")),
                        ("JobTitle", field(&p, "JobTitle")),
                        ("Email", field(&p, "Email")),
                        ("Phone", field(&p, "Phone1")),
                        ("City", FieldValue::Str(crate::data::customer_city(c).0.into())),
                        ("LastModifiedOn", field(&p, "LastModifiedDateTime")),
                    ],
                )
            }))
        }
        (Feed::GiV4 | Feed::GiV3, "Modified Stock Items") => Box::new((0..items).map(move |i| {
            let s = data.record(Entity::StockItem, i, false);
            row(
                s.id.clone(),
                vec![
                    ("InventoryID", field(&s, "InventoryID")),
                    ("Description", field(&s, "Description")),
                    ("ItemStatus", field(&s, "ItemStatus")),
                    ("ItemClass", field(&s, "ItemClass")),
                    ("BaseUnit", field(&s, "BaseUOM")),
                    ("DefaultPrice", field(&s, "DefaultPrice")),
                    ("LastModifiedOn", field(&s, "LastModifiedDateTime")),
                ],
            )
        })),
        (Feed::GiV4 | Feed::GiV3, "ItemAvailabilityData") => Box::new((0..items).map(move |i| {
            // One row per item: its stock summed over the warehouses (InventoryOnHand's rows).
            let s = data.record(Entity::StockItem, i, false);
            let (on_hand, available) = (0..SITES.len())
                .map(|w| stock(data, i, w))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            row(
                s.id.clone(),
                vec![
                    ("InventoryID", field(&s, "InventoryID")),
                    ("Description", field(&s, "Description")),
                    ("BaseUnit", field(&s, "BaseUOM")),
                    ("DefaultWarehouse", padded(SITES[crate::data::default_warehouse(i)].1, 10)),
                    ("QtyOnHand", FieldValue::Dec(on_hand, 6)),
                    ("QtyAvailable", FieldValue::Dec(available, 6)),
                    ("LastModifiedOn", field(&s, "LastModifiedDateTime")),
                ],
            )
        })),
        (Feed::Dac, "SOOrder") => Box::new((0..data.count(Entity::SalesOrder)).map(move |i| so_order(data, i))),
        (Feed::Dac, "SOLine") => Box::new((0..data.count(Entity::SalesOrder)).flat_map(move |i| so_lines(data, i))),
        (Feed::Dac, "InventoryItem") => Box::new((0..items).map(move |i| inventory_item(data, i))),
        (Feed::Dac, "Customer") => Box::new((0..customers).map(move |c| dac_customer(data, c))),
        (Feed::Dac, "Contact") => Box::new(
            (0..data.count(Entity::Contact))
                .map(move |i| person_contact(data, i))
                .chain((0..customers).map(move |c| account_contact(data, c))),
        ),
        (Feed::Dac, "Address") => Box::new((0..customers).map(address)),
        (Feed::Dac, "INSite") => Box::new((0..SITES.len()).map(site)),
        (Feed::Dac, "INItemClass") => Box::new((0..ITEM_CLASSES.len()).map(item_class)),
        (Feed::Dac, "INSiteStatus") => Box::new(
            (0..items).flat_map(move |i| (0..SITES.len()).map(move |w| site_status(data, i, w))),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

fn so_line(data: &Data, o: &Record, l: &Record) -> Record {
    let g = |k: &str| field(l, k);
    // The DAC refers to the item by its internal id (its index + 1).
    let item = match l.get("InventoryID") {
        Some(FieldValue::Str(s)) => data.item_index(s).map_or(0, |i| i as i64 + 1),
        _ => 0,
    };
    row(
        l.id.clone(),
        vec![
            ("OrderType", field(o, "OrderType")),
            ("OrderNbr", field(o, "OrderNbr")),
            ("LineNbr", g("LineNbr")),
            ("InventoryID", FieldValue::Int(item)),
            ("TranDesc", g("LineDescription")),
            ("OrderQty", g("OrderQty")),
            ("CuryUnitPrice", g("UnitPrice")),
            ("CuryLineAmt", g("Amount")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::navigation::by_key;

    const DATA: Data = Data { seed: 42, scale: 1 };

    #[test]
    fn dac_rows_agree_with_the_contract_entities() {
        // The customer's address is the one its orders ship to; its billing contact carries
        // the customer's e-mail.
        for i in [0, 7, 999] {
            let order = DATA.record(Entity::SalesOrder, i, false);
            let c = customer_index(&field(&order, "CustomerID")).unwrap();
            let ship = &order
                .linked
                .iter()
                .find(|(n, _)| *n == "ShipToAddress")
                .unwrap()
                .1;
            let a = address(c);
            for (dac, rest) in [
                ("AddressLine1", "AddressLine1"),
                ("City", "City"),
                ("State", "State"),
                ("PostalCode", "PostalCode"),
                ("CountryID", "Country"),
            ] {
                assert_eq!(a.get(dac), ship.get(rest), "{dac} of customer {c}");
            }
            let contact = &order
                .linked
                .iter()
                .find(|(n, _)| *n == "ShipToContact")
                .unwrap()
                .1;
            assert_eq!(
                account_contact(&DATA, c).get("Phone1"),
                contact.get("Phone1")
            );
            let customer = DATA.record(Entity::Customer, c, false);
            assert_eq!(
                account_contact(&DATA, c).get("EMail"),
                customer.get("Email")
            );
            assert_eq!(
                so_order(&DATA, i).get("CustomerID"),
                Some(&FieldValue::Int(baccount_id(c)))
            );
        }
        // Key lookups find what a scan finds.
        for name in ["Contact", "Customer", "INSiteStatus", "Address"] {
            let set = Feed::Dac.find(name).unwrap();
            for r in rows(&DATA, Feed::Dac, set).step_by(97) {
                let keys: Vec<FieldValue> = set.keys.iter().map(|k| field(&r, k)).collect();
                assert_eq!(
                    by_key(&DATA, set, &keys).map(|x| x.fields),
                    Some(r.fields),
                    "{name}"
                );
            }
        }
    }
}
