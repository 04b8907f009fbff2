//! The documents that describe a feed: `$metadata` (EDMX, OData v4 or v3) and the service
//! document.

use super::catalog::{DEC, DT, Feed, WITH_PARAMETERS, target};

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::catalog::DACS;

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
}
