//! Deterministic demo data, generated lazily from (seed, entity, index): nothing is
//! materialised, so a large scale starts at once.
//!
//! This module holds the value and record types, the entities and the seeded hash every draw
//! comes from; each business area's entities are generated in their own module (`sales`,
//! `inventory`, `purchasing`, `crm`, `finance`).

mod crm;
mod finance;
mod inventory;
mod purchasing;
mod sales;

pub use finance::ACCOUNTS;
pub use inventory::default_warehouse;
pub use sales::customer_city;

/// A field value as the simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Null,
    Str(String),
    Int(i64),
    /// Fixed point: `units / 10^scale`, written with exactly `scale` decimals (the DB scale).
    Dec(i128, u8),
    Bool(bool),
    /// A date-time, written in UTC with an offset and its trimmed fraction.
    Time(Stamp),
}

/// A point in time, in microseconds since the Unix epoch. Acumatica's audit fields are SQL
/// Server `datetime`s (1/300 s), written with the fraction trimmed of its trailing zeros:
/// `2023-12-14T17:20:45.16+00:00` (ACUMATICA-API.md §2, the JB `PUT Customer` capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(i64);

impl Stamp {
    const PER_SEC: i64 = 1_000_000;

    pub const fn from_secs(secs: i64) -> Self {
        Self(secs * Self::PER_SEC)
    }

    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Rounded to SQL Server `datetime` precision (1/300 s, kept as whole milliseconds:
    /// `.000`, `.003`, `.007`), as a stored value comes back.
    pub fn from_chrono<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>) -> Self {
        let micros = i128::from(t.timestamp_micros());
        let per_sec = i128::from(Self::PER_SEC);
        let ticks = (micros * 300 + per_sec / 2).div_euclid(per_sec);
        Self::from_ticks(ticks as i64)
    }

    /// `ticks` 1/300 s since the epoch, in whole milliseconds as SQL Server reads them back.
    pub const fn from_ticks(ticks: i64) -> Self {
        let secs = ticks.div_euclid(300);
        let ms = (ticks.rem_euclid(300) * 10 + 1) / 3;
        Self(secs * Self::PER_SEC + ms * 1000)
    }

    /// Up to `span_secs` seconds later, drawn from `h`, in `datetime` steps (1/300 s): an
    /// audit time after another.
    pub fn later(self, h: u64, span_secs: u64) -> Self {
        let per_sec = i128::from(Self::PER_SEC);
        let ticks = (i128::from(self.0) * 300 + per_sec / 2).div_euclid(per_sec) as i64;
        Self::from_ticks(ticks + (h % (span_secs * 300)) as i64)
    }

    pub const fn secs(self) -> i64 {
        self.0.div_euclid(Self::PER_SEC)
    }

    /// The fraction of the second, in microseconds.
    pub const fn subsec_micros(self) -> i64 {
        self.0.rem_euclid(Self::PER_SEC)
    }

    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0 + secs * Self::PER_SEC)
    }

    /// Midnight (UTC) of the day.
    pub const fn day(self) -> Self {
        Self::from_secs(self.secs().div_euclid(86_400) * 86_400)
    }

    /// `.16` for 160 ms, nothing for a whole second: the fraction as .NET's round-trip format
    /// writes it, trailing zeros trimmed.
    pub fn write_fraction(self, out: &mut String) {
        let f = self.subsec_micros();
        if f == 0 {
            return;
        }
        let digits = format!("{f:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[derive(Debug, Clone, Default)]
pub struct Record {
    pub id: String,
    pub fields: Vec<(&'static str, FieldValue)>,
    pub details: Vec<(&'static str, Vec<Record>)>,
    /// 1:1 linked entities (e.g. `ShipToContact`), written only when expanded.
    pub linked: Vec<(&'static str, Record)>,
}

impl Record {
    /// A field, or a linked entity's field as `Linked/Field`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
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

    fn new(id: String, fields: Vec<(&'static str, FieldValue)>) -> Self {
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
const STATUSES: &[&str] = &["Active", "Active", "Active", "On Hold", "Inactive"];

/// The company's branches (Branch ID, name, the number the `UserBranch` cookie carries). Sign-in
/// with `branch` or a request's `PX-CbApiBranch` header (ID or name) selects one; the first is
/// the default. Seeded documents belong to the first two. The official collections sign in
/// with `HEADOFFICE` (and the I310 course with `MYSTORE`) and switch with the name
/// `SweetLife Store`, expecting `RETAIL`.
pub const BRANCHES: &[(&str, &str, u32)] = &[
    ("HEADOFFICE", "Head Office", 1),
    ("RETAIL", "SweetLife Store", 2),
    ("MYSTORE", "MyStore", 3),
];

/// The branch whose ID or name is `text`, any case.
pub fn branch(text: &str) -> Option<usize> {
    let t = text.trim();
    BRANCHES
        .iter()
        .position(|(id, name, _)| id.eq_ignore_ascii_case(t) || name.eq_ignore_ascii_case(t))
}

impl Data {
    fn h(&self, entity: u64, i: u64, salt: u64) -> u64 {
        mix(self.seed ^ mix(entity << 56 ^ i << 8 ^ salt))
    }

    pub fn count(&self, e: Entity) -> usize {
        let s = self.scale.max(1) as usize;
        match e {
            Entity::Customer => 200 * s,
            Entity::StockItem => self.stock_items(),
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

    /// An audit time in the two years from 2023: whole seconds plus a `datetime` fraction.
    fn time(&self, entity: u64, i: u64, salt: u64) -> Stamp {
        let h = self.h(entity, i, salt);
        let secs = EPOCH_2023 + (h % TWO_YEARS) as i64;
        Stamp::from_ticks(secs * 300 + ((h >> 40) % 300) as i64)
    }

    /// A document date: midnight of a day in the two years from 2023.
    fn date(&self, entity: u64, i: u64, salt: u64) -> Stamp {
        Stamp::from_secs(EPOCH_2023 + (self.h(entity, i, salt) % TWO_YEARS) as i64).day()
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

    /// Record `i` of entity `e`; detail collections only `with_details`.
    pub fn record(&self, e: Entity, i: usize, with_details: bool) -> Record {
        match e {
            Entity::Customer => self.customer(i),
            Entity::StockItem => self.stock_item(i),
            Entity::SalesOrder => self.sales_order(i, with_details),
            Entity::Vendor => self.vendor(i),
            Entity::Contact => self.contact(i),
            Entity::NonStockItem => self.non_stock_item(i),
            Entity::SalesInvoice => self.sales_invoice(i),
            Entity::Bill => self.bill(i),
            Entity::Payment => self.payment(i, with_details),
            Entity::JournalTransaction => self.journal_transaction(i, with_details),
            Entity::Account => self.account(i),
        }
    }
}

/// The width of a segmented key's column: its values are blank-padded to it in the database,
/// so the DAC and inquiry feeds and attached files' names show them padded, while the
/// contract API trims them (`"InventoryID":{"value":"EJECTOR03"}`, file name
/// `(EJECTOR03   )`: ACUMATICA-API.md §2).
pub fn key_width(field: &str) -> Option<usize> {
    match field {
        "InventoryID" | "InventoryCD" => Some(12),
        "CustomerID" | "VendorID" | "AcctCD" => Some(10),
        _ => None,
    }
}

/// True for a GUID in its canonical text form (`8-4-4-4-12` hex digits): a record's id.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_keep_datetime_precision_and_write_trimmed_fractions() {
        let text = |t: Stamp| {
            let mut s = String::new();
            t.write_fraction(&mut s);
            s
        };
        // 1/300 s steps read back as whole milliseconds: .003, .007, .01.
        assert_eq!(text(Stamp::from_ticks(1)), ".003");
        assert_eq!(text(Stamp::from_ticks(2)), ".007");
        assert_eq!(text(Stamp::from_ticks(3)), ".01");
        assert_eq!(text(Stamp::from_ticks(48)), ".16");
        assert_eq!(text(Stamp::from_ticks(300)), "");
        let t = chrono::DateTime::parse_from_rfc3339("2023-12-14T17:20:45.1234567+00:00").unwrap();
        let s = Stamp::from_chrono(&t);
        assert_eq!(s.secs(), t.timestamp());
        assert_eq!(text(s), ".123");
        assert_eq!(text(s.day()), "");
        assert_eq!(s.plus_secs(60).secs(), t.timestamp() + 60);
        assert!(s.later(5, 10) >= s);
    }

    #[test]
    fn deterministic_and_referentially_intact() {
        let d = Data { seed: 42, scale: 1 };
        let a = d.record(Entity::SalesOrder, 7, true);
        let b = d.record(Entity::SalesOrder, 7, true);
        assert_eq!(a.fields, b.fields);
        let Some(FieldValue::Str(c)) = a.get("CustomerID") else {
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
                    FieldValue::Null => true,
                    FieldValue::Str(_) => matches!(w, "StringValue" | "GuidValue"),
                    FieldValue::Int(_) => {
                        matches!(w, "IntValue" | "ShortValue" | "LongValue" | "ByteValue")
                    }
                    FieldValue::Dec(..) => matches!(w, "DecimalValue" | "DoubleValue"),
                    FieldValue::Bool(_) => w == "BooleanValue",
                    FieldValue::Time(_) => w == "DateTimeValue",
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
