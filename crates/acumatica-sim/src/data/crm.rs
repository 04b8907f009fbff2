//! Customer relations: the contacts of the customers' business accounts.

use super::{Data, Entity, Record, V};

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
}

const FIRST: &[&str] = &[
    "Anna", "Ben", "Chloé", "Dmitri", "Erin", "Farah", "Gus", "Hana",
];
const LAST: &[&str] = &[
    "Smith", "O'Neil", "García", "Nakamura", "Okafor", "Lee", "Berg",
];
const TITLES: &[&str] = &["Buyer", "Accountant", "CFO", "Store Manager", "Clerk"];
