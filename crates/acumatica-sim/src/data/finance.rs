//! Finance: customer payments (with their application history), journal transactions and the
//! chart of accounts.

use super::{Data, EPOCH_2023, Entity, Record, V};

impl Data {
    /// Payment `i`: its application history when `with_details`.
    pub(super) fn payment(&self, i: usize, with_details: bool) -> Record {
        let n = i as u64;
        let customers = self.count(Entity::Customer);
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

    /// Journal batch `i`: its balanced lines when `with_details`.
    pub(super) fn journal_transaction(&self, i: usize, with_details: bool) -> Record {
        let n = i as u64;
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

    /// Account `i` of the chart of accounts.
    pub(super) fn account(&self, i: usize) -> Record {
        let n = i as u64;
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
}

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
