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

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub fields: Vec<(&'static str, V)>,
    pub details: Vec<(&'static str, Vec<Record>)>,
}

impl Record {
    pub fn get(&self, name: &str) -> Option<&V> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// The entities with generated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Customer,
    StockItem,
    SalesOrder,
}

impl Entity {
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Customer, Self::StockItem, Self::SalesOrder]
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Customer => "Customer",
            Self::StockItem => "StockItem",
            Self::SalesOrder => "SalesOrder",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub seed: u64,
    pub scale: u32,
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
        }
    }

    fn guid(&self, entity: u64, i: u64) -> String {
        let a = self.h(entity, i, 90);
        let b = self.h(entity, i, 91);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    fn time(&self, entity: u64, i: u64, salt: u64) -> i64 {
        EPOCH_2023 + (self.h(entity, i, salt) % TWO_YEARS) as i64
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
                        ("OrderNbr", V::Str(format!("SO{:06}", i + 1))),
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
                }
            }
        }
    }
}

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
}
