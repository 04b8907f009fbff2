//! `swagger.json` as the endpoint publishes it: Swagger 2.0 up to 23.200.001 (`definitions`,
//! `host`/`basePath`), OpenAPI 3.0.1 from 24.200.001 (`components.schemas`, `servers`, shared
//! `components.parameters` and `components.responses` referenced with `$ref`), as in the saved
//! `swagger_Default_23.200.001.json` and `swagger_Default_24.200.001.json`. Every entity is
//! `allOf: [Entity, {properties}]` with its members in schema order.

use serde_json::{Map, Value, json};

use super::Endpoint;

/// The two document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Swagger2,
    OpenApi3,
}

impl Format {
    /// The format a version serves (24.200.001 and later: OpenAPI 3.0.1).
    pub fn of_version(version: &str) -> Self {
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major >= 24 {
            Self::OpenApi3
        } else {
            Self::Swagger2
        }
    }

    fn schema_ref(self, name: &str) -> Value {
        match self {
            Self::Swagger2 => json!({"$ref": format!("#/definitions/{name}")}),
            Self::OpenApi3 => json!({"$ref": format!("#/components/schemas/{name}")}),
        }
    }

    /// A query or path parameter (inline in 2.0, a `$ref` to `components.parameters` in 3.0).
    fn parameter(self, key: &str) -> Value {
        match self {
            Self::Swagger2 => {
                let (name, location, ty) = parameter_def(key);
                let mut p = json!({"name": name, "in": location, "type": ty});
                if location == "path" {
                    p["required"] = json!(true);
                }
                if ty == "integer" {
                    p["format"] = json!("int32");
                }
                p
            }
            Self::OpenApi3 => json!({"$ref": format!("#/components/parameters/{key}")}),
        }
    }

    /// A response whose body is `schema` (2.0: `schema`; 3.0: `content` by media type).
    fn response(self, description: &str, schema: Value) -> Value {
        match self {
            Self::Swagger2 => json!({"description": description, "schema": schema}),
            Self::OpenApi3 => json!({"description": description, "content": {
                "application/json": {"schema": schema.clone()},
                "text/json": {"schema": schema}
            }}),
        }
    }

    /// A response shared by many operations (3.0 keeps it once in `components.responses`).
    fn shared_response(self, key: &str) -> Value {
        match self {
            Self::Swagger2 => {
                let (description, error) = shared_response_def(key);
                if error {
                    json!({"description": description, "schema": self.schema_ref("HttpError")})
                } else {
                    json!({"description": description})
                }
            }
            Self::OpenApi3 => json!({"$ref": format!("#/components/responses/{key}")}),
        }
    }

    /// The operation's body: a `body` parameter in 2.0, a `requestBody` in 3.0.
    fn with_body(self, mut op: Value, name: &str, description: &str, schema: Value) -> Value {
        match self {
            Self::Swagger2 => {
                let body = json!({"in": "body", "name": name, "description": description, "required": true, "schema": schema});
                match op.get_mut("parameters").and_then(Value::as_array_mut) {
                    Some(params) => params.push(body),
                    None => op["parameters"] = json!([body]),
                }
                op["consumes"] = json!(["application/json", "text/json"]);
            }
            Self::OpenApi3 => {
                op["requestBody"] = json!({
                    "description": description,
                    "content": {"application/json": {"schema": schema.clone()}, "text/json": {"schema": schema}},
                    "required": true,
                    "x-bodyName": name
                });
            }
        }
        op
    }
}

/// `components.parameters` keys: name, location, type.
const PARAMETERS: &[&str] = &[
    "ids",
    "actionName",
    "select",
    "filter",
    "expand",
    "custom",
    "skip",
    "top",
];

fn parameter_def(key: &str) -> (&'static str, &'static str, &'static str) {
    match key {
        "ids" => ("ids", "path", "string"),
        "actionName" => ("actionName", "path", "string"),
        "select" => ("$select", "query", "string"),
        "filter" => ("$filter", "query", "string"),
        "expand" => ("$expand", "query", "string"),
        "custom" => ("$custom", "query", "string"),
        "skip" => ("$skip", "query", "integer"),
        _ => ("$top", "query", "integer"),
    }
}

/// `components.responses` keys: description, and whether the body is an `HttpError`.
const RESPONSES: &[&str] = &[
    "ContractBasedControllerBase_401",
    "ContractBasedControllerBase_500",
    "InvokeAction_204",
    "InvokeAction_202",
    "DeleteByKeys_204",
    "PutEntity_400",
    "PutEntity_412",
];

fn shared_response_def(key: &str) -> (&'static str, bool) {
    match key {
        "ContractBasedControllerBase_401" => ("The user is not logged in to the system.", true),
        "ContractBasedControllerBase_500" => ("Internal server error.", true),
        "InvokeAction_204" => (
            "The operation that was initiated by the action is completed.",
            false,
        ),
        "InvokeAction_202" => (
            "The operation that was initiated by the action is in progress.",
            false,
        ),
        "DeleteByKeys_204" => ("The record has been deleted.", false),
        "PutEntity_400" => ("The data specified in the request is invalid.", true),
        _ => (
            "The record does not satisfy the If-Match or If-None-Match condition.",
            true,
        ),
    }
}

const WRAPPERS: &[(&str, &str, Option<&str>)] = &[
    ("StringValue", "string", None),
    ("DecimalValue", "number", Some("double")),
    ("IntValue", "integer", Some("int32")),
    ("ShortValue", "integer", Some("int32")),
    ("LongValue", "integer", Some("int64")),
    ("DoubleValue", "number", Some("double")),
    ("BooleanValue", "boolean", None),
    ("DateTimeValue", "string", Some("date-time")),
    ("GuidValue", "string", Some("uuid")),
    ("ByteValue", "integer", Some("int32")),
];

impl Endpoint {
    /// `swagger.json` in the format this version serves; `server_url` is the endpoint's URL
    /// (`http://host/entity/Default/24.200.001`).
    pub fn swagger(&self, server_url: &str) -> String {
        let f = Format::of_version(&self.version);
        let errors = |op: &mut Value| {
            op["responses"]["401"] = f.shared_response("ContractBasedControllerBase_401");
            op["responses"]["500"] = f.shared_response("ContractBasedControllerBase_500");
        };
        let mut paths = Map::new();
        for e in self.entities.iter().filter(|e| e.top_level) {
            let n = &e.name;
            let me = f.schema_ref(n);
            let list = json!({"type": "array", "items": me.clone()});
            let params =
                |keys: &[&str]| Value::Array(keys.iter().map(|k| f.parameter(k)).collect());
            let mut get = json!({
                "tags": [n],
                "summary": "Retrieves records that satisfy the specified conditions from the system.",
                "operationId": format!("{n}_GetList"),
                "parameters": params(&["select", "filter", "expand", "custom", "skip", "top"]),
                "responses": {"200": f.response("The list of records that satisfy the specified conditions.", list)}
            });
            errors(&mut get);
            let put = json!({
                "tags": [n],
                "summary": "Creates a record or updates an existing record.",
                "operationId": format!("{n}_PutEntity"),
                "parameters": params(&["select", "filter", "expand", "custom"]),
                "responses": {
                    "200": f.response("The created or updated record.", me.clone()),
                    "400": f.shared_response("PutEntity_400"),
                    "412": f.shared_response("PutEntity_412"),
                    "422": f.response("The data specified in the request is invalid.", me.clone())
                }
            });
            let mut put = f.with_body(
                put,
                "entity",
                "The record to be passed to the system.",
                me.clone(),
            );
            errors(&mut put);
            paths.insert(format!("/{n}"), json!({"get": get, "put": put}));

            let mut by_keys = json!({
                "tags": [n],
                "summary": "Retrieves a record by the values of its key fields from the system.",
                "operationId": format!("{n}_GetByKeys"),
                "parameters": params(&["ids", "select", "filter", "expand", "custom"]),
                "responses": {"200": f.response("The requested record.", me.clone())}
            });
            errors(&mut by_keys);
            let mut delete = json!({
                "tags": [n],
                "summary": "Deletes the record by the values of its key fields.",
                "operationId": format!("{n}_DeleteByKeys"),
                "parameters": params(&["ids"]),
                "responses": {"204": f.shared_response("DeleteByKeys_204")}
            });
            errors(&mut delete);
            paths.insert(
                format!("/{n}/{{ids}}"),
                json!({"get": by_keys, "delete": delete}),
            );

            let mut schema_op = json!({
                "tags": [n],
                "summary": "Retrieves the schema of custom fields of the entity from the system.",
                "operationId": format!("{n}_GetAdHocSchema"),
                "responses": {"200": f.response("The schema of custom fields.", me.clone())}
            });
            errors(&mut schema_op);
            paths.insert(format!("/{n}/$adHocSchema"), json!({"get": schema_op}));

            for a in &e.actions {
                let post = json!({
                    "tags": [n],
                    "summary": "Performs an action in the system.",
                    "operationId": format!("{n}_InvokeAction_{a}"),
                    "responses": {
                        "202": f.shared_response("InvokeAction_202"),
                        "204": f.shared_response("InvokeAction_204")
                    }
                });
                let mut post = f.with_body(
                    post,
                    "invocation",
                    "The record to which the action should be applied and the parameters of the action.",
                    f.schema_ref(n),
                );
                errors(&mut post);
                paths.insert(format!("/{n}/{a}"), json!({"post": post}));
            }
        }

        let mut schemas = Map::new();
        schemas.insert(
            "Entity".into(),
            json!({"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid"},
                "rowNumber": {"type": "integer", "format": "int64"},
                "note": f.schema_ref("StringValue"),
                "custom": {"type": "object"},
                "error": {"type": "string"}
            }}),
        );
        schemas.insert(
            "HttpError".into(),
            json!({"type": "object", "properties": {
                "message": {"type": "string"},
                "exceptionMessage": {"type": "string"},
                "exceptionType": {"type": "string"},
                "stackTrace": {"type": "string"}
            }}),
        );
        for (w, ty, format) in WRAPPERS {
            let mut value = json!({"type": ty});
            if let Some(fmt) = format {
                value["format"] = json!(fmt);
            }
            schemas.insert(
                (*w).into(),
                json!({"type": "object", "properties": {"value": value, "error": {"type": "string"}}}),
            );
        }
        for e in &self.entities {
            let mut props = Map::new();
            for field in &e.fields {
                let p = if let Some(target) = field.wrapper.as_ref().or(field.linked.as_ref()) {
                    f.schema_ref(target)
                } else if let Some(d) = &field.detail {
                    json!({"type": "array", "items": f.schema_ref(d)})
                } else {
                    continue;
                };
                props.insert(field.name.clone(), p);
            }
            schemas.insert(
                e.name.clone(),
                json!({"allOf": [f.schema_ref("Entity"), {"type": "object", "properties": Value::Object(props)}]}),
            );
        }

        let info = json!({"title": format!("{}/{}", self.endpoint, self.version), "version": self.contract_version});
        let tags: Vec<Value> = self
            .entities
            .iter()
            .filter(|e| e.top_level)
            .map(|e| json!({"name": e.name}))
            .collect();
        let doc = match f {
            Format::Swagger2 => {
                let (scheme, rest) = server_url.split_once("://").unwrap_or(("http", server_url));
                let (host, base_path) = rest.split_once('/').unwrap_or((rest, ""));
                json!({
                    "swagger": "2.0",
                    "info": info,
                    "host": host,
                    "basePath": format!("/{base_path}"),
                    "schemes": [scheme],
                    "paths": Value::Object(paths),
                    "definitions": Value::Object(schemas),
                    "tags": tags
                })
            }
            Format::OpenApi3 => {
                let parameters: Map<String, Value> = PARAMETERS
                    .iter()
                    .map(|k| {
                        let (name, location, ty) = parameter_def(k);
                        let mut schema = json!({"type": ty});
                        if ty == "integer" {
                            schema["format"] = json!("int32");
                        }
                        let mut p = json!({"name": name, "in": location, "schema": schema});
                        if location == "path" {
                            p["required"] = json!(true);
                        }
                        ((*k).to_string(), p)
                    })
                    .collect();
                let responses: Map<String, Value> = RESPONSES
                    .iter()
                    .map(|k| {
                        let (description, error) = shared_response_def(k);
                        let r = if error {
                            Format::OpenApi3.response(description, f.schema_ref("HttpError"))
                        } else {
                            json!({"description": description})
                        };
                        ((*k).to_string(), r)
                    })
                    .collect();
                json!({
                    "openapi": "3.0.1",
                    "info": info,
                    "servers": [{"url": server_url}],
                    "paths": Value::Object(paths),
                    "components": {
                        "schemas": Value::Object(schemas),
                        "responses": Value::Object(responses),
                        "parameters": Value::Object(parameters)
                    },
                    "tags": tags
                })
            }
        };
        doc.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_pick_their_format() {
        assert_eq!(Format::of_version("20.200.001"), Format::Swagger2);
        assert_eq!(Format::of_version("23.200.001"), Format::Swagger2);
        assert_eq!(Format::of_version("24.200.001"), Format::OpenApi3);
    }
}
