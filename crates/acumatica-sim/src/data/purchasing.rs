//! Purchasing: vendors and their bills.

use super::{Data, Entity, Record, STATUSES, V};

impl Data {
    /// Vendor `i`.
    pub(super) fn vendor(&self, i: usize) -> Record {
        let n = i as u64;
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

    /// Bill `i`.
    pub(super) fn bill(&self, i: usize) -> Record {
        let n = i as u64;
        let vendors = self.count(Entity::Vendor);
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
}

const SUPPLIERS: &[&str] = &["Northern", "Pacific", "Lakeside", "Summit", "Harbor"];
