//! The published generic inquiries and DACs: their columns, keys, navigation properties and
//! parameters, and which feed serves which. Most of this file is the two tables `INQUIRIES`
//! and `DACS`.

/// One column of an inquiry or DAC.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// `Edm.String`, `Edm.Decimal`, …
    pub edm: &'static str,
}

const fn col(name: &'static str, edm: &'static str) -> Column {
    Column { name, edm }
}

/// A DAC navigation property: `<Related>By<Field>` (one entity or none) or `<Detail>Collection`.
#[derive(Debug, Clone, Copy)]
pub struct Navigation {
    pub name: &'static str,
    /// The target set's name.
    pub target: &'static str,
    /// Pairs of (field of this set, field of the target) that must be equal.
    pub on: &'static [(&'static str, &'static str)],
    /// A collection (`…Collection`) rather than a single entity.
    pub many: bool,
}

const fn one(
    name: &'static str,
    target: &'static str,
    on: &'static [(&'static str, &'static str)],
) -> Navigation {
    Navigation {
        name,
        target,
        on,
        many: false,
    }
}

const fn many(
    name: &'static str,
    target: &'static str,
    on: &'static [(&'static str, &'static str)],
) -> Navigation {
    Navigation {
        name,
        target,
        on,
        many: true,
    }
}

/// A parameter of a generic inquiry (`<GI>_WithParameters(Name='value')`): rows whose
/// `column` equals the value.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    pub edm: &'static str,
    pub column: &'static str,
}

/// A published inquiry or DAC.
#[derive(Debug)]
pub struct Set {
    /// The entity set name (URL segment; inquiry names may contain spaces); DACs also
    /// answer to `aliases`.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub keys: &'static [&'static str],
    pub columns: &'static [Column],
    /// DAC navigation properties.
    pub navigation: &'static [Navigation],
    /// Inquiry parameters (a `Function`/`FunctionImport` `<GI>_WithParameters` in `$metadata`).
    pub parameters: &'static [Parameter],
}

impl Set {
    /// The entity type's name: the set name without the characters an identifier cannot hold
    /// (`Customer Contacts` → `CustomerContacts`), `_` before a leading digit.
    pub fn type_name(&self) -> String {
        let mut t: String = self
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if t.starts_with(|c: char| c.is_ascii_digit()) {
            t.insert(0, '_');
        }
        t
    }

    pub(super) fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub(super) fn nav(&self, name: &str) -> Option<&'static Navigation> {
        self.navigation
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
    }
}

pub(super) const DT: &str = "Edm.DateTimeOffset";
const STR: &str = "Edm.String";
pub(super) const DEC: &str = "Edm.Decimal";
const INT: &str = "Edm.Int32";
const BOOL: &str = "Edm.Boolean";

/// The published inquiries (the GI feeds).
pub const INQUIRIES: &[Set] = &[
    Set {
        name: "CustomerBalance",
        aliases: &[],
        keys: &["CustomerID"],
        columns: &[
            col("CustomerID", STR),
            col("CustomerName", STR),
            col("Status", STR),
            col("CurrencyID", STR),
            col("CreditLimit", DEC),
            col("OpenInvoices", INT),
            col("Balance", DEC),
            col("LastModifiedOn", DT),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "OpenSalesOrderLines",
        aliases: &[],
        keys: &["OrderType", "OrderNbr", "LineNbr"],
        columns: &[
            col("OrderType", STR),
            col("OrderNbr", STR),
            col("LineNbr", INT),
            col("CustomerID", STR),
            col("OrderDate", DT),
            col("Status", STR),
            col("InventoryID", STR),
            col("Description", STR),
            col("Quantity", DEC),
            col("UnitPrice", DEC),
            col("Amount", DEC),
            col("Warehouse", STR),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "InventoryOnHand",
        aliases: &[],
        keys: &["InventoryID", "Warehouse"],
        columns: &[
            col("InventoryID", STR),
            col("Warehouse", STR),
            col("Description", STR),
            col("QtyOnHand", DEC),
            col("QtyAvailable", DEC),
            col("LastModifiedOn", DT),
        ],
        navigation: &[],
        parameters: &[],
    },
    // The inquiries of the I300 training course (Postman collection I300_OData).
    Set {
        name: "Customer Contacts",
        aliases: &[],
        keys: &["CustomerID", "ContactID"],
        columns: &[
            col("CustomerID", STR),
            col("ContactID", INT),
            col("CustomerName", STR),
            col("CustomerClass", STR),
            col("Status", STR),
            col("ContactName", STR),
            col("JobTitle", STR),
            col("Email", STR),
            col("Phone", STR),
            col("City", STR),
            col("LastModifiedOn", DT),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "Modified Stock Items",
        aliases: &[],
        keys: &["InventoryID"],
        columns: &[
            col("InventoryID", STR),
            col("Description", STR),
            col("ItemStatus", STR),
            col("ItemClass", STR),
            col("BaseUnit", STR),
            col("DefaultPrice", DEC),
            col("LastModifiedOn", DT),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "ItemAvailabilityData",
        aliases: &[],
        keys: &["InventoryID"],
        columns: &[
            col("InventoryID", STR),
            col("Description", STR),
            col("BaseUnit", STR),
            col("DefaultWarehouse", STR),
            col("QtyOnHand", DEC),
            col("QtyAvailable", DEC),
            col("LastModifiedOn", DT),
        ],
        navigation: &[],
        parameters: &[Parameter {
            name: "InventoryID",
            edm: STR,
            column: "InventoryID",
        }],
    },
];

/// The DACs of the DAC feed; navigation targets are DACs of this list.
pub const DACS: &[Set] = &[
    Set {
        name: "SOOrder",
        aliases: &["PX_Objects_SO_SOOrder"],
        keys: &["OrderType", "OrderNbr"],
        columns: &[
            col("OrderType", STR),
            col("OrderNbr", STR),
            col("Status", STR),
            col("OrderDate", DT),
            col("CustomerID", INT),
            col("CuryOrderTotal", DEC),
            col("OrderDesc", STR),
            col("Hold", BOOL),
            col("NoteID", "Edm.Guid"),
            col("LastModifiedDateTime", DT),
        ],
        navigation: &[
            many(
                "SOLineCollection",
                "SOLine",
                &[("OrderType", "OrderType"), ("OrderNbr", "OrderNbr")],
            ),
            one(
                "BAccountByCustomerID",
                "Customer",
                &[("CustomerID", "BAccountID")],
            ),
        ],
        parameters: &[],
    },
    Set {
        name: "SOLine",
        aliases: &["PX_Objects_SO_SOLine"],
        keys: &["OrderType", "OrderNbr", "LineNbr"],
        columns: &[
            col("OrderType", STR),
            col("OrderNbr", STR),
            col("LineNbr", INT),
            col("InventoryID", INT),
            col("TranDesc", STR),
            col("OrderQty", DEC),
            col("CuryUnitPrice", DEC),
            col("CuryLineAmt", DEC),
        ],
        navigation: &[
            one(
                "SOOrderByOrderNbr",
                "SOOrder",
                &[("OrderType", "OrderType"), ("OrderNbr", "OrderNbr")],
            ),
            one(
                "InventoryItemByInventoryID",
                "InventoryItem",
                &[("InventoryID", "InventoryID")],
            ),
        ],
        parameters: &[],
    },
    Set {
        name: "InventoryItem",
        aliases: &["PX_Objects_IN_InventoryItem"],
        keys: &["InventoryID"],
        columns: &[
            col("InventoryID", INT),
            col("InventoryCD", STR),
            col("Descr", STR),
            col("ItemStatus", STR),
            col("StkItem", BOOL),
            col("BasePrice", DEC),
            col("LastModifiedDateTime", DT),
            col("BaseUnit", STR),
            col("ItemClassID", INT),
            col("DfltSiteID", INT),
        ],
        navigation: &[
            one("INSiteByDfltSiteID", "INSite", &[("DfltSiteID", "SiteID")]),
            one(
                "INItemClassByItemClassID",
                "INItemClass",
                &[("ItemClassID", "ItemClassID")],
            ),
            many(
                "INSiteStatusCollection",
                "INSiteStatus",
                &[("InventoryID", "InventoryID")],
            ),
        ],
        parameters: &[],
    },
    Set {
        name: "Customer",
        aliases: &["PX_Objects_AR_Customer"],
        keys: &["BAccountID"],
        columns: &[
            col("BAccountID", INT),
            col("AcctCD", STR),
            col("AcctName", STR),
            col("CustomerClassID", STR),
            col("Status", STR),
            col("CuryID", STR),
            col("CreditLimit", DEC),
            col("DefAddressID", INT),
            col("DefContactID", INT),
            col("DefBillContactID", INT),
            col("NoteID", "Edm.Guid"),
            col("CreatedDateTime", DT),
            col("LastModifiedDateTime", DT),
        ],
        navigation: &[
            one(
                "AddressByDefAddressID",
                "Address",
                &[("DefAddressID", "AddressID")],
            ),
            one(
                "ContactByDefContactID",
                "Contact",
                &[("DefContactID", "ContactID")],
            ),
            one(
                "ContactByDefBillContactID",
                "Contact",
                &[("DefBillContactID", "ContactID")],
            ),
        ],
        parameters: &[],
    },
    Set {
        name: "Contact",
        aliases: &["PX_Objects_CR_Contact"],
        keys: &["ContactID"],
        columns: &[
            col("ContactID", INT),
            col("ContactType", STR),
            col("BAccountID", INT),
            col("DisplayName", STR),
            col("FirstName", STR),
            col("LastName", STR),
            col("Salutation", STR),
            col("FullName", STR),
            col("EMail", STR),
            col("Phone1", STR),
            col("IsActive", BOOL),
            col("LastModifiedDateTime", DT),
        ],
        navigation: &[one(
            "BAccountByBAccountID",
            "Customer",
            &[("BAccountID", "BAccountID")],
        )],
        parameters: &[],
    },
    Set {
        name: "Address",
        aliases: &["PX_Objects_CR_Address"],
        keys: &["AddressID"],
        columns: &[
            col("AddressID", INT),
            col("BAccountID", INT),
            col("AddressLine1", STR),
            col("AddressLine2", STR),
            col("City", STR),
            col("State", STR),
            col("PostalCode", STR),
            col("CountryID", STR),
            col("IsValidated", BOOL),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "INSite",
        aliases: &["PX_Objects_IN_INSite"],
        keys: &["SiteID"],
        columns: &[
            col("SiteID", INT),
            col("SiteCD", STR),
            col("Descr", STR),
            col("Active", BOOL),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "INItemClass",
        aliases: &["PX_Objects_IN_INItemClass"],
        keys: &["ItemClassID"],
        columns: &[
            col("ItemClassID", INT),
            col("ItemClassCD", STR),
            col("Descr", STR),
            col("StkItem", BOOL),
        ],
        navigation: &[],
        parameters: &[],
    },
    Set {
        name: "INSiteStatus",
        aliases: &["PX_Objects_IN_INSiteStatus"],
        keys: &["InventoryID", "SubItemID", "SiteID"],
        columns: &[
            col("InventoryID", INT),
            col("SubItemID", INT),
            col("SiteID", INT),
            col("QtyOnHand", DEC),
            col("QtyAvail", DEC),
            col("QtyHardAvail", DEC),
            col("QtyNotAvail", DEC),
            col("LastModifiedDateTime", DT),
        ],
        navigation: &[
            one(
                "InventoryItemByInventoryID",
                "InventoryItem",
                &[("InventoryID", "InventoryID")],
            ),
            one("INSiteBySiteID", "INSite", &[("SiteID", "SiteID")]),
        ],
        parameters: &[],
    },
];

/// Which feed a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    GiV4,
    GiV3,
    Dac,
}

impl Feed {
    pub fn sets(self) -> &'static [Set] {
        match self {
            Self::GiV4 | Self::GiV3 => INQUIRIES,
            Self::Dac => DACS,
        }
    }

    pub fn find(self, name: &str) -> Option<&'static Set> {
        self.sets().iter().find(|s| {
            s.name.eq_ignore_ascii_case(name)
                || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// The schema namespace of `$metadata`.
    pub(super) fn namespace(self) -> &'static str {
        match self {
            Self::GiV4 | Self::GiV3 => "GI",
            Self::Dac => "PX.Api",
        }
    }
}

/// A navigation's target set (always a DAC).
pub(super) fn target(nav: &Navigation) -> &'static Set {
    DACS.iter()
        .find(|s| s.name == nav.target)
        .unwrap_or(&DACS[0])
}

/// The suffix of a parameterised inquiry's function (`<GI>_WithParameters`).
pub(super) const WITH_PARAMETERS: &str = "_WithParameters";
