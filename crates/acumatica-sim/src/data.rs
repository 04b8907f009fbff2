//! Deterministic demo data, generated lazily from (seed, entity, index): nothing is
//! materialised, so a large scale starts at once.

/// A field value as the simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Str(String),
    Int(i64),
    /// Fixed point: `units / 10^scale`, written with exactly `scale` decimals (the DB scale).
    Dec(i128, u8),
    Bool(bool),
    /// Seconds since the Unix epoch, written in UTC with an offset.
    Time(i64),
}

#[derive(Debug, Clone, Default)]
pub struct Record {
    pub id: String,
    pub fields: Vec<(&'static str, V)>,
    pub details: Vec<(&'static str, Vec<Record>)>,
    /// 1:1 linked entities (e.g. `ShipToContact`), written only when expanded.
    pub linked: Vec<(&'static str, Record)>,
}

impl Record {
    /// A field, or a linked entity's field as `Linked/Field`.
    pub fn get(&self, name: &str) -> Option<&V> {
        if let Some((link, rest)) = name.split_once('/') {
            return self
                .linked
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(link))
                .and_then(|(_, r)| r.get(rest));
        }
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn new(id: String, fields: Vec<(&'static str, V)>) -> Self {
        Self {
            id,
            fields,
            ..Default::default()
        }
    }
}

/// The entities with generated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Customer,
    StockItem,
    SalesOrder,
    Vendor,
    Contact,
    NonStockItem,
    SalesInvoice,
    Bill,
    Payment,
    JournalTransaction,
    Account,
}

impl Entity {
    pub const ALL: [Self; 11] = [
        Self::Customer,
        Self::StockItem,
        Self::SalesOrder,
        Self::Vendor,
        Self::Contact,
        Self::NonStockItem,
        Self::SalesInvoice,
        Self::Bill,
        Self::Payment,
        Self::JournalTransaction,
        Self::Account,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Customer => "Customer",
            Self::StockItem => "StockItem",
            Self::SalesOrder => "SalesOrder",
            Self::Vendor => "Vendor",
            Self::Contact => "Contact",
            Self::NonStockItem => "NonStockItem",
            Self::SalesInvoice => "SalesInvoice",
            Self::Bill => "Bill",
            Self::Payment => "Payment",
            Self::JournalTransaction => "JournalTransaction",
            Self::Account => "Account",
        }
    }

    /// The key fields, in URL order (as in the bundled schema).
    #[cfg(test)]
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Customer => &["CustomerID"],
            Self::StockItem | Self::NonStockItem => &["InventoryID"],
            Self::SalesOrder => &["OrderType", "OrderNbr"],
            Self::Vendor => &["VendorID"],
            Self::Contact => &["ContactID"],
            Self::SalesInvoice | Self::Bill | Self::Payment => &["Type", "ReferenceNbr"],
            Self::JournalTransaction => &["Module", "BatchNbr"],
            Self::Account => &["AccountCD"],
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub seed: u64,
    pub scale: u32,
}

/// A GUID's text from two random words.
pub(crate) fn guid_from(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// SplitMix64: a tiny, good, reproducible hash.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const EPOCH_2023: i64 = 1_672_531_200;
const TWO_YEARS: u64 = 2 * 365 * 86_400;

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
const STATUSES: &[&str] = &["Active", "Active", "Active", "On Hold", "Inactive"];
const CLASSES: &[&str] = &["DEFAULT", "LOCAL", "INTL", "WHOLESALE"];
const ITEMS: &[&str] = &[
    "Apple Juice",
    "banana bread",
    "Cherry Jam  ",
    "Donut",
    "Espresso Beans",
    "fig paste",
];
const ORDER_STATUS: &[&str] = &[
    "Open",
    "Open",
    "Completed",
    "On Hold",
    "Shipping",
    "Cancelled",
];

impl Data {
    fn h(&self, entity: u64, i: u64, salt: u64) -> u64 {
        mix(self.seed ^ mix(entity << 56 ^ i << 8 ^ salt))
    }

    pub fn count(&self, e: Entity) -> usize {
        let s = self.scale.max(1) as usize;
        match e {
            Entity::Customer => 200 * s,
            Entity::StockItem => 100 * s,
            Entity::SalesOrder => 1000 * s,
            Entity::Vendor => 50 * s,
            Entity::Contact => 300 * s,
            Entity::NonStockItem => 20 * s,
            // One invoice per order that is not open or on hold is too clever; every order but
            // each fifth gets one, in order: invoice i bills order i.
            Entity::SalesInvoice => 800 * s,
            Entity::Bill => 300 * s,
            Entity::Payment => 500 * s,
            Entity::JournalTransaction => 200 * s,
            Entity::Account => ACCOUNTS.len(),
        }
    }

    fn guid(&self, entity: u64, i: u64) -> String {
        guid_from(self.h(entity, i, 90), self.h(entity, i, 91))
    }

    fn time(&self, entity: u64, i: u64, salt: u64) -> i64 {
        EPOCH_2023 + (self.h(entity, i, salt) % TWO_YEARS) as i64
    }

    pub fn vendor_id(i: usize) -> String {
        format!("V{:05}", i + 1)
    }

    pub fn order_nbr(i: usize) -> String {
        format!("SO{:06}", i + 1)
    }

    pub fn customer_id(i: usize) -> String {
        format!("C{:06}", i + 1)
    }

    pub fn item_id(i: usize) -> String {
        format!("ITEM{:05}", i + 1)
    }

    pub fn record(&self, e: Entity, i: usize, with_details: bool) -> Record {
        let i64_ = i as u64;
        match e {
            Entity::Customer => {
                let h = self.h(1, i64_, 1);
                let name = format!("{} {}", NAMES[(h % NAMES.len() as u64) as usize], i + 1);
                let created = self.time(1, i64_, 2);
                let email = if h.is_multiple_of(7) {
                    V::Null
                } else {
                    V::Str(format!("billing{}@example.com", i + 1))
                };
                Record {
                    id: self.guid(1, i64_),
                    fields: vec![
                        ("CreatedDateTime", V::Time(created)),
                        (
                            "CreditLimit",
                            V::Dec(((h >> 8) % 5_000_000) as i128 * 100, 4),
                        ),
                        (
                            "CurrencyID",
                            V::Str(if h.is_multiple_of(5) { "EUR" } else { "USD" }.into()),
                        ),
                        (
                            "CustomerClass",
                            V::Str(CLASSES[((h >> 3) % CLASSES.len() as u64) as usize].into()),
                        ),
                        ("CustomerID", V::Str(Self::customer_id(i))),
                        ("CustomerName", V::Str(name)),
                        ("Email", email),
                        (
                            "LastModifiedDateTime",
                            V::Time(created + (h % 5_000_000) as i64),
                        ),
                        (
                            "Status",
                            V::Str(STATUSES[((h >> 5) % STATUSES.len() as u64) as usize].into()),
                        ),
                        (
                            "WriteOffLimit",
                            V::Dec(if h.is_multiple_of(3) { 0 } else { 300_000 }, 4),
                        ),
                    ],
                    details: vec![],
                    linked: vec![],
                }
            }
            Entity::StockItem => {
                let h = self.h(2, i64_, 1);
                let created = self.time(2, i64_, 2);
                Record {
                    id: self.guid(2, i64_),
                    fields: vec![
                        ("BaseUOM", V::Str("EA".into())),
                        (
                            "DefaultPrice",
                            V::Dec(((h >> 4) % 100_000) as i128 * 100, 6),
                        ),
                        (
                            "Description",
                            V::Str(format!(
                                "{} #{}",
                                ITEMS[(h % ITEMS.len() as u64) as usize],
                                i + 1
                            )),
                        ),
                        ("InventoryID", V::Str(Self::item_id(i))),
                        ("ItemClass", V::Str("FOOD".into())),
                        (
                            "ItemStatus",
                            V::Str(
                                if h.is_multiple_of(11) {
                                    "Inactive"
                                } else {
                                    "Active"
                                }
                                .into(),
                            ),
                        ),
                        (
                            "LastModifiedDateTime",
                            V::Time(created + (h % 3_000_000) as i64),
                        ),
                    ],
                    details: vec![],
                    linked: vec![],
                }
            }
            Entity::SalesOrder => {
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
                                ("Amount", V::Dec(amount, 4)),
                                (
                                    "InventoryID",
                                    V::Str(Self::item_id((lh % items as u64) as usize)),
                                ),
                                (
                                    "LineDescription",
                                    if lh.is_multiple_of(13) {
                                        V::Null
                                    } else {
                                        V::Str(format!("Line {} of order {}", l + 1, i + 1))
                                    },
                                ),
                                ("LineNbr", V::Int(l as i64 + 1)),
                                ("OrderQty", V::Dec(qty, 6)),
                                ("UnitPrice", V::Dec(price, 6)),
                                ("UOM", V::Str("EA".into())),
                                (
                                    "WarehouseID",
                                    V::Str(
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
                        ("CurrencyID", V::Str("USD".into())),
                        (
                            "CustomerID",
                            V::Str(Self::customer_id((h % customers as u64) as usize)),
                        ),
                        ("Date", V::Time(date)),
                        (
                            "Description",
                            if h.is_multiple_of(9) {
                                V::Null
                            } else {
                                V::Str(format!("Order {}", i + 1))
                            },
                        ),
                        ("Hold", V::Bool(h.is_multiple_of(10))),
                        ("LastModified", V::Time(date + (h % 2_000_000) as i64)),
                        ("OrderedQty", V::Dec(qty_total / 10_000, 2)),
                        ("OrderNbr", V::Str(Self::order_nbr(i))),
                        ("OrderTotal", V::Dec(total, 4)),
                        ("OrderType", V::Str("SO".into())),
                        (
                            "Status",
                            V::Str(
                                ORDER_STATUS[((h >> 7) % ORDER_STATUS.len() as u64) as usize]
                                    .into(),
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
                                        ("Attention", V::Str(format!("Receiving dept. {}", c + 1))),
                                        (
                                            "BusinessName",
                                            V::Str(NAMES[c % NAMES.len()].trim().to_string()),
                                        ),
                                        (
                                            "Email",
                                            if h.is_multiple_of(4) {
                                                V::Null
                                            } else {
                                                V::Str(format!("ship{}@example.com", c + 1))
                                            },
                                        ),
                                        ("Phone1", V::Str(format!("+1 555 {:04}", c % 10_000))),
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
                                            V::Str(format!("{} Main St", 1 + c % 900)),
                                        ),
                                        ("AddressLine2", V::Null),
                                        ("City", V::Str(CITIES[c % CITIES.len()].0.into())),
                                        ("Country", V::Str("US".into())),
                                        (
                                            "PostalCode",
                                            V::Str(format!("{:05}", 10_000 + c % 89_999)),
                                        ),
                                        ("State", V::Str(CITIES[c % CITIES.len()].1.into())),
                                        ("Validated", V::Bool(c.is_multiple_of(2))),
                                    ],
                                ),
                            ),
                        ]
                    },
                }
            }
            _ => self.more(e, i, with_details),
        }
    }

    /// Vendors, contacts, services, invoices, bills, payments, journal batches and accounts.
    fn more(&self, e: Entity, i: usize, with_details: bool) -> Record {
        let n = i as u64;
        let customers = self.count(Entity::Customer);
        let vendors = self.count(Entity::Vendor);
        match e {
            Entity::Vendor => {
                let h = self.h(10, n, 1);
                let created = self.time(10, n, 2);
                Record::new(
                    self.guid(10, n),
                    vec![
                        ("CreatedDateTime", V::Time(created)),
                        ("CurrencyID", V::Str("USD".into())),
                        (
                            "LastModifiedDateTime",
                            V::Time(created + (h % 4_000_000) as i64),
                        ),
                        ("MaxReceipt", V::Dec(1_000_000, 6)),
                        (
                            "PaymentMethod",
                            V::Str(if h.is_multiple_of(3) { "CHECK" } else { "ACH" }.into()),
                        ),
                        (
                            "Status",
                            V::Str(STATUSES[((h >> 5) % STATUSES.len() as u64) as usize].into()),
                        ),
                        (
                            "Terms",
                            V::Str(if h.is_multiple_of(2) { "30D" } else { "NET15" }.into()),
                        ),
                        (
                            "VendorClass",
                            V::Str(
                                if h.is_multiple_of(4) {
                                    "SERVICES"
                                } else {
                                    "SUPPLIER"
                                }
                                .into(),
                            ),
                        ),
                        ("VendorID", V::Str(Self::vendor_id(i))),
                        (
                            "VendorName",
                            V::Str(format!(
                                "{} Supply {}",
                                SUPPLIERS[(h % SUPPLIERS.len() as u64) as usize],
                                i + 1
                            )),
                        ),
                    ],
                )
            }
            Entity::Contact => {
                let h = self.h(11, n, 1);
                let created = self.time(11, n, 2);
                let first = FIRST[(h % FIRST.len() as u64) as usize];
                let last = LAST[((h >> 8) % LAST.len() as u64) as usize];
                Record::new(
                    self.guid(11, n),
                    vec![
                        ("Active", V::Bool(!h.is_multiple_of(9))),
                        ("BusinessAccount", V::Str(Self::customer_id(i % customers))),
                        ("ContactID", V::Int(100 + i as i64)),
                        ("DisplayName", V::Str(format!("{first} {last}"))),
                        (
                            "Email",
                            if h.is_multiple_of(6) {
                                V::Null
                            } else {
                                V::Str(format!(
                                    "{}.{}{}@example.com",
                                    first.to_lowercase(),
                                    last.to_lowercase(),
                                    i + 1
                                ))
                            },
                        ),
                        ("FirstName", V::Str(first.into())),
                        (
                            "JobTitle",
                            V::Str(TITLES[((h >> 4) % TITLES.len() as u64) as usize].into()),
                        ),
                        (
                            "LastModifiedDateTime",
                            V::Time(created + (h % 6_000_000) as i64),
                        ),
                        ("LastName", V::Str(last.into())),
                        ("Phone1", V::Str(format!("+1 555 {:04}", i % 10_000))),
                        ("Type", V::Str("Contact".into())),
                    ],
                )
            }
            Entity::NonStockItem => {
                let h = self.h(12, n, 1);
                Record::new(
                    self.guid(12, n),
                    vec![
                        ("DefaultPrice", V::Dec(((h >> 4) % 50_000) as i128 * 100, 6)),
                        (
                            "Description",
                            V::Str(format!(
                                "{} #{}",
                                SERVICES[(h % SERVICES.len() as u64) as usize],
                                i + 1
                            )),
                        ),
                        ("InventoryID", V::Str(format!("SVC{:04}", i + 1))),
                        ("ItemClass", V::Str("SERVICE".into())),
                        (
                            "ItemStatus",
                            V::Str(
                                if h.is_multiple_of(7) {
                                    "Inactive"
                                } else {
                                    "Active"
                                }
                                .into(),
                            ),
                        ),
                        ("ItemType", V::Str("Non-Stock Item".into())),
                        ("LastModifiedDateTime", V::Time(self.time(12, n, 2))),
                    ],
                )
            }
            Entity::SalesInvoice => {
                // Invoice i bills order i: same customer, amount and a reference to it.
                let order = self.record(Entity::SalesOrder, i, false);
                let h = self.h(13, n, 1);
                let Some(V::Time(date)) = order.get("Date").cloned() else {
                    unreachable!()
                };
                let Some(V::Dec(total, _)) = order.get("OrderTotal").cloned() else {
                    unreachable!()
                };
                let paid = h.is_multiple_of(3);
                Record::new(
                    self.guid(13, n),
                    vec![
                        ("Amount", V::Dec(total, 4)),
                        ("Balance", V::Dec(if paid { 0 } else { total }, 4)),
                        (
                            "CustomerID",
                            order.get("CustomerID").cloned().unwrap_or(V::Null),
                        ),
                        ("CustomerOrder", V::Str(Self::order_nbr(i))),
                        ("Date", V::Time(date + 86_400)),
                        (
                            "Description",
                            V::Str(format!("Invoice for {}", Self::order_nbr(i))),
                        ),
                        ("DueDate", V::Time(date + 31 * 86_400)),
                        ("Hold", V::Bool(false)),
                        (
                            "LastModifiedDateTime",
                            V::Time(date + 86_400 + (h % 3_000_000) as i64),
                        ),
                        ("ReferenceNbr", V::Str(format!("INV{:06}", i + 1))),
                        (
                            "Status",
                            V::Str(if paid { "Closed" } else { "Open" }.into()),
                        ),
                        ("Type", V::Str("Invoice".into())),
                    ],
                )
            }
            Entity::Bill => {
                let h = self.h(14, n, 1);
                let date = self.time(14, n, 2) / 86_400 * 86_400;
                let amount = ((h >> 3) % 2_000_000) as i128 * 100;
                let paid = h.is_multiple_of(4);
                Record::new(
                    self.guid(14, n),
                    vec![
                        ("Amount", V::Dec(amount, 4)),
                        ("Balance", V::Dec(if paid { 0 } else { amount }, 4)),
                        ("CurrencyID", V::Str("USD".into())),
                        ("Date", V::Time(date)),
                        ("Description", V::Str(format!("Purchase {}", i + 1))),
                        ("DueDate", V::Time(date + 30 * 86_400)),
                        ("Hold", V::Bool(h.is_multiple_of(15))),
                        (
                            "LastModifiedDateTime",
                            V::Time(date + (h % 2_000_000) as i64),
                        ),
                        ("ReferenceNbr", V::Str(format!("BILL{:05}", i + 1))),
                        (
                            "Status",
                            V::Str(if paid { "Closed" } else { "Open" }.into()),
                        ),
                        ("Type", V::Str("Bill".into())),
                        (
                            "Vendor",
                            V::Str(Self::vendor_id((h % vendors as u64) as usize)),
                        ),
                        ("VendorRef", V::Str(format!("VR-{}", h % 100_000))),
                    ],
                )
            }
            Entity::Payment => {
                let h = self.h(15, n, 1);
                let date = self.time(15, n, 2) / 86_400 * 86_400;
                let customer = Self::customer_id((h % customers as u64) as usize);
                let invoices = self.count(Entity::SalesInvoice) as u64;
                let history: Vec<Record> = if with_details {
                    (0..1 + (h >> 40) % 3)
                        .map(|k| {
                            let ah = self.h(19, n << 4 | k, 1);
                            Record::new(
                                self.guid(19, n << 4 | k),
                                vec![
                                    ("AdjustedDocType", V::Str("Invoice".into())),
                                    (
                                        "AdjustedRefNbr",
                                        V::Str(format!("INV{:06}", 1 + ah % invoices)),
                                    ),
                                    ("AmountPaid", V::Dec(((ah >> 8) % 500_000) as i128 * 100, 4)),
                                    ("Customer", V::Str(customer.clone())),
                                    ("Date", V::Time(date)),
                                    ("DisplayDocType", V::Str("Invoice".into())),
                                    (
                                        "DisplayRefNbr",
                                        V::Str(format!("INV{:06}", 1 + ah % invoices)),
                                    ),
                                ],
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let mut r = Record::new(
                    self.guid(15, n),
                    vec![
                        ("ApplicationDate", V::Time(date)),
                        ("CashAccount", V::Str("10200".into())),
                        ("CurrencyID", V::Str("USD".into())),
                        (
                            "CustomerID",
                            V::Str(Self::customer_id((h % customers as u64) as usize)),
                        ),
                        ("Description", V::Null),
                        ("Hold", V::Bool(false)),
                        (
                            "LastModifiedDateTime",
                            V::Time(date + (h % 1_000_000) as i64),
                        ),
                        (
                            "PaymentAmount",
                            V::Dec(((h >> 2) % 1_000_000) as i128 * 100, 4),
                        ),
                        (
                            "PaymentMethod",
                            V::Str(if h.is_multiple_of(2) { "CHECK" } else { "CARD" }.into()),
                        ),
                        ("PaymentRef", V::Str(format!("{:06}", h % 1_000_000))),
                        ("ReferenceNbr", V::Str(format!("PMT{:06}", i + 1))),
                        (
                            "Status",
                            V::Str(
                                if h.is_multiple_of(5) {
                                    "Open"
                                } else {
                                    "Closed"
                                }
                                .into(),
                            ),
                        ),
                        ("Type", V::Str("Payment".into())),
                    ],
                );
                if with_details {
                    r.details = vec![("ApplicationHistory", history)];
                }
                r
            }
            Entity::JournalTransaction => {
                let h = self.h(16, n, 1);
                let date = self.time(16, n, 2) / 86_400 * 86_400;
                let pairs = 1 + (h % 3) as usize;
                let mut lines = Vec::new();
                if with_details {
                    for p in 0..pairs {
                        let lh = self.h(17, n << 8 | p as u64, 1);
                        let amount = V::Dec(((lh >> 5) % 1_000_000) as i128 * 100, 4);
                        let zero = V::Dec(0, 4);
                        let (debit, credit) = (
                            ACCOUNTS[(lh % ACCOUNTS.len() as u64) as usize].0,
                            ACCOUNTS[((lh >> 16) % ACCOUNTS.len() as u64) as usize].0,
                        );
                        for (k, (acct, dr, cr)) in [
                            (debit, amount.clone(), zero.clone()),
                            (credit, zero, amount),
                        ]
                        .into_iter()
                        .enumerate()
                        {
                            let line = 2 * p + k;
                            lines.push(Record::new(
                                self.guid(17, n << 8 | line as u64),
                                vec![
                                    ("Account", V::Str(acct.into())),
                                    ("CreditAmount", cr),
                                    ("DebitAmount", dr),
                                    (
                                        "Description",
                                        V::Str(format!("Batch {} line {}", i + 1, line + 1)),
                                    ),
                                    ("LineNbr", V::Int(line as i64 + 1)),
                                    ("Subaccount", V::Str("000000".into())),
                                ],
                            ));
                        }
                    }
                }
                let status = ["Posted", "Posted", "Balanced", "Unposted"][(h >> 9) as usize % 4];
                let mut r = Record::new(
                    self.guid(16, n),
                    vec![
                        ("BatchNbr", V::Str(format!("GL{:06}", i + 1))),
                        ("BranchID", V::Str("MAIN".into())),
                        ("CreatedDateTime", V::Time(date)),
                        ("CurrencyID", V::Str("USD".into())),
                        ("Description", V::Str(format!("Journal entry {}", i + 1))),
                        ("Hold", V::Bool(false)),
                        ("LastModifiedDateTime", V::Time(date + (h % 500_000) as i64)),
                        ("LedgerID", V::Str("ACTUAL".into())),
                        ("Module", V::Str("GL".into())),
                        (
                            "PostPeriod",
                            V::Str(
                                chrono::DateTime::from_timestamp(date, 0)
                                    .unwrap_or_default()
                                    .format("%m%Y")
                                    .to_string(),
                            ),
                        ),
                        ("Status", V::Str(status.into())),
                        ("TransactionDate", V::Time(date)),
                    ],
                );
                if with_details {
                    r.details = vec![("Details", lines)];
                }
                r
            }
            Entity::Account => {
                let (cd, desc, ty) = ACCOUNTS[i];
                Record::new(
                    self.guid(18, n),
                    vec![
                        ("AccountCD", V::Str(cd.into())),
                        ("AccountClass", V::Str(ty.to_uppercase())),
                        ("AccountID", V::Int(1000 + i as i64)),
                        ("Active", V::Bool(true)),
                        ("CashAccount", V::Bool(cd.starts_with("102"))),
                        ("CurrencyID", V::Null),
                        ("Description", V::Str(desc.into())),
                        (
                            "LastModifiedDateTime",
                            V::Time(EPOCH_2023 + i as i64 * 3600),
                        ),
                        ("Type", V::Str(ty.into())),
                    ],
                )
            }
            Entity::Customer | Entity::StockItem | Entity::SalesOrder => unreachable!(),
        }
    }
}

/// The (city, state) of customer `c` (its index), as its ship-to addresses show it.
pub fn customer_city(c: usize) -> (&'static str, &'static str) {
    CITIES[c % CITIES.len()]
}

const CITIES: &[(&str, &str)] = &[
    ("Seattle", "WA"),
    ("Portland", "OR"),
    ("Austin", "TX"),
    ("Denver", "CO"),
    ("Boston", "MA"),
];
const SUPPLIERS: &[&str] = &["Northern", "Pacific", "Lakeside", "Summit", "Harbor"];
const FIRST: &[&str] = &[
    "Anna", "Ben", "Chloé", "Dmitri", "Erin", "Farah", "Gus", "Hana",
];
const LAST: &[&str] = &[
    "Smith", "O'Neil", "García", "Nakamura", "Okafor", "Lee", "Berg",
];
const TITLES: &[&str] = &["Buyer", "Accountant", "CFO", "Store Manager", "Clerk"];
const SERVICES: &[&str] = &["Delivery", "Installation", "Consulting hour", "Gift wrap"];
/// The chart of accounts: (AccountCD, Description, Type).
pub const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("10100", "Petty Cash", "Asset"),
    ("10200", "Company Checking Account", "Asset"),
    ("11000", "Accounts Receivable", "Asset"),
    ("12000", "Inventory", "Asset"),
    ("15000", "Fixed Assets", "Asset"),
    ("20000", "Accounts Payable", "Liability"),
    ("21000", "Accrued Expenses", "Liability"),
    ("23000", "Sales Tax Payable", "Liability"),
    ("30000", "Retained Earnings", "Liability"),
    ("40000", "Sales Revenue", "Income"),
    ("41000", "Service Revenue", "Income"),
    ("50000", "Cost of Goods Sold", "Expense"),
    ("60000", "Salaries", "Expense"),
    ("61000", "Rent", "Expense"),
    ("62000", "Utilities", "Expense"),
    ("63000", "Freight", "Expense"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_referentially_intact() {
        let d = Data { seed: 42, scale: 1 };
        let a = d.record(Entity::SalesOrder, 7, true);
        let b = d.record(Entity::SalesOrder, 7, true);
        assert_eq!(a.fields, b.fields);
        let Some(V::Str(c)) = a.get("CustomerID") else {
            panic!()
        };
        assert!(c.as_str() <= Data::customer_id(d.count(Entity::Customer) - 1).as_str());
        assert!(!a.details[0].1.is_empty());
    }

    #[test]
    fn generated_fields_exist_in_both_schemas_with_their_types() {
        fn check(ep: &crate::schema::Endpoint, entity: &str, r: &Record) {
            for (name, v) in &r.fields {
                // 23.200.001 lacks a few newer fields; the writer leaves them out there.
                let Some(f) = ep.member(entity, name) else {
                    assert_ne!(ep.version, "24.200.001", "{entity}.{name} not in schema");
                    continue;
                };
                assert_eq!(f.name, *name, "spelling of {entity}.{name}");
                let w = f.wrapper.as_deref().unwrap_or_default();
                let ok = match v {
                    V::Null => true,
                    V::Str(_) => matches!(w, "StringValue" | "GuidValue"),
                    V::Int(_) => matches!(w, "IntValue" | "ShortValue" | "LongValue" | "ByteValue"),
                    V::Dec(..) => matches!(w, "DecimalValue" | "DoubleValue"),
                    V::Bool(_) => w == "BooleanValue",
                    V::Time(_) => w == "DateTimeValue",
                };
                assert!(ok, "{entity}.{name}: {v:?} vs {w}");
            }
            for (name, rows) in &r.details {
                let target = ep.target(entity, name).expect("detail in schema");
                for row in rows {
                    check(ep, target, row);
                }
            }
            for (name, l) in &r.linked {
                let target = ep.target(entity, name).expect("linked in schema");
                check(ep, target, l);
            }
        }
        let d = Data { seed: 7, scale: 1 };
        for ep in crate::schema::Endpoint::all() {
            for e in Entity::ALL {
                let def = ep.top_level(e.name()).expect("top-level entity");
                assert_eq!(
                    def.keys,
                    e.keys().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "keys of {}",
                    e.name()
                );
                for i in [0, 1, d.count(e) - 1] {
                    check(&ep, e.name(), &d.record(e, i, true));
                }
            }
        }
    }
}
