//! Sales: customers, sales orders (with their lines and ship-to contact and address) and the
//! invoices that bill them.

use super::{Data, Entity, FieldValue, Record, STATUSES};

impl Data {
    /// Customer `i`.
    pub(super) fn customer(&self, i: usize) -> Record {
        let i64_ = i as u64;
        let h = self.h(1, i64_, 1);
        let name = format!("{} {}", NAMES[(h % NAMES.len() as u64) as usize], i + 1);
        let created = self.time(1, i64_, 2);
        let email = if h.is_multiple_of(7) {
            FieldValue::Null
        } else {
            FieldValue::Str(format!("billing{}@example.com", i + 1))
        };
        Record {
            id: self.guid(1, i64_),
            fields: vec![
                ("CreatedDateTime", FieldValue::Time(created)),
                (
                    "CreditLimit",
                    FieldValue::Dec(((h >> 8) % 5_000_000) as i128 * 100, 4),
                ),
                (
                    "CurrencyID",
                    FieldValue::Str(if h.is_multiple_of(5) { "EUR" } else { "USD" }.into()),
                ),
                (
                    "CustomerClass",
                    FieldValue::Str(CLASSES[((h >> 3) % CLASSES.len() as u64) as usize].into()),
                ),
                ("CustomerID", FieldValue::Str(Self::customer_id(i))),
                ("CustomerName", FieldValue::Str(name)),
                ("Email", email),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(created + (h % 5_000_000) as i64),
                ),
                (
                    "Status",
                    FieldValue::Str(STATUSES[((h >> 5) % STATUSES.len() as u64) as usize].into()),
                ),
                (
                    "WriteOffLimit",
                    FieldValue::Dec(if h.is_multiple_of(3) { 0 } else { 300_000 }, 4),
                ),
            ],
            details: vec![],
            linked: vec![],
        }
    }

    /// Sales order `i`: its lines when `with_details`, its ship-to contact and address always.
    pub(super) fn sales_order(&self, i: usize, with_details: bool) -> Record {
        let i64_ = i as u64;
        let h = self.h(3, i64_, 1);
        let customers = self.count(Entity::Customer);
        let items = self.count(Entity::StockItem);
        let date = self.time(3, i64_, 2) / 86_400 * 86_400;
        let n_lines = 1 + (h % 19) as usize;
        let mut lines = Vec::with_capacity(if with_details { n_lines } else { 0 });
        let mut total: i128 = 0;
        let mut qty_total: i128 = 0;
        for l in 0..n_lines {
            let lh = self.h(4, i64_ << 8 | l as u64, 1);
            let qty = (1 + lh % 50) as i128 * 1_000_000; // 6 decimals
            let price = ((lh >> 8) % 20_000) as i128 * 100; // 6 decimals, cents
            let amount = qty / 1_000_000 * price / 100; // 4 decimals
            total += amount;
            qty_total += qty;
            if with_details {
                lines.push(Record {
                    id: self.guid(4, i64_ << 8 | l as u64),
                    fields: vec![
                        ("Amount", FieldValue::Dec(amount, 4)),
                        (
                            "InventoryID",
                            FieldValue::Str(Self::item_id((lh % items as u64) as usize)),
                        ),
                        (
                            "LineDescription",
                            if lh.is_multiple_of(13) {
                                FieldValue::Null
                            } else {
                                FieldValue::Str(format!("Line {} of order {}", l + 1, i + 1))
                            },
                        ),
                        ("LineNbr", FieldValue::Int(l as i64 + 1)),
                        ("OrderQty", FieldValue::Dec(qty, 6)),
                        ("UnitPrice", FieldValue::Dec(price, 6)),
                        ("UOM", FieldValue::Str("EA".into())),
                        (
                            "WarehouseID",
                            FieldValue::Str(
                                if lh.is_multiple_of(2) {
                                    "MAIN"
                                } else {
                                    "RETAIL"
                                }
                                .into(),
                            ),
                        ),
                    ],
                    details: vec![],
                    linked: vec![],
                });
            }
        }
        Record {
            id: self.guid(3, i64_),
            fields: vec![
                (
                    "Branch",
                    FieldValue::Str(super::BRANCHES[(h >> 9) as usize % 2].0.into()),
                ),
                ("CurrencyID", FieldValue::Str("USD".into())),
                (
                    "CustomerID",
                    FieldValue::Str(Self::customer_id((h % customers as u64) as usize)),
                ),
                ("Date", FieldValue::Time(date)),
                (
                    "Description",
                    if h.is_multiple_of(9) {
                        FieldValue::Null
                    } else {
                        FieldValue::Str(format!("Order {}", i + 1))
                    },
                ),
                ("Hold", FieldValue::Bool(h.is_multiple_of(10))),
                (
                    "LastModified",
                    FieldValue::Time(date + (h % 2_000_000) as i64),
                ),
                ("OrderedQty", FieldValue::Dec(qty_total / 10_000, 2)),
                ("OrderNbr", FieldValue::Str(Self::order_nbr(i))),
                ("OrderTotal", FieldValue::Dec(total, 4)),
                ("OrderType", FieldValue::Str("SO".into())),
                (
                    "Status",
                    FieldValue::Str(
                        ORDER_STATUS[((h >> 7) % ORDER_STATUS.len() as u64) as usize].into(),
                    ),
                ),
            ],
            details: if with_details {
                vec![("Details", lines)]
            } else {
                vec![]
            },
            linked: {
                let c = (h % customers as u64) as usize;
                vec![
                    (
                        "ShipToContact",
                        Record::new(
                            self.guid(5, i64_),
                            vec![
                                (
                                    "Attention",
                                    FieldValue::Str(format!("Receiving dept. {}", c + 1)),
                                ),
                                (
                                    "BusinessName",
                                    FieldValue::Str(NAMES[c % NAMES.len()].trim().to_string()),
                                ),
                                (
                                    "Email",
                                    if h.is_multiple_of(4) {
                                        FieldValue::Null
                                    } else {
                                        FieldValue::Str(format!("ship{}@example.com", c + 1))
                                    },
                                ),
                                (
                                    "Phone1",
                                    FieldValue::Str(format!("+1 555 {:04}", c % 10_000)),
                                ),
                            ],
                        ),
                    ),
                    (
                        "ShipToAddress",
                        Record::new(
                            self.guid(6, i64_),
                            vec![
                                (
                                    "AddressLine1",
                                    FieldValue::Str(format!("{} Main St", 1 + c % 900)),
                                ),
                                ("AddressLine2", FieldValue::Null),
                                ("City", FieldValue::Str(CITIES[c % CITIES.len()].0.into())),
                                ("Country", FieldValue::Str("US".into())),
                                (
                                    "PostalCode",
                                    FieldValue::Str(format!("{:05}", 10_000 + c % 89_999)),
                                ),
                                ("State", FieldValue::Str(CITIES[c % CITIES.len()].1.into())),
                                ("Validated", FieldValue::Bool(c.is_multiple_of(2))),
                            ],
                        ),
                    ),
                ]
            },
        }
    }

    /// Invoice `i`, which bills sales order `i`.
    pub(super) fn sales_invoice(&self, i: usize) -> Record {
        let n = i as u64;
        // Invoice i bills order i: same customer, amount and a reference to it.
        let order = self.record(Entity::SalesOrder, i, false);
        let h = self.h(13, n, 1);
        let Some(FieldValue::Time(date)) = order.get("Date").cloned() else {
            unreachable!()
        };
        let Some(FieldValue::Dec(total, _)) = order.get("OrderTotal").cloned() else {
            unreachable!()
        };
        let paid = h.is_multiple_of(3);
        Record::new(
            self.guid(13, n),
            vec![
                ("Amount", FieldValue::Dec(total, 4)),
                ("Balance", FieldValue::Dec(if paid { 0 } else { total }, 4)),
                (
                    "CustomerID",
                    order.get("CustomerID").cloned().unwrap_or(FieldValue::Null),
                ),
                ("CustomerOrder", FieldValue::Str(Self::order_nbr(i))),
                ("Date", FieldValue::Time(date + 86_400)),
                (
                    "Description",
                    FieldValue::Str(format!("Invoice for {}", Self::order_nbr(i))),
                ),
                ("DueDate", FieldValue::Time(date + 31 * 86_400)),
                ("Hold", FieldValue::Bool(false)),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(date + 86_400 + (h % 3_000_000) as i64),
                ),
                ("ReferenceNbr", FieldValue::Str(format!("INV{:06}", i + 1))),
                (
                    "Status",
                    FieldValue::Str(if paid { "Closed" } else { "Open" }.into()),
                ),
                ("Type", FieldValue::Str("Invoice".into())),
            ],
        )
    }
}

/// The (city, state) of customer `c` (its index), as its ship-to addresses show it.
pub fn customer_city(c: usize) -> (&'static str, &'static str) {
    CITIES[c % CITIES.len()]
}

const NAMES: &[&str] = &[
    "Acme Supplies",
    "bluebird cafe",
    "O'Brien & Sons",
    "NORTHWIND TRADERS",
    "Zephyr Ltd  ",
    "Candy Shop",
    "Müller GmbH",
    "alpha omega",
    "Delta Corp",
    "Echo Foods",
];
const CLASSES: &[&str] = &["DEFAULT", "LOCAL", "INTL", "WHOLESALE"];
const ORDER_STATUS: &[&str] = &[
    "Open",
    "Open",
    "Completed",
    "On Hold",
    "Shipping",
    "Cancelled",
];
const CITIES: &[(&str, &str)] = &[
    ("Seattle", "WA"),
    ("Portland", "OR"),
    ("Austin", "TX"),
    ("Denver", "CO"),
    ("Boston", "MA"),
];
