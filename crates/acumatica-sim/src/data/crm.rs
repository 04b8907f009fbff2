//! Customer relations: the contacts of the customers' business accounts.

use super::{Data, Entity, FieldValue, Record};

impl Data {
    /// Contact `i`, a person of customer `i mod customers`.
    pub(super) fn contact(&self, i: usize) -> Record {
        let n = i as u64;
        let customers = self.count(Entity::Customer);
        let h = self.h(11, n, 1);
        let created = self.time(11, n, 2);
        let first = FIRST[(h % FIRST.len() as u64) as usize];
        let last = LAST[((h >> 8) % LAST.len() as u64) as usize];
        Record::new(
            self.guid(11, n),
            vec![
                ("Active", FieldValue::Bool(!h.is_multiple_of(9))),
                (
                    "BusinessAccount",
                    FieldValue::Str(Self::customer_id(i % customers)),
                ),
                ("ContactID", FieldValue::Int(100 + i as i64)),
                ("DisplayName", FieldValue::Str(format!("{first} {last}"))),
                (
                    "Email",
                    if h.is_multiple_of(6) {
                        FieldValue::Null
                    } else {
                        FieldValue::Str(format!(
                            "{}.{}{}@example.com",
                            first.to_lowercase(),
                            last.to_lowercase(),
                            i + 1
                        ))
                    },
                ),
                ("FirstName", FieldValue::Str(first.into())),
                (
                    "JobTitle",
                    FieldValue::Str(TITLES[((h >> 4) % TITLES.len() as u64) as usize].into()),
                ),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(created.later(h, 6_000_000)),
                ),
                ("LastName", FieldValue::Str(last.into())),
                (
                    "Phone1",
                    FieldValue::Str(format!("+1 555 {:04}", i % 10_000)),
                ),
                ("Type", FieldValue::Str("Contact".into())),
            ],
        )
    }
}

const FIRST: &[&str] = &[
    "Anna", "Ben", "Chloé", "Dmitri", "Erin", "Farah", "Gus", "Hana",
];
const LAST: &[&str] = &[
    "Smith", "O'Neil", "García", "Nakamura", "Okafor", "Lee", "Berg",
];
const TITLES: &[&str] = &["Buyer", "Accountant", "CFO", "Store Manager", "Clerk"];
