//! Sales: customers, sales orders (with their lines and ship-to contact and address) and the
//! invoices that bill them.

use super::{Data, Entity, FieldValue, Record, STATUSES};

impl Data {
    /// Customer `i`.
    pub(super) fn customer(&self, i: usize) -> Record {
        let i64_ = i as u64;
        let h = self.h(1, i64_, 1);
        let mut name = format!("{} {}", NAMES[(h % NAMES.len() as u64) as usize], i + 1);
        if (h >> 29).is_multiple_of(13) {
            // Typed with trailing blanks, which SQL Server keeps and `=` ignores.
            name.push_str("  ");
        }
        let created = self.time(1, i64_, 2);
        // No e-mail is NULL on some accounts and an empty string on others (cleared on the
        // form): `""` and `{}` are different values.
        let email = if h.is_multiple_of(7) {
            FieldValue::Null
        } else if h.is_multiple_of(11) {
            FieldValue::Str(String::new())
        } else {
            FieldValue::Str(format!("billing{}@example.com", i + 1))
        };
        let mailed = matches!(&email, FieldValue::Str(e) if !e.is_empty());
        let write_off = if h.is_multiple_of(3) { 0 } else { 300_000 };
        let flag = |bit: u32, one_in: u64| FieldValue::Bool((h >> bit).is_multiple_of(one_in));
        Record {
            id: self.guid(1, i64_),
            fields: vec![
                ("ApplyOverdueCharges", flag(11, 4)),
                ("AutoApplyPayments", flag(13, 3)),
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
                ("EnableWriteOffs", FieldValue::Bool(write_off != 0)),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(created.later(h, 5_000_000)),
                ),
                ("LocationName", FieldValue::Str("Primary Location".into())),
                ("OrderPriority", FieldValue::Int(((h >> 15) % 3) as i64)),
                ("PrintInvoices", flag(17, 2)),
                (
                    "SendInvoicesbyEmail",
                    FieldValue::Bool(mailed && (h >> 18).is_multiple_of(2)),
                ),
                (
                    "ShipVia",
                    FieldValue::Str(SHIP_VIA[((h >> 19) % SHIP_VIA.len() as u64) as usize].into()),
                ),
                ("StatementCycleID", FieldValue::Str("DEFAULT".into())),
                (
                    "Status",
                    FieldValue::Str(STATUSES[((h >> 5) % STATUSES.len() as u64) as usize].into()),
                ),
                ("TaxZone", FieldValue::Str(tax_zone(i).0.into())),
                (
                    "Terms",
                    FieldValue::Str(TERMS[((h >> 21) % TERMS.len() as u64) as usize].into()),
                ),
                ("WriteOffLimit", FieldValue::Dec(write_off, 4)),
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
        let date = self.date(3, i64_, 2);
        let n_lines = 1 + (h % 19) as usize;
        let mut lines = Vec::with_capacity(if with_details { n_lines } else { 0 });
        let status = ORDER_STATUS[((h >> 7) % ORDER_STATUS.len() as u64) as usize];
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
                let item = (lh % items as u64) as usize;
                lines.push(Record {
                    id: self.guid(4, i64_ << 8 | l as u64),
                    fields: vec![
                        ("Amount", FieldValue::Dec(amount, 4)),
                        ("Completed", FieldValue::Bool(status == "Completed")),
                        ("DiscountAmount", FieldValue::Dec(0, 4)),
                        ("DiscountPercent", FieldValue::Dec(0, 6)),
                        ("ExtendedPrice", FieldValue::Dec(amount, 4)),
                        ("FreeItem", FieldValue::Bool(false)),
                        ("InventoryID", FieldValue::Str(self.item_id(item))),
                        // The line takes the item's description, as the form defaults it;
                        // cleared (NULL) on a few lines, blanked to `""` on others.
                        (
                            "LineDescription",
                            if lh.is_multiple_of(13) {
                                FieldValue::Null
                            } else if lh.is_multiple_of(17) {
                                FieldValue::Str(String::new())
                            } else {
                                FieldValue::Str(self.item_description(item))
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
        let customer = (h % customers as u64) as usize;
        // Sales tax at the customer's zone rate, rounded to the cent; the total includes it.
        let tax = (total * i128::from(tax_zone(customer).1) / 10_000 + 50) / 100 * 100;
        let hold = h.is_multiple_of(10);
        let city = CITIES[customer % CITIES.len()].0;
        Record {
            id: self.guid(3, i64_),
            fields: vec![
                ("Approved", FieldValue::Bool(!hold)),
                ("BaseCurrencyID", FieldValue::Str("USD".into())),
                (
                    "Branch",
                    FieldValue::Str(super::BRANCHES[(h >> 9) as usize % 2].0.into()),
                ),
                ("ControlTotal", FieldValue::Dec(0, 4)),
                ("CreditHold", FieldValue::Bool((h >> 13).is_multiple_of(29))),
                ("CurrencyID", FieldValue::Str("USD".into())),
                ("CurrencyRate", FieldValue::Dec(100_000_000, 8)),
                ("CustomerID", FieldValue::Str(Self::customer_id(customer))),
                (
                    "CustomerOrder",
                    match (h >> 23) % 4 {
                        0 => FieldValue::Null,
                        1 => FieldValue::Str(String::new()),
                        _ => FieldValue::Str(format!("PO-{:05}", (h >> 30) % 100_000)),
                    },
                ),
                ("Date", FieldValue::Time(date)),
                (
                    "Description",
                    if h.is_multiple_of(9) {
                        FieldValue::Null
                    } else if h.is_multiple_of(14) {
                        FieldValue::Str(String::new())
                    } else {
                        let d = ORDER_DESCRIPTIONS
                            [((h >> 25) % ORDER_DESCRIPTIONS.len() as u64) as usize];
                        FieldValue::Str(d.replace("{city}", city))
                    },
                ),
                ("EffectiveDate", FieldValue::Time(date)),
                ("Hold", FieldValue::Bool(hold)),
                ("IsTaxValid", FieldValue::Bool(true)),
                ("LastModified", FieldValue::Time(date.later(h, 2_000_000))),
                ("LocationID", FieldValue::Str("MAIN".into())),
                ("OrderedQty", FieldValue::Dec(qty_total / 10_000, 2)),
                ("OrderNbr", FieldValue::Str(Self::order_nbr(i))),
                ("OrderTotal", FieldValue::Dec(total + tax, 4)),
                ("OrderType", FieldValue::Str("SO".into())),
                ("ReciprocalRate", FieldValue::Dec(100_000_000, 8)),
                (
                    "RequestedOn",
                    FieldValue::Time(date.plus_secs(86_400 * ((h >> 27) % 10) as i64)),
                ),
                (
                    "ShipVia",
                    FieldValue::Str(SHIP_VIA[((h >> 33) % SHIP_VIA.len() as u64) as usize].into()),
                ),
                ("Status", FieldValue::Str(status.into())),
                ("TaxTotal", FieldValue::Dec(tax, 4)),
            ],
            details: if with_details {
                vec![("Details", lines)]
            } else {
                vec![]
            },
            linked: {
                let c = customer;
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
                ("Date", FieldValue::Time(date.plus_secs(86_400))),
                (
                    "Description",
                    FieldValue::Str(format!("Invoice for {}", Self::order_nbr(i))),
                ),
                ("DueDate", FieldValue::Time(date.plus_secs(31 * 86_400))),
                ("Hold", FieldValue::Bool(false)),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(date.plus_secs(86_400).later(h, 3_000_000)),
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
    "Café Zoë",
    "\"Sunny Side\" Diner",
    "Ærø Fisk A/S",
    "alpha omega",
    "Delta Corp",
    "Echo Foods",
];
const CLASSES: &[&str] = &["DEFAULT", "LOCAL", "INTL", "WHOLESALE"];
const SHIP_VIA: &[&str] = &["TRUCK", "UPSGROUND", "FEDEX2DAY", "PICKUP"];
const TERMS: &[&str] = &["NET30", "NET30", "30D", "COD"];
/// What orders are for: some phrases repeat, so `LIKE` patterns pick real subsets.
const ORDER_DESCRIPTIONS: &[&str] = &[
    "Weekly restock",
    "Weekly restock - {city}",
    "Rush order for {city}",
    "Holiday promotion",
    "Café supplies, spring",
    "Replacement for damaged goods",
    "Standing order",
    "\"Grand opening\" event catering",
    "Sample request  ",
    "RESTOCK (urgent)",
];

/// The sales-tax zone of customer `c` and its rate in basis points: the zone of the city its
/// orders ship to, or exempt.
fn tax_zone(c: usize) -> (&'static str, u32) {
    if c % 7 == 3 {
        return ("EXEMPT", 0);
    }
    [
        ("SEATTLE", 1025),
        ("PORTLAND", 0),
        ("AUSTIN", 825),
        ("DENVER", 881),
        ("BOSTON", 625),
    ][c % CITIES.len()]
}
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
