//! Inventory: stock items and non-stock items (services).

use super::{Data, FieldValue, Record};

/// The warehouses (their IDs): a stock item's default warehouse is one of them.
const WAREHOUSES: &[&str] = &["MAIN", "RETAIL"];

/// The default warehouse of stock item `i` (an index into `WAREHOUSES`).
pub fn default_warehouse(i: usize) -> usize {
    usize::from(i % 3 == 2)
}

/// Stock items the official courses ask for by ID (ACUMATICA-API.md §2 `StockItem/EJECTOR03`,
/// `CGFEEDER`; the Integration Development Guide's `AAMACHINE1`, `APL-16OZ-GBT`, `PLUMJAM96`,
/// `JUICER20C`): the company stocks them too, after its numbered items.
const COURSE_ITEMS: &[(&str, &str)] = &[
    ("AAMACHINE1", "Assembly machine, automatic"),
    ("APL-16OZ-GBT", "Apple juice 16 oz, glass bottle"),
    ("CGFEEDER", "Conveyor gravity feeder"),
    ("EJECTOR03", "Ejector pin, size 3"),
    ("JUICER20C", "Commercial citrus juicer 20C"),
    ("PLUMJAM96", "Plum jam, 96 jars"),
];

impl Data {
    /// How many stock items are numbered `ITEM00001`…; the course items follow them.
    pub(super) fn numbered_items(&self) -> usize {
        100 * self.scale.max(1) as usize
    }

    pub(super) fn stock_items(&self) -> usize {
        self.numbered_items() + COURSE_ITEMS.len()
    }

    /// The InventoryID of stock item `i`.
    pub fn item_id(&self, i: usize) -> String {
        match i.checked_sub(self.numbered_items()) {
            Some(k) => COURSE_ITEMS
                .get(k)
                .map_or_else(String::new, |c| c.0.to_string()),
            None => format!("ITEM{:05}", i + 1),
        }
    }

    /// The index of the stock item whose InventoryID is `id` (upper case, unpadded).
    pub fn item_index(&self, id: &str) -> Option<usize> {
        if let Some(k) = COURSE_ITEMS.iter().position(|c| c.0 == id) {
            return Some(self.numbered_items() + k);
        }
        let i = id
            .strip_prefix("ITEM")?
            .parse::<usize>()
            .ok()?
            .checked_sub(1)?;
        (i < self.numbered_items()).then_some(i)
    }

    /// The description of stock item `i` (its sales-order lines default to it).
    pub(super) fn item_description(&self, i: usize) -> String {
        if let Some(k) = i.checked_sub(self.numbered_items()) {
            return COURSE_ITEMS
                .get(k)
                .map_or_else(String::new, |c| c.1.to_string());
        }
        let h = self.h(2, i as u64, 1);
        format!("{} #{}", ITEMS[(h % ITEMS.len() as u64) as usize], i + 1)
    }

    /// Stock item `i`.
    pub(super) fn stock_item(&self, i: usize) -> Record {
        let i64_ = i as u64;
        let h = self.h(2, i64_, 1);
        let created = self.time(2, i64_, 2);
        let modified = created.later(h, 3_000_000);
        let price = ((h >> 4) % 100_000) as i128 * 100;
        // Costs at about 60 % of the price, in the DB scale of costs (4 decimals).
        let cost = price * (55 + (h >> 24) as i128 % 10) / 100 / 100;
        Record {
            id: self.guid(2, i64_),
            fields: vec![
                ("AverageCost", FieldValue::Dec(cost, 4)),
                ("BaseUOM", FieldValue::Str("EA".into())),
                ("DefaultPrice", FieldValue::Dec(price, 6)),
                (
                    "DefaultWarehouseID",
                    FieldValue::Str(WAREHOUSES[default_warehouse(i)].into()),
                ),
                ("Description", FieldValue::Str(self.item_description(i))),
                ("InventoryID", FieldValue::Str(self.item_id(i))),
                ("IsAKit", FieldValue::Bool(false)),
                ("ItemClass", FieldValue::Str("FOOD".into())),
                (
                    "ItemStatus",
                    FieldValue::Str(
                        if h.is_multiple_of(11) {
                            "Inactive"
                        } else {
                            "Active"
                        }
                        .into(),
                    ),
                ),
                // 23.200.001 names it `LastModified`; 24.200.001 has both. The courses filter
                // on it for incremental loads.
                ("LastModified", FieldValue::Time(modified)),
                ("LastCost", FieldValue::Dec(cost, 4)),
                ("LastModifiedDateTime", FieldValue::Time(modified)),
                ("PurchaseUOM", FieldValue::Str("EA".into())),
                ("SalesUOM", FieldValue::Str("EA".into())),
                ("TaxCategory", FieldValue::Str("TAXABLE".into())),
                (
                    "ValuationMethod",
                    FieldValue::Str(
                        if h.is_multiple_of(4) {
                            "FIFO"
                        } else {
                            "Average"
                        }
                        .into(),
                    ),
                ),
            ],
            details: vec![],
            linked: vec![],
        }
    }

    /// Non-stock item (a service) `i`.
    pub(super) fn non_stock_item(&self, i: usize) -> Record {
        let n = i as u64;
        let h = self.h(12, n, 1);
        Record::new(
            self.guid(12, n),
            vec![
                (
                    "DefaultPrice",
                    FieldValue::Dec(((h >> 4) % 50_000) as i128 * 100, 6),
                ),
                (
                    "Description",
                    FieldValue::Str(format!(
                        "{} #{}",
                        SERVICES[(h % SERVICES.len() as u64) as usize],
                        i + 1
                    )),
                ),
                ("InventoryID", FieldValue::Str(format!("SVC{:04}", i + 1))),
                ("ItemClass", FieldValue::Str("SERVICE".into())),
                (
                    "ItemStatus",
                    FieldValue::Str(
                        if h.is_multiple_of(7) {
                            "Inactive"
                        } else {
                            "Active"
                        }
                        .into(),
                    ),
                ),
                ("ItemType", FieldValue::Str("Non-Stock Item".into())),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(self.time(12, n, 2)),
                ),
            ],
        )
    }
}

const ITEMS: &[&str] = &[
    "Apple Juice",
    "banana bread",
    "Cherry Jam  ",
    "Donut",
    "Espresso Beans",
    "fig paste",
    "Crème brûlée cups",
    "Jalapeño salsa",
    "12\" pizza tray",
    "ORANGE JUICE (fresh)",
];
const SERVICES: &[&str] = &["Delivery", "Installation", "Consulting hour", "Gift wrap"];
