//! The endpoint schemas the simulator serves (read from the bundled `schemas/` files with our
//! own structs) and the `swagger.json` written from them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Deserialize;

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

    /// Every served version.
    pub fn all() -> Vec<Self> {
        vec![
            Self::parse(include_str!("../../../schemas/Default_23.200.001.json")),
            Self::parse(include_str!("../../../schemas/Default_24.200.001.json")),
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

    /// A Swagger 2.0 document as the endpoint publishes it at `swagger.json`: `definitions`
    /// with every entity as `allOf: [Entity, {properties}]` in schema order, and the paths.
    pub fn swagger(&self, base_path: &str) -> String {
        use serde_json::{Map, Value, json};
        let mut paths = Map::new();
        for e in self.entities.iter().filter(|e| e.top_level) {
            let n = &e.name;
            let me = json!({ "$ref": format!("#/definitions/{n}") });
            let q = |name: &str, ty: &str| json!({"name": name, "in": "query", "type": ty});
            paths.insert(
                format!("/{n}"),
                json!({
                    "get": {
                        "tags": [n],
                        "operationId": format!("{n}_GetList"),
                        "parameters": [q("$select", "string"), q("$filter", "string"), q("$expand", "string"), q("$custom", "string"), q("$skip", "integer"), q("$top", "integer")],
                        "responses": {"200": {"description": "OK", "schema": {"type": "array", "items": me}}}
                    },
                    "put": {
                        "tags": [n],
                        "operationId": format!("{n}_PutEntity"),
                        "parameters": [{"name": "entity", "in": "body", "required": true, "schema": me}],
                        "responses": {"200": {"description": "OK", "schema": me}}
                    }
                }),
            );
            let ids = json!({"name": "ids", "in": "path", "required": true, "type": "string"});
            paths.insert(
                format!("/{n}/{{ids}}"),
                json!({
                    "get": {"tags": [n], "operationId": format!("{n}_GetByKeys"), "parameters": [ids], "responses": {"200": {"description": "OK", "schema": me}}},
                    "delete": {"tags": [n], "operationId": format!("{n}_DeleteByKeys"), "parameters": [ids], "responses": {"204": {"description": "No Content"}}}
                }),
            );
            for a in &e.actions {
                paths.insert(
                    format!("/{n}/{a}"),
                    json!({"post": {"tags": [n], "operationId": format!("{n}_Invoke{a}"), "responses": {"202": {"description": "Accepted"}, "204": {"description": "No Content"}}}}),
                );
            }
        }
        let mut defs = Map::new();
        defs.insert(
            "Entity".into(),
            json!({"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid"},
                "rowNumber": {"type": "integer", "format": "int64"},
                "note": {"$ref": "#/definitions/StringValue"},
                "custom": {"type": "object"},
                "_links": {"type": "object"}
            }}),
        );
        for (w, t) in [
            ("StringValue", json!({"type": "string"})),
            (
                "DecimalValue",
                json!({"type": "number", "format": "double"}),
            ),
            ("IntValue", json!({"type": "integer", "format": "int32"})),
            ("ShortValue", json!({"type": "integer", "format": "int32"})),
            ("LongValue", json!({"type": "integer", "format": "int64"})),
            ("DoubleValue", json!({"type": "number", "format": "double"})),
            ("BooleanValue", json!({"type": "boolean"})),
            (
                "DateTimeValue",
                json!({"type": "string", "format": "date-time"}),
            ),
            ("GuidValue", json!({"type": "string", "format": "uuid"})),
            ("ByteValue", json!({"type": "integer", "format": "int32"})),
        ] {
            defs.insert(
                w.into(),
                json!({"type": "object", "properties": {"value": t}}),
            );
        }
        for e in &self.entities {
            let mut props = Map::new();
            for f in &e.fields {
                let p = if let Some(w) = &f.wrapper {
                    json!({"$ref": format!("#/definitions/{w}")})
                } else if let Some(l) = &f.linked {
                    json!({"$ref": format!("#/definitions/{l}")})
                } else if let Some(d) = &f.detail {
                    json!({"type": "array", "items": {"$ref": format!("#/definitions/{d}")}})
                } else {
                    continue;
                };
                props.insert(f.name.clone(), p);
            }
            defs.insert(
                e.name.clone(),
                json!({"allOf": [{"$ref": "#/definitions/Entity"}, {"type": "object", "properties": Value::Object(props)}]}),
            );
        }
        json!({
            "swagger": "2.0",
            "info": {"version": self.contract_version, "title": format!("{}/{}", self.endpoint, self.version)},
            "host": "",
            "basePath": base_path,
            "schemes": ["http", "https"],
            "paths": Value::Object(paths),
            "definitions": Value::Object(defs),
            "securityDefinitions": {
                "cookieAuth": {"type": "apiKey", "name": "Cookie", "in": "header"},
                "oauth2": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "/identity/connect/authorize", "tokenUrl": "/identity/connect/token", "scopes": {"api": "Access to the web API"}}
            }
        })
        .to_string()
    }
}
