//! OData: the literal writers for `$filter` (every value is quoted or typed so that no value can
//! change the meaning of the filter), requests to the generic-inquiry and DAC feeds
//! (`/t/<tenant>/api/odata/{gi|dac}`, OData v4), and their `$metadata` (EDMX) read into tables.

use percent_encoding::{AsciiSet, utf8_percent_encode};

use crate::metadata::WrapperType;
use crate::request::QUERY_VALUE;

/// Left as they are in an OData query value: those of a REST query value but `$`.
const ODATA_VALUE: &AsciiSet = &QUERY_VALUE.add(b'$');

/// Left as they are in the entity set's name, one path segment (so `/` is encoded).
const SET_SEGMENT: &AsciiSet = &ODATA_VALUE.add(b'/');

/// Which OData v4 feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ODataKind {
    /// Generic inquiries exposed via OData (`…/api/odata/gi`).
    Gi,
    /// Data access classes (`…/api/odata/dac`).
    Dac,
}

impl ODataKind {
    pub fn segment(self) -> &'static str {
        match self {
            Self::Gi => "gi",
            Self::Dac => "dac",
        }
    }
}

/// One request to an entity set of a feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ODataQuery {
    pub set: String,
    pub filter: Option<String>,
    pub select: Vec<String>,
    pub orderby: Vec<String>,
    pub top: Option<u64>,
    pub skip: Option<u64>,
}

impl ODataQuery {
    pub fn new(set: impl Into<String>) -> Self {
        Self {
            set: set.into(),
            ..Default::default()
        }
    }

    /// `<set>?<options>` relative to the feed URL, percent-encoded.
    pub fn render_path(&self) -> String {
        let enc = |s: &str| utf8_percent_encode(s, ODATA_VALUE).to_string();
        let mut parts = Vec::new();
        if let Some(f) = &self.filter {
            parts.push(format!("$filter={}", enc(f)));
        }
        if !self.select.is_empty() {
            parts.push(format!("$select={}", enc(&self.select.join(","))));
        }
        if !self.orderby.is_empty() {
            parts.push(format!("$orderby={}", enc(&self.orderby.join(","))));
        }
        if let Some(n) = self.skip {
            parts.push(format!("$skip={n}"));
        }
        if let Some(n) = self.top {
            parts.push(format!("$top={n}"));
        }
        let set = utf8_percent_encode(&self.set, SET_SEGMENT).to_string();
        if parts.is_empty() {
            set
        } else {
            format!("{set}?{}", parts.join("&"))
        }
    }
}

/// An entity set of a feed: its columns (properties with their types) and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ODataSet {
    pub name: String,
    pub keys: Vec<String>,
    pub properties: Vec<(String, WrapperType)>,
}

/// Reads an EDMX `$metadata` document: one set per entity type (the set named like the type
/// when there are aliases), properties of unknown types skipped.
pub fn sets_from_edmx(xml: &str) -> Result<Vec<ODataSet>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("$metadata is not XML: {e}"))?;
    let mut types: std::collections::HashMap<String, ODataSet> = Default::default();
    for schema in doc.descendants().filter(|n| n.has_tag_name("Schema")) {
        let ns = schema.attribute("Namespace").unwrap_or_default();
        for t in schema.children().filter(|n| n.has_tag_name("EntityType")) {
            let Some(name) = t.attribute("Name") else {
                continue;
            };
            let keys = t
                .children()
                .filter(|n| n.has_tag_name("Key"))
                .flat_map(|k| k.children().filter(|n| n.has_tag_name("PropertyRef")))
                .filter_map(|r| r.attribute("Name").map(str::to_string))
                .collect();
            let properties = t
                .children()
                .filter(|n| n.has_tag_name("Property"))
                .filter_map(|p| {
                    let ty = WrapperType::from_name(p.attribute("Type")?)?;
                    Some((p.attribute("Name")?.to_string(), ty))
                })
                .collect();
            types.insert(
                format!("{ns}.{name}"),
                ODataSet {
                    name: name.to_string(),
                    keys,
                    properties,
                },
            );
        }
    }
    let mut sets: Vec<ODataSet> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for s in doc.descendants().filter(|n| n.has_tag_name("EntitySet")) {
        let (Some(name), Some(ty)) = (s.attribute("Name"), s.attribute("EntityType")) else {
            continue;
        };
        let Some(t) = types.get(ty) else { continue };
        let set = ODataSet {
            name: name.to_string(),
            ..t.clone()
        };
        match seen.get(ty) {
            // Aliases of one type: keep the set named like the type.
            Some(&i) => {
                if name == t.name {
                    sets[i] = set;
                }
            }
            None => {
                seen.insert(ty.to_string(), sets.len());
                sets.push(set);
            }
        }
    }
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sets)
}

/// OData v4 literal of a date-time: bare ISO 8601 (`2024-01-02T03:04:05.123456Z`).
pub fn v4_datetime_literal(rfc3339: &str) -> String {
    rfc3339.to_string()
}

/// `'O''Brien'`: single quotes doubled.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `datetimeoffset'2024-01-02T03:04:05.123456+00:00'` from an RFC 3339 text.
pub fn datetimeoffset_literal(rfc3339: &str) -> String {
    format!("datetimeoffset'{rfc3339}'")
}

/// `guid'…'`.
pub fn guid_literal(g: &str) -> String {
    format!("guid'{g}'")
}

/// `12.50M`: a decimal with the `M` suffix.
pub fn decimal_literal(text: &str) -> String {
    format!("{text}M")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_edmx_sets_with_keys_and_types() {
        let xml = r#"<?xml version="1.0"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="PX.Api" xmlns="http://docs.oasis-open.org/odata/ns/edm"><EntityType Name="SOOrder"><Key><PropertyRef Name="OrderType"/><PropertyRef Name="OrderNbr"/></Key><Property Name="OrderType" Type="Edm.String"/><Property Name="OrderNbr" Type="Edm.String"/><Property Name="Total" Type="Edm.Decimal"/><Property Name="Odd" Type="Edm.Stream"/></EntityType><EntityContainer Name="Default"><EntitySet Name="PX_Objects_SO_SOOrder" EntityType="PX.Api.SOOrder"/><EntitySet Name="SOOrder" EntityType="PX.Api.SOOrder"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"#;
        let sets = sets_from_edmx(xml).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].name, "SOOrder");
        assert_eq!(sets[0].keys, ["OrderType", "OrderNbr"]);
        assert_eq!(sets[0].properties.len(), 3);
        assert!(sets_from_edmx("<nope").is_err());
        let q = ODataQuery {
            set: "Open Lines".into(),
            filter: Some("Name eq 'A&B'".into()),
            orderby: vec!["OrderNbr".into()],
            top: Some(5),
            ..Default::default()
        };
        assert_eq!(
            q.render_path(),
            "Open%20Lines?$filter=Name%20eq%20%27A%26B%27&$orderby=OrderNbr&$top=5"
        );
    }

    #[test]
    fn set_names_stay_one_segment() {
        let q = ODataQuery {
            set: "A/B (x)".into(),
            filter: Some("P eq '$ü/'".into()),
            ..Default::default()
        };
        assert_eq!(
            q.render_path(),
            "A%2FB%20(x)?$filter=P%20eq%20%27%24%C3%BC/%27"
        );
    }

    #[test]
    fn quotes_cannot_escape_the_literal() {
        assert_eq!(
            string_literal("O'Brien' or 1 eq 1"),
            "'O''Brien'' or 1 eq 1'"
        );
        assert_eq!(decimal_literal("-0.5"), "-0.5M");
    }
}
