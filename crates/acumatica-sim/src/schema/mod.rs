//! The endpoint schemas the simulator serves (read from the bundled `schemas/` files with our
//! own structs) and the `swagger.json` written from them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Deserialize;

mod swagger;

const V23: &str = include_str!("../../../../schemas/Default_23.200.001.json");

#[derive(Debug, Deserialize)]
struct File {
    endpoint: String,
    version: String,
    contract_version: String,
    entities: Vec<EntityDef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EntityDef {
    pub name: String,
    pub top_level: bool,
    #[serde(default)]
    pub keys: Vec<String>,
    pub fields: Vec<FieldDef>,
    #[serde(default)]
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub wrapper: Option<String>,
    pub linked: Option<String>,
    pub detail: Option<String>,
}

/// One served endpoint version.
#[derive(Debug)]
pub struct Endpoint {
    pub endpoint: String,
    pub version: String,
    contract_version: String,
    entities: Vec<EntityDef>,
    by_name: HashMap<String, usize>,
    /// Exact name → index (the common case: no lower-casing).
    by_exact: HashMap<String, usize, Fast>,
    /// Entity → member → position (the order Acumatica writes members in).
    ranks: HashMap<String, Ranks, Fast>,
}

/// Member → schema position.
pub type Ranks = HashMap<String, usize, Fast>;

/// A cheap hasher for member names (the JSON writer looks one up per field written; SipHash
/// showed in its profile). Not DoS-resistant: the keys are the bundled schema's names.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

pub type Fast = BuildHasherDefault<NameHasher>;

impl Endpoint {
    fn parse(text: &str) -> Self {
        let f: File = serde_json::from_str(text).expect("bundled schema is valid");
        Self::build(f.endpoint, f.version, f.contract_version, f.entities)
    }

    fn build(
        endpoint: String,
        version: String,
        contract_version: String,
        entities: Vec<EntityDef>,
    ) -> Self {
        let f = File {
            endpoint,
            version,
            contract_version,
            entities,
        };
        let by_exact = f
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        let by_name = f
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.to_ascii_lowercase(), i))
            .collect();
        let ranks = f
            .entities
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    e.fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (f.name.clone(), i))
                        .collect(),
                )
            })
            .collect();
        Self {
            endpoint: f.endpoint,
            version: f.version,
            contract_version: f.contract_version,
            entities: f.entities,
            by_exact,
            by_name,
            ranks,
        }
    }

    /// This endpoint without one member of one entity, as after a customisation that took a
    /// field out of the endpoint: its `swagger.json`, `$adHocSchema`, filters and records no
    /// longer know it. `None` when the entity has no such member.
    pub fn without_member(&self, entity: &str, member: &str) -> Option<Self> {
        let mut entities = self.entities.clone();
        let e = entities
            .iter_mut()
            .find(|e| e.name.eq_ignore_ascii_case(entity))?;
        let before = e.fields.len();
        e.fields.retain(|f| !f.name.eq_ignore_ascii_case(member));
        (e.fields.len() < before).then(|| {
            Self::build(
                self.endpoint.clone(),
                self.version.clone(),
                self.contract_version.clone(),
                entities,
            )
        })
    }

    fn with_version(mut self, version: &str) -> Self {
        self.version = version.to_string();
        self
    }

    /// Every served version.
    pub fn all() -> Vec<Self> {
        vec![
            // An instance keeps older `Default` versions (ACUMATICA-API.md §1.2–1.3; the captured
            // traffic is 20.200.001). We have no contract file for them: they serve the
            // 23.200.001 contract under their own version, over the same data.
            Self::parse(V23).with_version("20.200.001"),
            Self::parse(V23).with_version("22.200.001"),
            Self::parse(V23),
            Self::parse(include_str!("../../../../schemas/Default_24.200.001.json")),
        ]
    }

    pub fn entity(&self, name: &str) -> Option<&EntityDef> {
        self.by_exact
            .get(name)
            .or_else(|| self.by_name.get(&name.to_ascii_lowercase()))
            .map(|i| &self.entities[*i])
    }

    /// An entity's member positions (the order Acumatica writes members in).
    pub fn ranks(&self, entity: &str) -> Option<&Ranks> {
        self.ranks.get(entity)
    }

    pub fn top_level(&self, name: &str) -> Option<&EntityDef> {
        self.entity(name).filter(|e| e.top_level)
    }

    /// The entity a linked or detail member refers to.
    pub fn target(&self, entity: &str, member: &str) -> Option<&str> {
        let f = self.member(entity, member)?;
        f.linked.as_deref().or(f.detail.as_deref())
    }

    /// A member of an entity (value, linked entity or detail collection), any case.
    pub fn member(&self, entity: &str, name: &str) -> Option<&FieldDef> {
        self.entity(entity)?
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}
