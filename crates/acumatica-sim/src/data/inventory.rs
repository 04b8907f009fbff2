//! Inventory: stock items and non-stock items (services).

use super::{Data, FieldValue, Record};

impl Data {
    /// Stock item `i`.
    pub(super) fn stock_item(&self, i: usize) -> Record {
        let i64_ = i as u64;
        let h = self.h(2, i64_, 1);
        let created = self.time(2, i64_, 2);
        let modified = created + (h % 3_000_000) as i64;
        Record {
            id: self.guid(2, i64_),
            fields: vec![
                ("BaseUOM", FieldValue::Str("EA".into())),
                (
                    "DefaultPrice",
                    FieldValue::Dec(((h >> 4) % 100_000) as i128 * 100, 6),
                ),
                (
                    "Description",
                    FieldValue::Str(format!(
                        "{} #{}",
                        ITEMS[(h % ITEMS.len() as u64) as usize],
                        i + 1
                    )),
                ),
                ("InventoryID", FieldValue::Str(Self::item_id(i))),
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
                ("LastModifiedDateTime", FieldValue::Time(modified)),
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
];
const SERVICES: &[&str] = &["Delivery", "Installation", "Consulting hour", "Gift wrap"];
