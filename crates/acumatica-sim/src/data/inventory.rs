//! Inventory: stock items and non-stock items (services).

use super::{Data, FieldValue, Record};

/// The warehouses (their IDs): a stock item's default warehouse is one of them.
const WAREHOUSES: &[&str] = &["MAIN", "RETAIL"];

/// The default warehouse of stock item `i` (an index into `WAREHOUSES`).
pub fn default_warehouse(i: usize) -> usize {
    usize::from(i % 3 == 2)
}

impl Data {
    /// The description of stock item `i` (its sales-order lines default to it).
    pub(super) fn item_description(&self, i: usize) -> String {
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
                ("InventoryID", FieldValue::Str(Self::item_id(i))),
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
