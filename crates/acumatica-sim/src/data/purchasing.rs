//! Purchasing: vendors and their bills.

use super::{Data, Entity, FieldValue, Record, STATUSES};

impl Data {
    /// Vendor `i`.
    pub(super) fn vendor(&self, i: usize) -> Record {
        let n = i as u64;
        let h = self.h(10, n, 1);
        let created = self.time(10, n, 2);
        Record::new(
            self.guid(10, n),
            vec![
                ("CreatedDateTime", FieldValue::Time(created)),
                ("CurrencyID", FieldValue::Str("USD".into())),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(created.later(h, 4_000_000)),
                ),
                ("MaxReceipt", FieldValue::Dec(1_000_000, 6)),
                (
                    "PaymentMethod",
                    FieldValue::Str(if h.is_multiple_of(3) { "CHECK" } else { "ACH" }.into()),
                ),
                (
                    "Status",
                    FieldValue::Str(STATUSES[((h >> 5) % STATUSES.len() as u64) as usize].into()),
                ),
                (
                    "Terms",
                    FieldValue::Str(if h.is_multiple_of(2) { "30D" } else { "NET15" }.into()),
                ),
                (
                    "VendorClass",
                    FieldValue::Str(
                        if h.is_multiple_of(4) {
                            "SERVICES"
                        } else {
                            "SUPPLIER"
                        }
                        .into(),
                    ),
                ),
                ("VendorID", FieldValue::Str(Self::vendor_id(i))),
                (
                    "VendorName",
                    FieldValue::Str(format!(
                        "{} Supply {}",
                        SUPPLIERS[(h % SUPPLIERS.len() as u64) as usize],
                        i + 1
                    )),
                ),
            ],
        )
    }

    /// Bill `i`.
    pub(super) fn bill(&self, i: usize) -> Record {
        let n = i as u64;
        let vendors = self.count(Entity::Vendor);
        let h = self.h(14, n, 1);
        let date = self.date(14, n, 2);
        let amount = ((h >> 3) % 2_000_000) as i128 * 100;
        let paid = h.is_multiple_of(4);
        Record::new(
            self.guid(14, n),
            vec![
                ("Amount", FieldValue::Dec(amount, 4)),
                ("Balance", FieldValue::Dec(if paid { 0 } else { amount }, 4)),
                ("CurrencyID", FieldValue::Str("USD".into())),
                ("Date", FieldValue::Time(date)),
                (
                    "Description",
                    FieldValue::Str(format!("Purchase {}", i + 1)),
                ),
                ("DueDate", FieldValue::Time(date.plus_secs(30 * 86_400))),
                ("Hold", FieldValue::Bool(h.is_multiple_of(15))),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(date.later(h, 2_000_000)),
                ),
                ("ReferenceNbr", FieldValue::Str(format!("BILL{:05}", i + 1))),
                (
                    "Status",
                    FieldValue::Str(if paid { "Closed" } else { "Open" }.into()),
                ),
                ("Type", FieldValue::Str("Bill".into())),
                (
                    "Vendor",
                    FieldValue::Str(Self::vendor_id((h % vendors as u64) as usize)),
                ),
                ("VendorRef", FieldValue::Str(format!("VR-{}", h % 100_000))),
            ],
        )
    }
}

const SUPPLIERS: &[&str] = &["Northern", "Pacific", "Lakeside", "Summit", "Harbor"];
