//! Finance: customer payments (with their application history), journal transactions and the
//! chart of accounts.

use super::{Data, EPOCH_2023, Entity, FieldValue, Record, Stamp};

impl Data {
    /// Payment `i`: its application history when `with_details`.
    pub(super) fn payment(&self, i: usize, with_details: bool) -> Record {
        let n = i as u64;
        let customers = self.count(Entity::Customer);
        let h = self.h(15, n, 1);
        let date = self.date(15, n, 2);
        let customer = Self::customer_id((h % customers as u64) as usize);
        let invoices = self.count(Entity::SalesInvoice) as u64;
        let history: Vec<Record> = if with_details {
            (0..1 + (h >> 40) % 3)
                .map(|k| {
                    let ah = self.h(19, n << 4 | k, 1);
                    Record::new(
                        self.guid(19, n << 4 | k),
                        vec![
                            ("AdjustedDocType", FieldValue::Str("Invoice".into())),
                            (
                                "AdjustedRefNbr",
                                FieldValue::Str(format!("INV{:06}", 1 + ah % invoices)),
                            ),
                            (
                                "AmountPaid",
                                FieldValue::Dec(((ah >> 8) % 500_000) as i128 * 100, 4),
                            ),
                            ("Customer", FieldValue::Str(customer.clone())),
                            ("Date", FieldValue::Time(date)),
                            ("DisplayDocType", FieldValue::Str("Invoice".into())),
                            (
                                "DisplayRefNbr",
                                FieldValue::Str(format!("INV{:06}", 1 + ah % invoices)),
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
                ("ApplicationDate", FieldValue::Time(date)),
                (
                    "Branch",
                    FieldValue::Str(super::BRANCHES[(n % 2) as usize].0.into()),
                ),
                ("CashAccount", FieldValue::Str("10200".into())),
                ("CurrencyID", FieldValue::Str("USD".into())),
                (
                    "CustomerID",
                    FieldValue::Str(Self::customer_id((h % customers as u64) as usize)),
                ),
                (
                    "Description",
                    match (h >> 12) % 5 {
                        0 => FieldValue::Null,
                        1 => FieldValue::Str(String::new()),
                        2 => FieldValue::Str("Prepayment".into()),
                        _ => FieldValue::Str(format!("Payment for {customer}")),
                    },
                ),
                ("Hold", FieldValue::Bool(false)),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(date.later(h, 1_000_000)),
                ),
                (
                    "PaymentAmount",
                    FieldValue::Dec(((h >> 2) % 1_000_000) as i128 * 100, 4),
                ),
                (
                    "PaymentMethod",
                    FieldValue::Str(if h.is_multiple_of(2) { "CHECK" } else { "CARD" }.into()),
                ),
                (
                    "PaymentRef",
                    FieldValue::Str(format!("{:06}", h % 1_000_000)),
                ),
                ("ReferenceNbr", FieldValue::Str(format!("PMT{:06}", i + 1))),
                (
                    "Status",
                    FieldValue::Str(
                        if h.is_multiple_of(5) {
                            "Open"
                        } else {
                            "Closed"
                        }
                        .into(),
                    ),
                ),
                ("Type", FieldValue::Str("Payment".into())),
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
        let date = self.date(16, n, 2);
        let pairs = 1 + (h % 3) as usize;
        let mut lines = Vec::new();
        if with_details {
            for p in 0..pairs {
                let lh = self.h(17, n << 8 | p as u64, 1);
                let amount = FieldValue::Dec(((lh >> 5) % 1_000_000) as i128 * 100, 4);
                let zero = FieldValue::Dec(0, 4);
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
                            ("Account", FieldValue::Str(acct.into())),
                            ("CreditAmount", cr),
                            ("DebitAmount", dr),
                            (
                                "Description",
                                FieldValue::Str(format!("Batch {} line {}", i + 1, line + 1)),
                            ),
                            ("LineNbr", FieldValue::Int(line as i64 + 1)),
                            ("Subaccount", FieldValue::Str("000000".into())),
                        ],
                    ));
                }
            }
        }
        let status = ["Posted", "Posted", "Balanced", "Unposted"][(h >> 9) as usize % 4];
        let mut r = Record::new(
            self.guid(16, n),
            vec![
                ("BatchNbr", FieldValue::Str(format!("GL{:06}", i + 1))),
                ("BranchID", FieldValue::Str("MAIN".into())),
                (
                    "CreatedDateTime",
                    FieldValue::Time(date.later(h >> 20, 36_000)),
                ),
                ("CurrencyID", FieldValue::Str("USD".into())),
                (
                    "Description",
                    FieldValue::Str(format!("Journal entry {}", i + 1)),
                ),
                ("Hold", FieldValue::Bool(false)),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(date.later(h, 500_000)),
                ),
                ("LedgerID", FieldValue::Str("ACTUAL".into())),
                ("Module", FieldValue::Str("GL".into())),
                (
                    "PostPeriod",
                    FieldValue::Str(
                        chrono::DateTime::from_timestamp(date.secs(), 0)
                            .unwrap_or_default()
                            .format("%m%Y")
                            .to_string(),
                    ),
                ),
                ("Status", FieldValue::Str(status.into())),
                ("TransactionDate", FieldValue::Time(date)),
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
                ("AccountCD", FieldValue::Str(cd.into())),
                ("AccountClass", FieldValue::Str(ty.to_uppercase())),
                ("AccountID", FieldValue::Int(1000 + i as i64)),
                ("Active", FieldValue::Bool(true)),
                ("CashAccount", FieldValue::Bool(cd.starts_with("102"))),
                ("CurrencyID", FieldValue::Null),
                ("Description", FieldValue::Str(desc.into())),
                (
                    "LastModifiedDateTime",
                    FieldValue::Time(
                        Stamp::from_secs(EPOCH_2023 + i as i64 * 3600).later(n * 7919, 60),
                    ),
                ),
                ("Type", FieldValue::Str(ty.into())),
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
