//! OData feeds over the same generated data: generic inquiries (GI) over OData v4
//! (`/t/<tenant>/api/odata/gi`) and legacy v3 (`/odata/<tenant>`), and DACs over OData v4
//! (`/t/<tenant>/api/odata/dac`). Service documents, `$metadata` (EDMX), and `$filter`,
//! `$select`, `$top`, `$skip`, `$orderby`. Inquiries with parameters answer
//! `<GI>_WithParameters(Name='value')` (or `(Name=@1)?@1='value'`); DACs answer key lookups
//! (`SOOrder(OrderType='SO',OrderNbr='SO000058')`) and `$expand` of their navigation
//! properties with nested options (`Nav($select=A;$expand=Other)`), three levels deep.
//! Everything the I300 course's Postman collection asks is served.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::data::{Data, Entity, Record, V};
use crate::filter::{self, Dialect, Expr, Lit, Op};

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

    fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    fn nav(&self, name: &str) -> Option<&'static Navigation> {
        self.navigation
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
    }
}

const DT: &str = "Edm.DateTimeOffset";
const STR: &str = "Edm.String";
const DEC: &str = "Edm.Decimal";
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
    fn namespace(self) -> &'static str {
        match self {
            Self::GiV4 | Self::GiV3 => "GI",
            Self::Dac => "PX.Api",
        }
    }
}

/// A navigation's target set (always a DAC).
fn target(nav: &Navigation) -> &'static Set {
    DACS.iter()
        .find(|s| s.name == nav.target)
        .unwrap_or(&DACS[0])
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// The suffix of a parameterised inquiry's function (`<GI>_WithParameters`).
const WITH_PARAMETERS: &str = "_WithParameters";

/// The EDMX document of a feed.
pub fn metadata(feed: Feed) -> String {
    let namespace = feed.namespace();
    let v4 = feed != Feed::GiV3;
    let mut types = String::new();
    let mut functions = String::new();
    let mut sets = String::new();
    for s in feed.sets() {
        let type_name = s.type_name();
        types.push_str(&format!("<EntityType Name=\"{type_name}\"><Key>"));
        for k in s.keys {
            types.push_str(&format!("<PropertyRef Name=\"{k}\"/>"));
        }
        types.push_str("</Key>");
        for c in s.columns {
            let edm = if !v4 && c.edm == DT {
                "Edm.DateTime"
            } else {
                c.edm
            };
            let nullable = if s.keys.contains(&c.name) {
                " Nullable=\"false\""
            } else {
                ""
            };
            let extra = if edm == DEC {
                " Precision=\"19\" Scale=\"6\""
            } else {
                ""
            };
            types.push_str(&format!(
                "<Property Name=\"{}\" Type=\"{edm}\"{nullable}{extra}/>",
                xml_escape(c.name)
            ));
        }
        for n in s.navigation {
            let t = format!("{namespace}.{}", target(n).type_name());
            if n.many {
                types.push_str(&format!(
                    "<NavigationProperty Name=\"{}\" Type=\"Collection({t})\"/>",
                    n.name
                ));
            } else {
                types.push_str(&format!(
                    "<NavigationProperty Name=\"{}\" Type=\"{t}\">",
                    n.name
                ));
                for (from, to) in n.on {
                    types.push_str(&format!(
                        "<ReferentialConstraint Property=\"{from}\" ReferencedProperty=\"{to}\"/>"
                    ));
                }
                types.push_str("</NavigationProperty>");
            }
        }
        types.push_str("</EntityType>");
        let bindings: String = s
            .navigation
            .iter()
            .map(|n| {
                format!(
                    "<NavigationPropertyBinding Path=\"{}\" Target=\"{}\"/>",
                    n.name, n.target
                )
            })
            .collect();
        for name in std::iter::once(&s.name).chain(s.aliases.iter()) {
            let name = xml_escape(name);
            if bindings.is_empty() {
                sets.push_str(&format!(
                    "<EntitySet Name=\"{name}\" EntityType=\"{namespace}.{type_name}\"/>"
                ));
            } else {
                sets.push_str(&format!(
                    "<EntitySet Name=\"{name}\" EntityType=\"{namespace}.{type_name}\">{bindings}</EntitySet>"
                ));
            }
        }
        if s.parameters.is_empty() {
            continue;
        }
        let function = format!("{type_name}{WITH_PARAMETERS}");
        let set_name = xml_escape(s.name);
        if v4 {
            functions.push_str(&format!("<Function Name=\"{function}\">"));
            for p in s.parameters {
                functions.push_str(&format!(
                    "<Parameter Name=\"{}\" Type=\"{}\"/>",
                    p.name, p.edm
                ));
            }
            functions.push_str(&format!(
                "<ReturnType Type=\"Collection({namespace}.{type_name})\"/></Function>"
            ));
            sets.push_str(&format!(
                "<FunctionImport Name=\"{function}\" Function=\"{namespace}.{function}\" EntitySet=\"{set_name}\"/>"
            ));
        } else {
            sets.push_str(&format!(
                "<FunctionImport Name=\"{function}\" ReturnType=\"Collection({namespace}.{type_name})\" EntitySet=\"{set_name}\" m:HttpMethod=\"GET\">"
            ));
            for p in s.parameters {
                sets.push_str(&format!(
                    "<Parameter Name=\"{}\" Type=\"{}\" Mode=\"In\"/>",
                    p.name, p.edm
                ));
            }
            sets.push_str("</FunctionImport>");
        }
    }
    if v4 {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\"><edmx:DataServices><Schema Namespace=\"{namespace}\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">{types}{functions}<EntityContainer Name=\"Default\">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
        )
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><edmx:Edmx Version=\"1.0\" xmlns:edmx=\"http://schemas.microsoft.com/ado/2007/06/edmx\"><edmx:DataServices m:DataServiceVersion=\"3.0\" m:MaxDataServiceVersion=\"3.0\" xmlns:m=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\"><Schema Namespace=\"{namespace}\" xmlns=\"http://schemas.microsoft.com/ado/2009/11/edm\">{types}<EntityContainer Name=\"Default\" m:IsDefaultEntityContainer=\"true\">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
        )
    }
}

/// The service document.
pub fn service(feed: Feed, context: &str) -> String {
    let items: Vec<String> = feed
        .sets()
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
        .map(|n| {
            let n = serde_json::to_string(n).unwrap_or_default();
            format!("{{\"name\":{n},\"kind\":\"EntitySet\",\"url\":{n}}}")
        })
        .collect();
    match feed {
        Feed::GiV3 => format!(
            "{{\"odata.metadata\":\"{context}/$metadata\",\"value\":[{}]}}",
            items.join(",")
        ),
        _ => format!(
            "{{\"@odata.context\":\"{context}/$metadata\",\"value\":[{}]}}",
            items.join(",")
        ),
    }
}

const DAC_STATUS: &[(&str, &str)] = &[
    ("Open", "N"),
    ("Completed", "C"),
    ("On Hold", "H"),
    ("Shipping", "S"),
    ("Cancelled", "L"),
];

fn row(id: String, fields: Vec<(&'static str, V)>) -> Record {
    Record {
        id,
        fields,
        ..Default::default()
    }
}

/// Balance and count of open invoices per customer, computed once.
fn balances(data: &Data) -> &'static [(i128, i64)] {
    type Balances = &'static [(i128, i64)];
    static CACHE: OnceLock<std::sync::Mutex<HashMap<(u64, u32), Balances>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut g = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    g.entry((data.seed, data.scale)).or_insert_with(|| {
        let mut v = vec![(0i128, 0i64); data.count(Entity::Customer)];
        for i in 0..data.count(Entity::SalesInvoice) {
            let inv = data.record(Entity::SalesInvoice, i, false);
            if let (Some(V::Str(c)), Some(V::Dec(b, _))) =
                (inv.get("CustomerID"), inv.get("Balance"))
                && let Some(n) = c.strip_prefix('C').and_then(|n| n.parse::<usize>().ok())
                && *b != 0
            {
                v[n - 1].0 += b;
                v[n - 1].1 += 1;
            }
        }
        Box::leak(v.into_boxed_slice())
    })
}

/// Warehouses: (SiteID, SiteCD, Descr).
const SITES: &[(i64, &str, &str)] = &[(1, "MAIN", "Main warehouse"), (2, "RETAIL", "Retail store")];

/// Item classes: (ItemClassID, ItemClassCD, Descr, StkItem).
const ITEM_CLASSES: &[(i64, &str, &str, bool)] = &[
    (1, "FOOD", "Food and beverages", true),
    (2, "SERVICE", "Services", false),
];

/// Quantities of stock item `i` in warehouse `w` (an index into `SITES`): on hand and
/// available, 6 decimals.
fn stock(data: &Data, i: usize, w: usize) -> (i128, i128) {
    let h = crate::data::mix(data.seed ^ (i as u64) << 4 ^ w as u64);
    let on_hand = (h % 500) as i128 * 1_000_000;
    (on_hand, on_hand - (h >> 20) as i128 % 50 * 1_000_000)
}

/// The default warehouse of stock item `i` (an index into `SITES`).
fn default_site(i: usize) -> usize {
    usize::from(i % 3 == 2)
}

/// Space-padded to the column width, as key values come from SQL Server.
fn padded(s: &str, width: usize) -> V {
    V::Str(format!("{s:<width$}"))
}

fn field(r: &Record, k: &str) -> V {
    r.get(k).cloned().unwrap_or(V::Null)
}

/// The customer's BAccountID (internal id) from its index.
fn baccount_id(c: usize) -> i64 {
    c as i64 + 1001
}

/// `C000042` → index 41.
fn customer_index(id: &V) -> Option<usize> {
    match id {
        V::Str(c) => c
            .trim()
            .strip_prefix('C')?
            .parse::<usize>()
            .ok()?
            .checked_sub(1),
        _ => None,
    }
}

/// The contact ids: people first (`100 + i`, as the REST `Contact` entity has them), then one
/// account contact per customer (its billing contact).
fn account_contact_id(data: &Data, c: usize) -> i64 {
    100 + (data.count(Entity::Contact) + c) as i64
}

fn dac_customer(data: &Data, c: usize) -> Record {
    let r = data.record(Entity::Customer, c, false);
    let status = match r.get("Status") {
        Some(V::Str(s)) if s == "On Hold" => "H",
        Some(V::Str(s)) if s == "Inactive" => "I",
        _ => "A",
    };
    let contact = V::Int(account_contact_id(data, c));
    row(
        r.id.clone(),
        vec![
            ("BAccountID", V::Int(baccount_id(c))),
            ("AcctCD", padded(&Data::customer_id(c), 10)),
            ("AcctName", field(&r, "CustomerName")),
            ("CustomerClassID", field(&r, "CustomerClass")),
            ("Status", V::Str(status.into())),
            ("CuryID", field(&r, "CurrencyID")),
            ("CreditLimit", field(&r, "CreditLimit")),
            ("DefAddressID", V::Int(c as i64 + 1)),
            ("DefContactID", contact.clone()),
            ("DefBillContactID", contact),
            ("NoteID", V::Str(r.id.clone())),
            ("CreatedDateTime", field(&r, "CreatedDateTime")),
            ("LastModifiedDateTime", field(&r, "LastModifiedDateTime")),
        ],
    )
}

/// The customer's phone, as its orders' ship-to contacts show it.
fn customer_phone(c: usize) -> V {
    V::Str(format!("+1 555 {:04}", c % 10_000))
}

fn person_contact(data: &Data, i: usize) -> Record {
    let p = data.record(Entity::Contact, i, false);
    let account = customer_index(&field(&p, "BusinessAccount"));
    let company = account.map(|c| field(&data.record(Entity::Customer, c, false), "CustomerName"));
    row(
        p.id.clone(),
        vec![
            ("ContactID", field(&p, "ContactID")),
            ("ContactType", V::Str("PN".into())),
            (
                "BAccountID",
                account.map_or(V::Null, |c| V::Int(baccount_id(c))),
            ),
            ("DisplayName", field(&p, "DisplayName")),
            ("FirstName", field(&p, "FirstName")),
            ("LastName", field(&p, "LastName")),
            ("Salutation", field(&p, "JobTitle")),
            ("FullName", company.unwrap_or(V::Null)),
            ("EMail", field(&p, "Email")),
            ("Phone1", field(&p, "Phone1")),
            ("IsActive", field(&p, "Active")),
            ("LastModifiedDateTime", field(&p, "LastModifiedDateTime")),
        ],
    )
}

/// A customer's account (billing) contact: its name, billing e-mail and phone.
fn account_contact(data: &Data, c: usize) -> Record {
    let r = data.record(Entity::Customer, c, false);
    row(
        format!("{}-contact", r.id),
        vec![
            ("ContactID", V::Int(account_contact_id(data, c))),
            ("ContactType", V::Str("AP".into())),
            ("BAccountID", V::Int(baccount_id(c))),
            ("DisplayName", field(&r, "CustomerName")),
            ("FirstName", V::Null),
            ("LastName", V::Null),
            ("Salutation", V::Null),
            ("FullName", field(&r, "CustomerName")),
            ("EMail", field(&r, "Email")),
            ("Phone1", customer_phone(c)),
            ("IsActive", V::Bool(true)),
            ("LastModifiedDateTime", field(&r, "LastModifiedDateTime")),
        ],
    )
}

/// A customer's main address: the one its orders ship to.
fn address(c: usize) -> Record {
    let (city, state) = crate::data::customer_city(c);
    row(
        format!("address-{c}"),
        vec![
            ("AddressID", V::Int(c as i64 + 1)),
            ("BAccountID", V::Int(baccount_id(c))),
            ("AddressLine1", V::Str(format!("{} Main St", 1 + c % 900))),
            ("AddressLine2", V::Null),
            ("City", V::Str(city.into())),
            ("State", V::Str(state.into())),
            ("PostalCode", V::Str(format!("{:05}", 10_000 + c % 89_999))),
            ("CountryID", V::Str("US".into())),
            ("IsValidated", V::Bool(c.is_multiple_of(2))),
        ],
    )
}

fn inventory_item(data: &Data, i: usize) -> Record {
    let s = data.record(Entity::StockItem, i, false);
    let status = if matches!(s.get("ItemStatus"), Some(V::Str(x)) if x == "Active") {
        "AC"
    } else {
        "IN"
    };
    row(
        s.id.clone(),
        vec![
            ("InventoryID", V::Int(i as i64 + 1)),
            ("InventoryCD", padded(&Data::item_id(i), 30)),
            ("Descr", field(&s, "Description")),
            ("ItemStatus", V::Str(status.into())),
            ("StkItem", V::Bool(true)),
            ("BasePrice", field(&s, "DefaultPrice")),
            ("LastModifiedDateTime", field(&s, "LastModifiedDateTime")),
            ("BaseUnit", field(&s, "BaseUOM")),
            ("ItemClassID", V::Int(ITEM_CLASSES[0].0)),
            ("DfltSiteID", V::Int(SITES[default_site(i)].0)),
        ],
    )
}

fn site(w: usize) -> Record {
    let (id, cd, descr) = SITES[w];
    row(
        format!("site-{id}"),
        vec![
            ("SiteID", V::Int(id)),
            ("SiteCD", padded(cd, 10)),
            ("Descr", V::Str(descr.into())),
            ("Active", V::Bool(true)),
        ],
    )
}

fn item_class(k: usize) -> Record {
    let (id, cd, descr, stock) = ITEM_CLASSES[k];
    row(
        format!("class-{id}"),
        vec![
            ("ItemClassID", V::Int(id)),
            ("ItemClassCD", V::Str(cd.into())),
            ("Descr", V::Str(descr.into())),
            ("StkItem", V::Bool(stock)),
        ],
    )
}

fn site_status(data: &Data, i: usize, w: usize) -> Record {
    let (on_hand, available) = stock(data, i, w);
    let modified = field(
        &data.record(Entity::StockItem, i, false),
        "LastModifiedDateTime",
    );
    row(
        format!("status-{i}-{w}"),
        vec![
            ("InventoryID", V::Int(i as i64 + 1)),
            ("SubItemID", V::Int(0)),
            ("SiteID", V::Int(SITES[w].0)),
            ("QtyOnHand", V::Dec(on_hand, 6)),
            ("QtyAvail", V::Dec(available, 6)),
            ("QtyHardAvail", V::Dec(available, 6)),
            ("QtyNotAvail", V::Dec(on_hand - available, 6)),
            ("LastModifiedDateTime", modified),
        ],
    )
}

fn so_order(data: &Data, i: usize) -> Record {
    let o = data.record(Entity::SalesOrder, i, false);
    let g = |k: &str| field(&o, k);
    let status = match o.get("Status") {
        Some(V::Str(s)) => DAC_STATUS.iter().find(|x| x.0 == s).map_or("N", |x| x.1),
        _ => "N",
    };
    let customer = customer_index(&g("CustomerID")).map_or(0, baccount_id);
    row(
        o.id.clone(),
        vec![
            ("OrderType", g("OrderType")),
            ("OrderNbr", g("OrderNbr")),
            ("Status", V::Str(status.into())),
            ("OrderDate", g("Date")),
            ("CustomerID", V::Int(customer)),
            ("CuryOrderTotal", g("OrderTotal")),
            ("OrderDesc", g("Description")),
            ("Hold", g("Hold")),
            ("NoteID", V::Str(o.id.clone())),
            ("LastModifiedDateTime", g("LastModified")),
        ],
    )
}

/// The lines of sales order `i` as `SOLine` rows.
fn so_lines(data: &Data, i: usize) -> Vec<Record> {
    let o = data.record(Entity::SalesOrder, i, true);
    let lines = o
        .details
        .first()
        .map(|d| d.1.as_slice())
        .unwrap_or_default();
    lines.iter().map(|l| so_line(&o, l)).collect()
}

/// Every row of a set, in key order, lazily.
pub fn rows<'a>(
    data: &'a Data,
    feed: Feed,
    set: &'static Set,
) -> Box<dyn Iterator<Item = Record> + 'a> {
    let customers = data.count(Entity::Customer);
    let items = data.count(Entity::StockItem);
    match (feed, set.name) {
        (Feed::GiV4 | Feed::GiV3, "CustomerBalance") => {
            let b = balances(data);
            Box::new((0..customers).map(move |i| {
                let c = data.record(Entity::Customer, i, false);
                let g = |k: &str| field(&c, k);
                row(
                    c.id.clone(),
                    vec![
                        ("CustomerID", g("CustomerID")),
                        ("CustomerName", g("CustomerName")),
                        ("Status", g("Status")),
                        ("CurrencyID", g("CurrencyID")),
                        ("CreditLimit", g("CreditLimit")),
                        ("OpenInvoices", V::Int(b[i].1)),
                        ("Balance", V::Dec(b[i].0, 4)),
                        ("LastModifiedOn", g("LastModifiedDateTime")),
                    ],
                )
            }))
        }
        (Feed::GiV4 | Feed::GiV3, "OpenSalesOrderLines") => Box::new(
            (0..data.count(Entity::SalesOrder))
                .filter_map(move |i| {
                    let head = data.record(Entity::SalesOrder, i, false);
                    let open = matches!(head.get("Status"), Some(V::Str(s)) if matches!(s.as_str(), "Open" | "On Hold" | "Shipping"));
                    open.then(|| data.record(Entity::SalesOrder, i, true))
                })
                .flat_map(|o| {
                    let g = |k: &str| field(&o, k);
                    let head = [g("OrderType"), g("OrderNbr"), g("CustomerID"), g("Date"), g("Status")];
                    let lines = o.details.first().map(|d| d.1.clone()).unwrap_or_default();
                    lines.into_iter().map(move |l| {
                        let lg = |k: &str| field(&l, k);
                        row(
                            l.id.clone(),
                            vec![
                                ("OrderType", head[0].clone()),
                                ("OrderNbr", head[1].clone()),
                                ("LineNbr", lg("LineNbr")),
                                ("CustomerID", head[2].clone()),
                                ("OrderDate", head[3].clone()),
                                ("Status", head[4].clone()),
                                ("InventoryID", lg("InventoryID")),
                                ("Description", lg("LineDescription")),
                                ("Quantity", lg("OrderQty")),
                                ("UnitPrice", lg("UnitPrice")),
                                ("Amount", lg("Amount")),
                                ("Warehouse", lg("WarehouseID")),
                            ],
                        )
                    })
                }),
        ),
        (Feed::GiV4 | Feed::GiV3, "InventoryOnHand") => Box::new((0..items).flat_map(move |i| {
            let item = data.record(Entity::StockItem, i, false);
            (0..SITES.len()).map(move |w| {
                let (on_hand, available) = stock(data, i, w);
                row(
                    format!("{}-{w}", item.id),
                    vec![
                        ("InventoryID", field(&item, "InventoryID")),
                        // Key values come space-padded to the column width, as on SQL Server.
                        ("Warehouse", padded(SITES[w].1, 10)),
                        ("Description", field(&item, "Description")),
                        ("QtyOnHand", V::Dec(on_hand, 6)),
                        ("QtyAvailable", V::Dec(available, 6)),
                        ("LastModifiedOn", field(&item, "LastModifiedDateTime")),
                    ],
                )
            })
        })),
        (Feed::GiV4 | Feed::GiV3, "Customer Contacts") => {
            // A customer's main contact: the first contact of its business account (contact
            // `i` belongs to customer `i mod customers`, so customer `c` has contact `c`).
            Box::new((0..customers).map(move |c| {
                let cu = data.record(Entity::Customer, c, false);
                let p = data.record(Entity::Contact, c, false);
                row(
                    p.id.clone(),
                    vec![
                        ("CustomerID", field(&cu, "CustomerID")),
                        ("ContactID", field(&p, "ContactID")),
                        ("CustomerName", field(&cu, "CustomerName")),
                        ("CustomerClass", field(&cu, "CustomerClass")),
                        ("Status", field(&cu, "Status")),
                        ("ContactName", field(&p, "DisplayName")),
                        ("JobTitle", field(&p, "JobTitle")),
                        ("Email", field(&p, "Email")),
                        ("Phone", field(&p, "Phone1")),
                        ("City", V::Str(crate::data::customer_city(c).0.into())),
                        ("LastModifiedOn", field(&p, "LastModifiedDateTime")),
                    ],
                )
            }))
        }
        (Feed::GiV4 | Feed::GiV3, "Modified Stock Items") => Box::new((0..items).map(move |i| {
            let s = data.record(Entity::StockItem, i, false);
            row(
                s.id.clone(),
                vec![
                    ("InventoryID", field(&s, "InventoryID")),
                    ("Description", field(&s, "Description")),
                    ("ItemStatus", field(&s, "ItemStatus")),
                    ("ItemClass", field(&s, "ItemClass")),
                    ("BaseUnit", field(&s, "BaseUOM")),
                    ("DefaultPrice", field(&s, "DefaultPrice")),
                    ("LastModifiedOn", field(&s, "LastModifiedDateTime")),
                ],
            )
        })),
        (Feed::GiV4 | Feed::GiV3, "ItemAvailabilityData") => Box::new((0..items).map(move |i| {
            // One row per item: its stock summed over the warehouses (InventoryOnHand's rows).
            let s = data.record(Entity::StockItem, i, false);
            let (on_hand, available) = (0..SITES.len())
                .map(|w| stock(data, i, w))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            row(
                s.id.clone(),
                vec![
                    ("InventoryID", field(&s, "InventoryID")),
                    ("Description", field(&s, "Description")),
                    ("BaseUnit", field(&s, "BaseUOM")),
                    ("DefaultWarehouse", padded(SITES[default_site(i)].1, 10)),
                    ("QtyOnHand", V::Dec(on_hand, 6)),
                    ("QtyAvailable", V::Dec(available, 6)),
                    ("LastModifiedOn", field(&s, "LastModifiedDateTime")),
                ],
            )
        })),
        (Feed::Dac, "SOOrder") => Box::new((0..data.count(Entity::SalesOrder)).map(move |i| so_order(data, i))),
        (Feed::Dac, "SOLine") => Box::new((0..data.count(Entity::SalesOrder)).flat_map(move |i| so_lines(data, i))),
        (Feed::Dac, "InventoryItem") => Box::new((0..items).map(move |i| inventory_item(data, i))),
        (Feed::Dac, "Customer") => Box::new((0..customers).map(move |c| dac_customer(data, c))),
        (Feed::Dac, "Contact") => Box::new(
            (0..data.count(Entity::Contact))
                .map(move |i| person_contact(data, i))
                .chain((0..customers).map(move |c| account_contact(data, c))),
        ),
        (Feed::Dac, "Address") => Box::new((0..customers).map(address)),
        (Feed::Dac, "INSite") => Box::new((0..SITES.len()).map(site)),
        (Feed::Dac, "INItemClass") => Box::new((0..ITEM_CLASSES.len()).map(item_class)),
        (Feed::Dac, "INSiteStatus") => Box::new(
            (0..items).flat_map(move |i| (0..SITES.len()).map(move |w| site_status(data, i, w))),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

fn so_line(o: &Record, l: &Record) -> Record {
    let g = |k: &str| field(l, k);
    let item = match l.get("InventoryID") {
        Some(V::Str(s)) => s.trim_start_matches("ITEM").parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    row(
        l.id.clone(),
        vec![
            ("OrderType", field(o, "OrderType")),
            ("OrderNbr", field(o, "OrderNbr")),
            ("LineNbr", g("LineNbr")),
            ("InventoryID", V::Int(item)),
            ("TranDesc", g("LineDescription")),
            ("OrderQty", g("OrderQty")),
            ("CuryUnitPrice", g("UnitPrice")),
            ("CuryLineAmt", g("Amount")),
        ],
    )
}

/// Key values are equal as SQL Server compares them: strings case-insensitively without
/// trailing spaces, numbers by value (a number written as text matches too).
fn same(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Str(x), V::Str(y)) => x.trim_end().eq_ignore_ascii_case(y.trim_end()),
        (V::Str(s), V::Int(i)) | (V::Int(i), V::Str(s)) => s.trim().parse::<i64>() == Ok(*i),
        (V::Int(_) | V::Dec(..), V::Int(_) | V::Dec(..)) => {
            compare(Some(&as_dec(a)), Some(&as_dec(b))).is_eq()
        }
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Time(x), V::Time(y)) => x == y,
        _ => false,
    }
}

fn as_dec(v: &V) -> V {
    match v {
        V::Int(i) => V::Dec(i128::from(*i), 0),
        v => v.clone(),
    }
}

fn int_key(v: &V) -> Option<i64> {
    match v {
        V::Int(i) => Some(*i),
        V::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The row of a DAC with these key values (in the order of `set.keys`), found directly from
/// the ids where they are computed, else by a scan.
pub fn by_key(data: &Data, set: &'static Set, values: &[V]) -> Option<Record> {
    let index = |v: &V, first: i64, n: usize| {
        int_key(v)
            .and_then(|k| usize::try_from(k - first).ok())
            .filter(|&i| i < n)
    };
    let customers = data.count(Entity::Customer);
    let items = data.count(Entity::StockItem);
    let found = match (set.name, values) {
        ("Customer", [id]) => index(id, 1001, customers).map(|c| dac_customer(data, c)),
        ("Address", [id]) => index(id, 1, customers).map(address),
        ("Contact", [id]) => {
            let people = data.count(Entity::Contact);
            index(id, 100, people)
                .map(|i| person_contact(data, i))
                .or_else(|| {
                    index(id, 100 + people as i64, customers).map(|c| account_contact(data, c))
                })
        }
        ("InventoryItem", [id]) => index(id, 1, items).map(|i| inventory_item(data, i)),
        ("INSite", [id]) => SITES
            .iter()
            .position(|s| int_key(id) == Some(s.0))
            .map(site),
        ("INItemClass", [id]) => ITEM_CLASSES
            .iter()
            .position(|s| int_key(id) == Some(s.0))
            .map(item_class),
        ("INSiteStatus", [item, _, id]) => index(item, 1, items).and_then(|i| {
            let w = SITES.iter().position(|s| int_key(id) == Some(s.0))?;
            Some(site_status(data, i, w))
        }),
        ("SOOrder", [_, V::Str(nbr)]) => order_index(data, nbr).map(|i| so_order(data, i)),
        ("SOLine", [_, V::Str(nbr), _]) => order_index(data, nbr).and_then(|i| {
            so_lines(data, i)
                .into_iter()
                .find(|l| key_matches(set, l, values))
        }),
        _ => {
            return rows(data, Feed::Dac, set).find(|r| key_matches(set, r, values));
        }
    };
    found.filter(|r| key_matches(set, r, values))
}

/// `SO000058` → index 57 (when in range).
fn order_index(data: &Data, nbr: &str) -> Option<usize> {
    let n: usize = nbr.trim().strip_prefix("SO")?.parse().ok()?;
    n.checked_sub(1)
        .filter(|&i| i < data.count(Entity::SalesOrder))
}

fn key_matches(set: &Set, r: &Record, values: &[V]) -> bool {
    set.keys.len() == values.len()
        && set
            .keys
            .iter()
            .zip(values)
            .all(|(k, v)| r.get(k).is_some_and(|x| same(x, v)))
}

/// The entity a 1:1 navigation leads to, if any.
fn related_one(data: &Data, nav: &Navigation, r: &Record) -> Option<Record> {
    let t = target(nav);
    let wanted: Vec<(&str, V)> = nav
        .on
        .iter()
        .map(|(from, to)| (*to, field(r, from)))
        .collect();
    if wanted.iter().any(|(_, v)| *v == V::Null) {
        return None;
    }
    let by_keys =
        t.keys.len() == wanted.len() && t.keys.iter().zip(&wanted).all(|(k, (to, _))| k == to);
    if by_keys {
        let values: Vec<V> = wanted.into_iter().map(|(_, v)| v).collect();
        return by_key(data, t, &values);
    }
    rows(data, Feed::Dac, t).find(|x| {
        wanted
            .iter()
            .all(|(to, v)| x.get(to).is_some_and(|y| same(y, v)))
    })
}

/// The entities of a collection navigation.
fn related_many(data: &Data, nav: &Navigation, r: &Record) -> Vec<Record> {
    match nav.name {
        "SOLineCollection" => match r.get("OrderNbr") {
            Some(V::Str(nbr)) => order_index(data, nbr)
                .map(|i| so_lines(data, i))
                .unwrap_or_default(),
            _ => Vec::new(),
        },
        "INSiteStatusCollection" => {
            let items = data.count(Entity::StockItem);
            match r
                .get("InventoryID")
                .and_then(int_key)
                .and_then(|k| usize::try_from(k - 1).ok())
            {
                Some(i) if i < items => (0..SITES.len()).map(|w| site_status(data, i, w)).collect(),
                _ => Vec::new(),
            }
        }
        _ => {
            let wanted: Vec<(&str, V)> = nav
                .on
                .iter()
                .map(|(from, to)| (*to, field(r, from)))
                .collect();
            rows(data, Feed::Dac, target(nav))
                .filter(|x| {
                    wanted
                        .iter()
                        .all(|(to, v)| x.get(to).is_some_and(|y| same(y, v)))
                })
                .collect()
        }
    }
}

/// An OData error: status and the standard v4 (or v3) error envelope.
pub struct ODataError(pub u16, pub String);

fn err(feed: Feed, status: u16, code: &str, message: &str) -> ODataError {
    let m = serde_json::to_string(message).unwrap_or_default();
    ODataError(
        status,
        match feed {
            Feed::GiV3 => format!(
                "{{\"odata.error\":{{\"code\":\"{code}\",\"message\":{{\"lang\":\"en-US\",\"value\":{m}}}}}}}"
            ),
            _ => format!("{{\"error\":{{\"code\":\"{code}\",\"message\":{m}}}}}"),
        },
    )
}

fn write_value(out: &mut String, v: &V, feed: Feed) {
    match v {
        V::Null => out.push_str("null"),
        V::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        V::Int(i) => out.push_str(&i.to_string()),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Dec(u, s) => {
            let p = 10_i128.pow(u32::from(*s));
            if *u < 0 {
                out.push('-');
            }
            let a = u.unsigned_abs();
            out.push_str(&format!(
                "{}.{:0w$}",
                a / p as u128,
                a % p as u128,
                w = *s as usize
            ));
        }
        V::Time(t) => {
            let d = chrono::DateTime::from_timestamp(*t, 0).unwrap_or_default();
            let f = if feed == Feed::GiV3 {
                "%Y-%m-%dT%H:%M:%S"
            } else {
                "%Y-%m-%dT%H:%M:%SZ"
            };
            out.push('"');
            out.push_str(&d.format(f).to_string());
            out.push('"');
        }
    }
}

/// Server-driven paging: without `$top`, at most this many rows, then `@odata.nextLink`.
pub const MAX_PAGE: usize = 10_000;

/// Acumatica's default `px.core/odata@maxExpansionDepth`.
pub const MAX_EXPANSION_DEPTH: usize = 3;

/// Decodes the `%XX` escapes of a URL path segment (`+` stays a plus in a path).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(x) => {
                out.push(x);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `text` on `sep` where it is neither inside a quoted literal nor inside parentheses:
/// `A($select=B,C),D` → `A($select=B,C)`, `D`.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    for (i, ch) in text.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == sep && !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value in a key predicate or a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Value(V),
    /// A parameter alias (`@1`, lower-cased), given its value in the query string.
    Alias(String),
}

/// The last path segment: a set (or function) name and, in parentheses, key values or
/// function arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    /// `(Name=value,…)` or `(value)`; `None` without parentheses.
    pub args: Option<Vec<(Option<String>, Arg)>>,
}

/// Reads a raw (percent-encoded) last path segment: `Customer%20Contacts`,
/// `SOOrder(OrderType='SO',OrderNbr='SO000058')`, `InventoryItem(41)`,
/// `ItemAvailabilityData_WithParameters(InventoryID=@1)`.
pub fn parse_segment(raw: &str) -> Result<Segment, String> {
    let text = percent_decode(raw);
    let Some(open) = text.find('(') else {
        return Ok(Segment {
            name: text,
            args: None,
        });
    };
    let syntax = || format!("Bad Request - Error in query syntax: '{text}'.");
    let inner = text[open + 1..].strip_suffix(')').ok_or_else(syntax)?;
    let mut args = Vec::new();
    if !inner.trim().is_empty() {
        for part in split_top(inner, ',') {
            let part = part.trim();
            let named = split_top(part, '=');
            let arg = match named.as_slice() {
                [value] => (None, parse_literal(value.trim())?),
                [name, value] if !name.trim().is_empty() => {
                    (Some(name.trim().to_string()), parse_literal(value.trim())?)
                }
                _ => return Err(syntax()),
            };
            args.push(arg);
        }
    }
    Ok(Segment {
        name: text[..open].trim().to_string(),
        args: Some(args),
    })
}

/// A literal of a key predicate, function argument or parameter alias value: `'text'` (with
/// `''` for a quote), a number, `true`/`false`, `null`, or an alias `@name`.
pub fn parse_literal(text: &str) -> Result<Arg, String> {
    if let Some(s) = text
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .filter(|_| text.len() >= 2)
    {
        return Ok(Arg::Value(V::Str(s.replace("''", "'"))));
    }
    if text.starts_with('@') && text.len() > 1 {
        return Ok(Arg::Alias(text.to_ascii_lowercase()));
    }
    match text.to_ascii_lowercase().as_str() {
        "null" => return Ok(Arg::Value(V::Null)),
        "true" => return Ok(Arg::Value(V::Bool(true))),
        "false" => return Ok(Arg::Value(V::Bool(false))),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Arg::Value(V::Int(i)));
    }
    let number = text.trim_end_matches(['m', 'M']);
    if let Some((int, frac)) = number.split_once('.')
        && !frac.is_empty()
        && frac.len() <= 18
        && frac.bytes().all(|b| b.is_ascii_digit())
        && let Ok(units) = format!("{int}{frac}").parse::<i128>()
    {
        return Ok(Arg::Value(V::Dec(units, frac.len() as u8)));
    }
    Err(format!(
        "Bad Request - Error in query syntax: '{text}' is not a valid literal."
    ))
}

/// One item of `$expand`: a navigation property and its nested options
/// (`Nav($select=A,B;$expand=Other($select=C))`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expand {
    pub nav: String,
    pub select: Option<Vec<String>>,
    pub filter: Option<String>,
    pub top: Option<usize>,
    pub skip: Option<usize>,
    pub expand: Vec<Expand>,
}

/// Reads an `$expand` value: items separated by commas (not those inside parentheses), each
/// with options separated by `;` in parentheses (OData v4).
pub fn parse_expand(text: &str) -> Result<Vec<Expand>, String> {
    let mut out = Vec::new();
    for item in split_top(text, ',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let syntax = || format!("Bad Request - Error in query syntax: '$expand={item}'.");
        let (nav, options) = match item.find('(') {
            None => (item, ""),
            Some(i) => (
                item[..i].trim(),
                item[i + 1..].strip_suffix(')').ok_or_else(syntax)?,
            ),
        };
        let mut e = Expand {
            nav: nav.to_string(),
            ..Default::default()
        };
        for option in split_top(options, ';') {
            let option = option.trim();
            if option.is_empty() {
                continue;
            }
            let (name, value) = option.split_once('=').ok_or_else(syntax)?;
            let number = || {
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("Invalid value '{value}' for {name}."))
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "$select" => {
                    e.select = Some(
                        split_top(value, ',')
                            .into_iter()
                            .map(str::trim)
                            .filter(|x| !x.is_empty())
                            .map(str::to_string)
                            .collect(),
                    )
                }
                "$expand" => e.expand = parse_expand(value)?,
                "$filter" => e.filter = Some(value.to_string()),
                "$top" => e.top = Some(number()?),
                "$skip" => e.skip = Some(number()?),
                other => {
                    return Err(format!(
                        "The query option '{other}' is not supported inside $expand."
                    ));
                }
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// How deep an `$expand` goes (`A` is 1, `A($expand=B)` is 2).
pub fn expand_depth(e: &[Expand]) -> usize {
    e.iter()
        .map(|x| 1 + expand_depth(&x.expand))
        .max()
        .unwrap_or(0)
}

/// Splits parameter aliases (`@1='x'`) from the query options. An alias can also arrive glued
/// to the option before it (`…&@1='x'`) when the query-string reader does not know `@` names.
fn split_aliases(
    params: &HashMap<String, String>,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let mut options = HashMap::new();
    let mut aliases = HashMap::new();
    for (k, v) in params {
        let mut parts = v.split("&@");
        let first = parts.next().unwrap_or_default();
        for p in parts {
            if let Some((a, value)) = p.split_once('=') {
                aliases.insert(format!("@{}", a.to_ascii_lowercase()), value.to_string());
            }
        }
        if k.starts_with('@') {
            aliases.insert(k.to_ascii_lowercase(), first.to_string());
        } else {
            options.insert(k.clone(), first.to_string());
        }
    }
    (options, aliases)
}

/// The midnights (UTC) of the bare dates (`2024-05-01`, no time) in a `$filter`, outside
/// string literals.
fn bare_dates(text: &str) -> Vec<i64> {
    let b = text.as_bytes();
    let is_date = |s: &[u8]| {
        s.len() == 10
            && s.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    let (mut out, mut quoted, mut i) = (Vec::new(), false, 0);
    while i < b.len() {
        if b[i] == b'\'' {
            quoted = !quoted;
        } else if !quoted
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i..i + 10).is_some_and(is_date)
            && !b
                .get(i + 10)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b':')
        {
            if let Some(t) = chrono::NaiveDate::parse_from_str(&text[i..i + 10], "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
            {
                out.push(t.and_utc().timestamp());
            }
            i += 10;
            continue;
        }
        i += 1;
    }
    out
}

/// A date-time column compared for (in)equality with a bare date matches the whole day, as
/// Acumatica answers `LastModifiedDateTime eq 2024-05-01` (I300 course, activity 2.3.1).
fn widen_days(e: Expr, days: &[i64], is_time: &dyn Fn(&str) -> bool) -> Expr {
    let w = |x: Box<Expr>| Box::new(widen_days(*x, days, is_time));
    let day = |t: &i64| days.contains(t);
    match e {
        Expr::And(a, b) => Expr::And(w(a), w(b)),
        Expr::Or(a, b) => Expr::Or(w(a), w(b)),
        Expr::Not(a) => Expr::Not(w(a)),
        Expr::Cmp(f, Op::Eq, Lit::Time(t)) if day(&t) && is_time(&f) => Expr::And(
            Box::new(Expr::Cmp(f.clone(), Op::Ge, Lit::Time(t))),
            Box::new(Expr::Cmp(f, Op::Lt, Lit::Time(t + 86_400))),
        ),
        Expr::Cmp(f, Op::Ne, Lit::Time(t)) if day(&t) && is_time(&f) => Expr::Or(
            Box::new(Expr::Cmp(f.clone(), Op::Lt, Lit::Time(t))),
            Box::new(Expr::Cmp(f, Op::Ge, Lit::Time(t + 86_400))),
        ),
        e => e,
    }
}

/// The type name in "Could not find a property named … on type …".
fn type_label(feed: Feed, set: &Set) -> String {
    match feed {
        Feed::Dac => format!("PX.Api.{}", set.type_name()),
        _ => "GI.Row".to_string(),
    }
}

fn unknown_property(feed: Feed, set: &Set, name: &str) -> ODataError {
    err(
        feed,
        400,
        "BadRequest",
        &format!(
            "Could not find a property named '{name}' on type '{}'.",
            type_label(feed, set)
        ),
    )
}

/// Parses a `$filter` for `set`: every path a column, bare dates widened to their day.
fn parse_filter(feed: Feed, set: &Set, text: &str) -> Result<Expr, ODataError> {
    let dialect = if feed == Feed::GiV3 {
        Dialect::ODataV3
    } else {
        Dialect::ODataV4
    };
    let e = filter::parse_in(text, dialect).map_err(|e| err(feed, 400, "BadRequest", &e.0))?;
    let mut paths = Vec::new();
    filter::paths(&e, &mut paths);
    if let Some(p) = paths.iter().find(|p| set.column(p).is_none()) {
        return Err(unknown_property(feed, set, p));
    }
    let days = bare_dates(text);
    if days.is_empty() {
        return Ok(e);
    }
    Ok(widen_days(e, &days, &|f| {
        set.column(f).is_some_and(|c| c.edm == DT)
    }))
}

/// `$select` of `set`: the named columns (`*` or none: all).
fn columns(
    feed: Feed,
    set: &'static Set,
    names: Option<&[String]>,
) -> Result<Vec<&'static Column>, ODataError> {
    match names {
        None => Ok(set.columns.iter().collect()),
        Some(names) if names.iter().any(|n| n == "*") => Ok(set.columns.iter().collect()),
        Some(names) => names
            .iter()
            .map(|n| set.column(n).ok_or_else(|| unknown_property(feed, set, n)))
            .collect(),
    }
}

/// An `$expand` item checked against the model, ready to write.
struct Expansion {
    nav: &'static Navigation,
    columns: Vec<&'static Column>,
    filter: Option<Expr>,
    top: Option<usize>,
    skip: usize,
    expand: Vec<Expansion>,
}

fn plan_expand(
    feed: Feed,
    set: &'static Set,
    items: &[Expand],
) -> Result<Vec<Expansion>, ODataError> {
    items
        .iter()
        .map(|x| {
            let nav = set
                .nav(&x.nav)
                .ok_or_else(|| unknown_property(feed, set, &x.nav))?;
            let t = target(nav);
            Ok(Expansion {
                nav,
                columns: columns(feed, t, x.select.as_deref())?,
                filter: x
                    .filter
                    .as_deref()
                    .map(|f| parse_filter(feed, t, f))
                    .transpose()?,
                top: x.top,
                skip: x.skip.unwrap_or(0),
                expand: plan_expand(feed, t, &x.expand)?,
            })
        })
        .collect()
}

/// Serves `GET <feed>/<segment>?<query>`. `segment` is the raw (percent-encoded) last path
/// segment: a set (`Customer%20Contacts`), a DAC key lookup
/// (`SOOrder(OrderType='SO',OrderNbr='SO000058')`) or an inquiry with parameters
/// (`ItemAvailabilityData_WithParameters(InventoryID='ITEM00001')`, or `(InventoryID=@1)` with
/// `@1='…'` in the query). `params` are the decoded query options, keys lower-cased.
pub fn query(
    data: &Data,
    feed: Feed,
    segment: &str,
    params: &HashMap<String, String>,
    context: &str,
) -> Result<String, ODataError> {
    let bad = |m: &str| err(feed, 400, "BadRequest", m);
    let not_found = || {
        err(
            feed,
            404,
            "NotFound",
            &format!(
                "Resource not found for the segment '{}'.",
                percent_decode(segment)
            ),
        )
    };
    let seg = parse_segment(segment).map_err(|m| bad(&m))?;
    let (params, aliases) = split_aliases(params);
    let value_of = |a: &Arg| -> Result<V, ODataError> {
        match a {
            Arg::Value(v) => Ok(v.clone()),
            Arg::Alias(name) => match aliases.get(name).map(|t| parse_literal(t.trim())) {
                Some(Ok(Arg::Value(v))) => Ok(v),
                Some(_) => Err(bad(&format!(
                    "The value of the parameter alias '{name}' is not a valid literal."
                ))),
                None => Err(bad(&format!(
                    "The parameter alias '{name}' is not given a value in the query string."
                ))),
            },
        }
    };
    // What the segment addresses: a set, one entity of a DAC, or an inquiry's rows for
    // parameter values.
    let mut lookup: Option<Vec<V>> = None;
    let mut conditions: Vec<(&'static str, V)> = Vec::new();
    let set = match (feed.find(&seg.name), &seg.args) {
        (Some(set), None) => set,
        (Some(set), Some(args)) if feed == Feed::Dac => {
            lookup = Some(key_values(set, args, &value_of).map_err(|m| bad(&m))?);
            set
        }
        (Some(set), Some(_)) => {
            return Err(bad(&format!(
                "The inquiry '{}' has no key lookup; pass parameters with {}{WITH_PARAMETERS}(Name='value').",
                set.name,
                set.type_name()
            )));
        }
        (None, _) => {
            let base = seg
                .name
                .len()
                .checked_sub(WITH_PARAMETERS.len())
                .filter(|&n| {
                    feed != Feed::Dac
                        && seg.name.is_char_boundary(n)
                        && seg.name[n..].eq_ignore_ascii_case(WITH_PARAMETERS)
                })
                .map(|n| &seg.name[..n]);
            let set = base
                .and_then(|b| {
                    feed.sets().iter().find(|s| {
                        !s.parameters.is_empty()
                            && (s.name.eq_ignore_ascii_case(b)
                                || s.type_name().eq_ignore_ascii_case(b))
                    })
                })
                .ok_or_else(not_found)?;
            for (name, arg) in seg.args.iter().flatten() {
                let Some(name) = name else {
                    return Err(bad(&format!(
                        "The arguments of '{}' must be named (Name='value').",
                        seg.name
                    )));
                };
                let p = set
                    .parameters
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        bad(&format!(
                            "The function '{}' has no parameter named '{name}'.",
                            seg.name
                        ))
                    })?;
                // An empty parameter, like an empty field on the inquiry form, filters nothing.
                match value_of(arg)? {
                    V::Null => {}
                    v => conditions.push((p.column, v)),
                }
            }
            set
        }
    };
    let select = params.get("$select").map(|s| {
        split_top(s, ',')
            .into_iter()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    let cols = columns(feed, set, select.as_deref())?;
    let expand = match params.get("$expand") {
        None => Vec::new(),
        Some(_) if feed != Feed::Dac => {
            return Err(bad("The query parameter '$expand' is not supported."));
        }
        Some(e) => {
            let items = parse_expand(e).map_err(|m| bad(&m))?;
            if expand_depth(&items) > MAX_EXPANSION_DEPTH {
                return Err(bad(&format!(
                    "The request includes a $expand path which is too deep. The maximum depth allowed is {MAX_EXPANSION_DEPTH}."
                )));
            }
            plan_expand(feed, set, &items)?
        }
    };
    if let Some(values) = lookup {
        let r = by_key(data, set, &values).ok_or_else(not_found)?;
        let mut body = String::new();
        write_entity(&mut body, data, feed, &r, &cols, &expand);
        let ctx = format!(
            "\"@odata.context\":\"{context}/$metadata#{}/$entity\"",
            set.name
        );
        return Ok(match body.strip_prefix("{}") {
            Some(_) => format!("{{{ctx}}}"),
            None => format!("{{{ctx},{}", &body[1..]),
        });
    }
    let filter = params
        .get("$filter")
        .map(|f| parse_filter(feed, set, f))
        .transpose()?;
    let num = |k: &str| -> Result<Option<usize>, ODataError> {
        params
            .get(k)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| bad(&format!("Invalid value '{v}' for {k}.")))
            })
            .transpose()
    };
    let top = num("$top")?;
    let skip = num("$skip")?.unwrap_or(0);
    let mut order: Vec<(&Column, bool)> = Vec::new();
    if let Some(o) = params.get("$orderby") {
        for part in o.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or_default();
            let desc = matches!(
                words.next().map(str::to_ascii_lowercase).as_deref(),
                Some("desc")
            );
            let c = set
                .column(name)
                .ok_or_else(|| unknown_property(feed, set, name))?;
            order.push((c, desc));
        }
    }
    // Rows come in key order; an `$orderby` on a key prefix, ascending, changes nothing.
    let natural = order
        .iter()
        .enumerate()
        .all(|(i, (c, desc))| !desc && set.keys.get(i) == Some(&c.name));
    let mut matching = rows(data, feed, set).filter(|r| {
        conditions
            .iter()
            .all(|(c, v)| r.get(c).is_some_and(|x| same(x, v)))
            && filter
                .as_ref()
                .is_none_or(|f| filter::eval(f, r).unwrap_or(false))
    });
    let limit = top.unwrap_or(MAX_PAGE);
    let mut picked: Vec<Record> = if natural {
        matching.by_ref().skip(skip).take(limit + 1).collect()
    } else {
        let mut all: Vec<Record> = matching.collect();
        all.sort_by(|a, b| {
            for (c, desc) in &order {
                let o = compare(a.get(c.name), b.get(c.name));
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        all.into_iter().skip(skip).take(limit + 1).collect()
    };
    let more = top.is_none() && picked.len() > limit;
    picked.truncate(limit);
    let mut out = String::new();
    match feed {
        Feed::GiV3 => out.push_str(&format!(
            "{{\"odata.metadata\":\"{context}/$metadata#{}\",\"value\":[",
            set.name
        )),
        _ => out.push_str(&format!(
            "{{\"@odata.context\":\"{context}/$metadata#{}\",\"value\":[",
            set.name
        )),
    }
    for (i, r) in picked.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_entity(&mut out, data, feed, r, &cols, &expand);
    }
    out.push(']');
    if more {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let mut next: Vec<String> = params
            .iter()
            .filter(|(k, _)| *k != "$skip")
            .chain(aliases.iter())
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        next.sort();
        next.push(format!("$skip={}", skip + limit));
        let key = if feed == Feed::GiV3 {
            "odata.nextLink"
        } else {
            "@odata.nextLink"
        };
        // The request's own segment (still percent-encoded), so a function call pages too.
        out.push_str(&format!(
            ",\"{key}\":\"{context}/{}?{}\"",
            segment.replace('"', "%22"),
            next.join("&")
        ));
    }
    out.push('}');
    Ok(out)
}

/// Key values of a DAC key lookup in `set.keys` order: `(value)` for a single key, else
/// `(Key1=value,Key2=value)` naming every key.
fn key_values(
    set: &Set,
    args: &[(Option<String>, Arg)],
    value_of: &dyn Fn(&Arg) -> Result<V, ODataError>,
) -> Result<Vec<V>, String> {
    let wrong = || {
        format!(
            "The key of '{}' is ({}); give every key field once, as Name='value'.",
            set.name,
            set.keys.join(",")
        )
    };
    let value = |a: &Arg| value_of(a).map_err(|_| wrong());
    if let [(None, a)] = args
        && set.keys.len() == 1
    {
        return Ok(vec![value(a)?]);
    }
    if args.len() != set.keys.len() {
        return Err(wrong());
    }
    set.keys
        .iter()
        .map(|k| {
            let (_, a) = args
                .iter()
                .find(|(n, _)| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(k)))
                .ok_or_else(wrong)?;
            value(a)
        })
        .collect()
}

/// Writes one entity: its selected columns, then its expanded navigation properties (a
/// nested object or `null` for `…By…`, an array for `…Collection`).
fn write_entity(
    out: &mut String,
    data: &Data,
    feed: Feed,
    r: &Record,
    cols: &[&Column],
    expand: &[Expansion],
) {
    out.push('{');
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(c.name);
        out.push_str("\":");
        write_value(out, r.get(c.name).unwrap_or(&V::Null), feed);
    }
    for (i, x) in expand.iter().enumerate() {
        if i > 0 || !cols.is_empty() {
            out.push(',');
        }
        out.push('"');
        out.push_str(x.nav.name);
        out.push_str("\":");
        let keep = |e: &Record| {
            x.filter
                .as_ref()
                .is_none_or(|f| filter::eval(f, e).unwrap_or(false))
        };
        if x.nav.many {
            out.push('[');
            let items = related_many(data, x.nav, r);
            let picked = items
                .iter()
                .filter(|e| keep(e))
                .skip(x.skip)
                .take(x.top.unwrap_or(usize::MAX));
            for (j, e) in picked.enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_entity(out, data, feed, e, &x.columns, &x.expand);
            }
            out.push(']');
        } else {
            match related_one(data, x.nav, r).filter(|e| keep(e)) {
                Some(e) => write_entity(out, data, feed, &e, &x.columns, &x.expand),
                None => out.push_str("null"),
            }
        }
    }
    out.push('}');
}

fn compare(a: Option<&V>, b: Option<&V>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None | Some(V::Null), None | Some(V::Null)) => Ordering::Equal,
        (None | Some(V::Null), _) => Ordering::Less,
        (_, None | Some(V::Null)) => Ordering::Greater,
        (Some(V::Str(x)), Some(V::Str(y))) => x
            .trim_end()
            .to_lowercase()
            .cmp(&y.trim_end().to_lowercase()),
        (Some(V::Int(x)), Some(V::Int(y))) => x.cmp(y),
        (Some(V::Time(x)), Some(V::Time(y))) => x.cmp(y),
        (Some(V::Bool(x)), Some(V::Bool(y))) => x.cmp(y),
        (Some(V::Dec(x, sx)), Some(V::Dec(y, sy))) => {
            let s = (*sx).max(*sy);
            (x * 10_i128.pow(u32::from(s - sx))).cmp(&(y * 10_i128.pow(u32::from(s - sy))))
        }
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: Data = Data { seed: 42, scale: 1 };

    fn get(
        feed: Feed,
        segment: &str,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, (u16, String)> {
        let params = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        query_json(feed, segment, &params)
    }

    fn query_json(
        feed: Feed,
        segment: &str,
        params: &HashMap<String, String>,
    ) -> Result<serde_json::Value, (u16, String)> {
        match query(
            &DATA,
            feed,
            segment,
            params,
            "http://x/t/Company/api/odata/gi",
        ) {
            Ok(body) => Ok(serde_json::from_str(&body).expect("valid JSON")),
            Err(ODataError(status, body)) => Err((status, body)),
        }
    }

    fn str_arg(s: &str) -> Arg {
        Arg::Value(V::Str(s.into()))
    }

    #[test]
    fn segments_decode_and_read_keys_parameters_and_aliases() {
        let s = parse_segment("Customer%20Contacts").unwrap();
        assert_eq!((s.name.as_str(), s.args), ("Customer Contacts", None));
        let s = parse_segment("SOOrder(OrderType='SO',OrderNbr='000058')").unwrap();
        assert_eq!(s.name, "SOOrder");
        assert_eq!(
            s.args.unwrap(),
            vec![
                (Some("OrderType".into()), str_arg("SO")),
                (Some("OrderNbr".into()), str_arg("000058")),
            ]
        );
        let s = parse_segment("InventoryItem(41)").unwrap();
        assert_eq!(s.args.unwrap(), vec![(None, Arg::Value(V::Int(41)))]);
        let s = parse_segment("ItemAvailabilityData_WithParameters(InventoryID=%40P1)").unwrap();
        assert_eq!(
            s.args.unwrap(),
            vec![(Some("InventoryID".into()), Arg::Alias("@p1".into()))]
        );
        // Quotes double inside literals; commas and '=' inside them do not split.
        let s = parse_segment("X_WithParameters(Name='O''Brien, a=b',Amount=1.50)").unwrap();
        assert_eq!(
            s.args.unwrap(),
            vec![
                (Some("Name".into()), str_arg("O'Brien, a=b")),
                (Some("Amount".into()), Arg::Value(V::Dec(150, 2))),
            ]
        );
        assert!(parse_segment("SOOrder(OrderType='SO'").is_err());
        assert!(parse_segment("SOOrder(OrderType=SO)").is_err());
    }

    #[test]
    fn expand_lists_split_only_at_the_top_level_and_nest_with_semicolons() {
        let e = parse_expand(
            "ContactByDefBillContactID($select=Email,Phone1),AddressByDefAddressID($select=AddressLine1,City)",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].nav, "ContactByDefBillContactID");
        assert_eq!(e[0].select.as_deref().unwrap(), ["Email", "Phone1"]);
        assert_eq!(e[1].select.as_deref().unwrap(), ["AddressLine1", "City"]);
        let e = parse_expand(
            "INSiteStatusCollection($select=QtyOnHand;$filter=QtyOnHand gt 1;$top=1;$expand=INSiteBySiteID($select=SiteCD)),INItemClassByItemClassID",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].filter.as_deref(), Some("QtyOnHand gt 1"));
        assert_eq!(e[0].top, Some(1));
        assert_eq!(e[0].expand[0].nav, "INSiteBySiteID");
        assert_eq!(e[0].expand[0].select.as_deref().unwrap(), ["SiteCD"]);
        assert_eq!(expand_depth(&e), 2);
        assert_eq!(
            expand_depth(&parse_expand("A($expand=B($expand=C($expand=D)))").unwrap()),
            4
        );
        assert!(
            parse_expand("A($levels=2)")
                .unwrap_err()
                .contains("$levels")
        );
        assert!(parse_expand("A($select=B").is_err());
    }

    #[test]
    fn aliases_are_found_alone_or_glued_to_the_option_before() {
        let params: HashMap<String, String> = [
            ("$top".to_string(), "5&@P2='b'".to_string()),
            ("@1".to_string(), "'a'".to_string()),
        ]
        .into();
        let (options, aliases) = split_aliases(&params);
        assert_eq!(options.get("$top").map(String::as_str), Some("5"));
        assert_eq!(aliases.get("@1").map(String::as_str), Some("'a'"));
        assert_eq!(aliases.get("@p2").map(String::as_str), Some("'b'"));
    }

    #[test]
    fn bare_dates_outside_literals_only() {
        let may1 = 1_714_521_600;
        assert_eq!(bare_dates("LastModifiedOn gt 2024-05-01"), [may1]);
        assert_eq!(
            bare_dates("A eq 2024-05-01 and B eq 2024-05-01T10:00:00Z"),
            [may1]
        );
        assert!(bare_dates("Descr eq '2024-05-01'").is_empty());
    }

    #[test]
    fn inquiry_parameters_filter_rows() {
        let all = get(Feed::GiV4, "ItemAvailabilityData", &[]).unwrap();
        assert_eq!(
            all["value"].as_array().unwrap().len(),
            DATA.count(Entity::StockItem)
        );
        let one = get(
            Feed::GiV4,
            "ItemAvailabilityData_WithParameters(InventoryID='ITEM00005')",
            &[],
        )
        .unwrap();
        let rows = one["value"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["InventoryID"], "ITEM00005");
        // The quantities are InventoryOnHand's, summed over the warehouses.
        let per_wh = get(
            Feed::GiV4,
            "InventoryOnHand",
            &[("$filter", "InventoryID eq 'ITEM00005'")],
        )
        .unwrap();
        let sum: f64 = per_wh["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["QtyOnHand"].as_f64().unwrap())
            .sum();
        assert_eq!(rows[0]["QtyOnHand"].as_f64().unwrap(), sum);
        // Alias form, and an alias glued to the option before it.
        let aliased = get(
            Feed::GiV4,
            "ItemAvailabilityData_WithParameters(InventoryID=@1)",
            &[("@1", "'ITEM00005'")],
        )
        .unwrap();
        assert_eq!(aliased["value"], one["value"]);
        let glued = get(
            Feed::GiV4,
            "ItemAvailabilityData_WithParameters(InventoryID=@1)",
            &[("$select", "InventoryID&@1='ITEM00007'")],
        )
        .unwrap();
        assert_eq!(
            glued["value"],
            serde_json::json!([{"InventoryID": "ITEM00007"}])
        );
        // Without arguments: every row.
        let none = get(Feed::GiV4, "ItemAvailabilityData_WithParameters()", &[]).unwrap();
        assert_eq!(none["value"], all["value"]);
        for (segment, status, text) in [
            (
                "ItemAvailabilityData_WithParameters(Warehouse='MAIN')",
                400,
                "no parameter named 'Warehouse'",
            ),
            (
                "ItemAvailabilityData_WithParameters(InventoryID=@9)",
                400,
                "'@9'",
            ),
            (
                "ItemAvailabilityData_WithParameters('ITEM00005')",
                400,
                "named",
            ),
            (
                "CustomerBalance_WithParameters(X='1')",
                404,
                "CustomerBalance_WithParameters",
            ),
            ("CustomerBalance('C000001')", 400, "no key lookup"),
        ] {
            let (st, body) = get(Feed::GiV4, segment, &[]).unwrap_err();
            assert_eq!(st, status, "{segment}: {body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(
                v["error"]["message"].as_str().unwrap().contains(text),
                "{segment}: {body}"
            );
        }
        // The legacy v3 envelope for errors.
        let (_, body) = get(
            Feed::GiV3,
            "ItemAvailabilityData_WithParameters(Bad=1)",
            &[],
        )
        .unwrap_err();
        assert!(body.contains("odata.error"), "{body}");
    }

    #[test]
    fn metadata_declares_functions_navigation_and_spaced_set_names() {
        let gi = metadata(Feed::GiV4);
        assert!(gi.contains(
            "<EntitySet Name=\"Customer Contacts\" EntityType=\"GI.CustomerContacts\"/>"
        ));
        assert!(gi.contains(
            "<EntitySet Name=\"Modified Stock Items\" EntityType=\"GI.ModifiedStockItems\"/>"
        ));
        assert!(gi.contains(
            "<Function Name=\"ItemAvailabilityData_WithParameters\"><Parameter Name=\"InventoryID\" Type=\"Edm.String\"/><ReturnType Type=\"Collection(GI.ItemAvailabilityData)\"/></Function>"
        ));
        assert!(gi.contains(
            "<FunctionImport Name=\"ItemAvailabilityData_WithParameters\" Function=\"GI.ItemAvailabilityData_WithParameters\" EntitySet=\"ItemAvailabilityData\"/>"
        ));
        assert!(
            metadata(Feed::GiV3)
                .contains("<FunctionImport Name=\"ItemAvailabilityData_WithParameters\"")
        );
        let dac = metadata(Feed::Dac);
        assert!(dac.contains("<NavigationProperty Name=\"ContactByDefBillContactID\" Type=\"PX.Api.Contact\"><ReferentialConstraint Property=\"DefBillContactID\" ReferencedProperty=\"ContactID\"/></NavigationProperty>"));
        assert!(dac.contains("<NavigationProperty Name=\"INSiteStatusCollection\" Type=\"Collection(PX.Api.INSiteStatus)\"/>"));
        assert!(dac.contains(
            "<EntitySet Name=\"PX_Objects_IN_INSiteStatus\" EntityType=\"PX.Api.INSiteStatus\">"
        ));
        // Every navigation leads to a DAC of the feed.
        for s in DACS {
            for n in s.navigation {
                assert_eq!(target(n).name, n.target, "{}.{}", s.name, n.name);
                for (from, to) in n.on {
                    assert!(
                        s.column(from).is_some() && target(n).column(to).is_some(),
                        "{}.{}",
                        s.name,
                        n.name
                    );
                }
            }
        }
    }

    #[test]
    fn dac_key_lookup_returns_one_entity_or_404() {
        let dac = |segment: &str, q: &[(&str, &str)]| get(Feed::Dac, segment, q);
        let o = dac(
            "SOOrder(OrderType='SO',OrderNbr='SO000058')",
            &[
                ("$select", "OrderNbr,Status"),
                ("$expand", "SOLineCollection($select=LineNbr)"),
            ],
        )
        .unwrap();
        assert!(
            o["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#SOOrder/$entity")
        );
        assert_eq!(o["OrderNbr"], "SO000058");
        let lines = o["SOLineCollection"].as_array().unwrap();
        assert!(!lines.is_empty());
        assert_eq!(lines[0], serde_json::json!({"LineNbr": 1}));
        // Key order in the URL does not matter; a single key may be positional.
        let same = dac(
            "PX_Objects_SO_SOOrder(OrderNbr='SO000058',OrderType='SO')",
            &[("$select", "OrderNbr,Status")],
        )
        .unwrap();
        assert_eq!(same["Status"], o["Status"]);
        let item = dac("InventoryItem(41)", &[]).unwrap();
        assert_eq!(item["InventoryCD"].as_str().unwrap().trim(), "ITEM00041");
        for segment in [
            "SOOrder(OrderType='SO',OrderNbr='000058')",
            "InventoryItem(0)",
            "Customer(99999)",
        ] {
            let (st, body) = dac(segment, &[]).unwrap_err();
            assert_eq!(st, 404, "{segment}: {body}");
            assert!(body.contains("\"error\""), "{body}");
        }
        let (st, _) = dac("SOOrder(OrderType='SO')", &[]).unwrap_err();
        assert_eq!(st, 400);
    }

    #[test]
    fn expand_writes_objects_arrays_and_nulls_to_depth_three() {
        let v = get(
            Feed::Dac,
            "SOLine",
            &[
                ("$top", "2"),
                ("$select", "OrderNbr,LineNbr"),
                ("$expand", "InventoryItemByInventoryID($select=InventoryCD;$expand=INSiteStatusCollection($select=SiteID;$expand=INSiteBySiteID($select=SiteCD)))"),
            ],
        )
        .unwrap();
        let first = &v["value"][0];
        let item = &first["InventoryItemByInventoryID"];
        assert!(item["InventoryCD"].is_string());
        let statuses = item["INSiteStatusCollection"].as_array().unwrap();
        assert_eq!(statuses.len(), SITES.len());
        assert_eq!(
            statuses[0]["INSiteBySiteID"]["SiteCD"]
                .as_str()
                .unwrap()
                .trim(),
            "MAIN"
        );
        let (st, body) = get(
            Feed::Dac,
            "SOLine",
            &[("$expand", "SOOrderByOrderNbr($expand=SOLineCollection($expand=InventoryItemByInventoryID($expand=INSiteByDfltSiteID)))")],
        )
        .unwrap_err();
        assert_eq!(st, 400);
        assert!(body.contains("too deep"), "{body}");
        let (st, body) = get(
            Feed::Dac,
            "Customer",
            &[("$expand", "AddressByDefAddressID($select=Nope)")],
        )
        .unwrap_err();
        assert_eq!(st, 400);
        assert!(body.contains("'Nope' on type 'PX.Api.Address'"), "{body}");
        // A nested $filter that leaves the 1:1 entity out writes null.
        let v = get(
            Feed::Dac,
            "Customer",
            &[
                ("$top", "1"),
                ("$select", "AcctCD"),
                (
                    "$expand",
                    "AddressByDefAddressID($filter=City eq 'Nowhere')",
                ),
            ],
        )
        .unwrap();
        assert!(v["value"][0]["AddressByDefAddressID"].is_null());
    }

    #[test]
    fn dac_rows_agree_with_the_contract_entities() {
        // The customer's address is the one its orders ship to; its billing contact carries
        // the customer's e-mail.
        for i in [0, 7, 999] {
            let order = DATA.record(Entity::SalesOrder, i, false);
            let c = customer_index(&field(&order, "CustomerID")).unwrap();
            let ship = &order
                .linked
                .iter()
                .find(|(n, _)| *n == "ShipToAddress")
                .unwrap()
                .1;
            let a = address(c);
            for (dac, rest) in [
                ("AddressLine1", "AddressLine1"),
                ("City", "City"),
                ("State", "State"),
                ("PostalCode", "PostalCode"),
                ("CountryID", "Country"),
            ] {
                assert_eq!(a.get(dac), ship.get(rest), "{dac} of customer {c}");
            }
            let contact = &order
                .linked
                .iter()
                .find(|(n, _)| *n == "ShipToContact")
                .unwrap()
                .1;
            assert_eq!(
                account_contact(&DATA, c).get("Phone1"),
                contact.get("Phone1")
            );
            let customer = DATA.record(Entity::Customer, c, false);
            assert_eq!(
                account_contact(&DATA, c).get("EMail"),
                customer.get("Email")
            );
            assert_eq!(
                so_order(&DATA, i).get("CustomerID"),
                Some(&V::Int(baccount_id(c)))
            );
        }
        // Key lookups find what a scan finds.
        for name in ["Contact", "Customer", "INSiteStatus", "Address"] {
            let set = Feed::Dac.find(name).unwrap();
            for r in rows(&DATA, Feed::Dac, set).step_by(97) {
                let keys: Vec<V> = set.keys.iter().map(|k| field(&r, k)).collect();
                assert_eq!(
                    by_key(&DATA, set, &keys).map(|x| x.fields),
                    Some(r.fields),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn bare_date_equality_matches_the_day() {
        let item = inventory_item(&DATA, 3);
        let Some(V::Time(t)) = item.get("LastModifiedDateTime").cloned() else {
            panic!()
        };
        let day = chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let v = get(
            Feed::Dac,
            "InventoryItem",
            &[
                ("$filter", &format!("LastModifiedDateTime eq {day}")),
                ("$select", "InventoryID"),
            ],
        )
        .unwrap();
        assert!(
            v["value"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"InventoryID": 4}))
        );
        let v = get(
            Feed::Dac,
            "InventoryItem",
            &[
                ("$filter", &format!("LastModifiedDateTime ne {day}")),
                ("$select", "InventoryID"),
            ],
        )
        .unwrap();
        assert!(
            !v["value"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"InventoryID": 4}))
        );
    }
}
