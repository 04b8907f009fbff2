//! Writes through the contract-based REST API: `PUT <Entity>` (insert only with
//! `If-None-Match: *`, update only with `If-Match: *`) and `DELETE <Entity>/<id>`.
//!
//! A write is sent once and never retried: Acumatica has no idempotency, and a `PUT` that
//! succeeded but whose answer was lost would create a second document if sent again. A 401
//! (the session expired, nothing was done) is the one exception: the connection signs in and
//! sends it again. Writes share the connection's session, throttle and requests-per-minute
//! budget with reads.

use std::fmt::Write as _;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{Connection, Error, RestQuery};

/// A value of a field in a request body.
#[derive(Debug, Clone, PartialEq)]
pub enum WireValue {
    Null,
    Bool(bool),
    Int(i64),
    /// A number written exactly as given (decimals keep every digit: `12.3400`).
    Number(String),
    Str(String),
}

impl WireValue {
    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::Number(n) => out.push_str(n),
            Self::Str(s) => string(out, s),
        }
    }
}

fn string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// A custom field's value (`custom` block): view, field, its `Custom…Field` type, value.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomValue {
    pub view: String,
    pub field: String,
    /// `CustomStringField`, `CustomDecimalField`, …
    pub kind: String,
    pub value: WireValue,
}

/// An entity as a request body: `id`, wrapped fields, linked entities, detail lines, custom
/// fields, and `"delete": true` for a detail line to remove.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteRecord {
    pub id: Option<String>,
    pub fields: Vec<(String, WireValue)>,
    pub linked: Vec<(String, WriteRecord)>,
    pub details: Vec<(String, Vec<WriteRecord>)>,
    pub custom: Vec<CustomValue>,
    pub delete: bool,
}

impl WriteRecord {
    pub fn field(&mut self, name: &str, value: WireValue) {
        self.fields.push((name.to_string(), value));
    }

    /// The linked entity `name`, created empty when first asked for.
    pub fn linked_mut(&mut self, name: &str) -> &mut WriteRecord {
        entry(&mut self.linked, name)
    }

    /// The lines of detail collection `name`, created empty when first asked for.
    pub fn details_mut(&mut self, name: &str) -> &mut Vec<WriteRecord> {
        entry(&mut self.details, name)
    }

    /// The JSON body: `{"id": …, "Field": {"value": …}, "Link": {…}, "Details": […],
    /// "custom": {"View": {"Field": {"type": …, "value": …}}}, "delete": true}`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut member = |out: &mut String, name: &str| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            string(out, name);
            out.push(':');
        };
        if let Some(id) = &self.id {
            member(out, "id");
            string(out, id);
        }
        if self.delete {
            member(out, "delete");
            out.push_str("true");
        }
        for (name, v) in &self.fields {
            member(out, name);
            out.push_str("{\"value\":");
            v.write(out);
            out.push('}');
        }
        for (name, l) in &self.linked {
            member(out, name);
            l.write(out);
        }
        for (name, lines) in &self.details {
            member(out, name);
            out.push('[');
            for (i, l) in lines.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                l.write(out);
            }
            out.push(']');
        }
        if !self.custom.is_empty() {
            member(out, "custom");
            out.push('{');
            let mut views: Vec<&str> = Vec::new();
            for c in &self.custom {
                if !views.contains(&c.view.as_str()) {
                    views.push(&c.view);
                }
            }
            for (i, view) in views.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, view);
                out.push_str(":{");
                for (j, c) in self.custom.iter().filter(|c| c.view == *view).enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    string(out, &c.field);
                    out.push_str(":{\"type\":");
                    string(out, &c.kind);
                    out.push_str(",\"value\":");
                    c.value.write(out);
                    out.push('}');
                }
                out.push('}');
            }
            out.push('}');
        }
        out.push('}');
    }
}

/// The value named `name` in a list of named values, appended empty when missing.
fn entry<'a, T: Default>(list: &'a mut Vec<(String, T)>, name: &str) -> &'a mut T {
    let i = match list.iter().position(|(n, _)| n == name) {
        Some(i) => i,
        None => {
            list.push((name.to_string(), T::default()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

/// What a `PUT` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// `If-None-Match: *`: create only; an existing record with these keys is an error.
    Insert,
    /// `If-Match: *`: update only; a missing record is an error.
    Update,
}

impl PutMode {
    /// The precondition header, as sent.
    pub fn header(self) -> (&'static str, &'static str) {
        match self {
            Self::Insert => ("If-None-Match", "*"),
            Self::Update => ("If-Match", "*"),
        }
    }
}

/// One field's error in a 422 answer: where it is (`["CustomerID"]`, `["ShipToContact",
/// "Email"]`, `["Details", "0", "InventoryID"]`, `["custom", "Document", "UsrX"]`) and the
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: Vec<String>,
    pub message: String,
}

/// Every `error` of a 422 body (the entity echoed with errors): the entity's own message and
/// each field's, walking linked entities, detail lines and the `custom` block.
pub fn field_errors(body: &[u8]) -> (Option<String>, Vec<FieldError>) {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return (None, Vec::new());
    };
    let mut fields = Vec::new();
    let message = root
        .get("error")
        .and_then(Value::as_str)
        .or_else(|| root.get("exceptionMessage").and_then(Value::as_str))
        .map(str::to_string);
    collect(&root, &mut Vec::new(), &mut fields);
    (message, fields)
}

fn collect(
    obj: &serde_json::Map<String, Value>,
    path: &mut Vec<String>,
    out: &mut Vec<FieldError>,
) {
    for (name, v) in obj {
        match v {
            Value::Object(o) if name == "custom" => {
                for (view, fs) in o {
                    for (field, w) in fs.as_object().into_iter().flatten() {
                        if let Some(e) = w.get("error").and_then(Value::as_str) {
                            let mut p = path.clone();
                            p.extend(["custom".to_string(), view.clone(), field.clone()]);
                            out.push(FieldError {
                                path: p,
                                message: e.to_string(),
                            });
                        }
                    }
                }
            }
            Value::Object(o) => {
                if let Some(e) = o.get("error").and_then(Value::as_str) {
                    let mut p = path.clone();
                    p.push(name.clone());
                    out.push(FieldError {
                        path: p,
                        message: e.to_string(),
                    });
                } else if !o.contains_key("value") && name != "_links" {
                    path.push(name.clone());
                    collect(o, path, out);
                    path.pop();
                }
            }
            Value::Array(rows) => {
                for (i, row) in rows.iter().enumerate() {
                    if let Value::Object(o) = row {
                        path.push(name.clone());
                        path.push(i.to_string());
                        if let Some(e) = o.get("error").and_then(Value::as_str) {
                            out.push(FieldError {
                                path: path.clone(),
                                message: e.to_string(),
                            });
                        }
                        collect(o, path, out);
                        path.pop();
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// The text of a 422 error: the entity's message, then each field's error.
pub(crate) fn invalid_text(message: Option<&str>, fields: &[FieldError]) -> String {
    let mut parts: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", f.path.join("/"), f.message))
        .collect();
    if parts.is_empty() {
        parts.push(message.unwrap_or("the record has errors").to_string());
    }
    format!("Acumatica refused the record (422): {}", parts.join("; "))
}

impl Connection {
    /// `PUT <Entity>` with the record as body and the mode's precondition header. Returns
    /// the stored record as Acumatica answers it.
    pub async fn put(
        &self,
        entity: &str,
        record: &WriteRecord,
        mode: PutMode,
    ) -> Result<Bytes, Error> {
        let url = self
            .endpoint_url()
            .join(&RestQuery::new(entity).render_path())
            .map_err(|e| Error::Config(format!("bad request URL: {e}")))?;
        let (status, _, body) = self
            .send_unretried(
                Method::PUT,
                url,
                &[mode.header()],
                Some(record.to_json().into_bytes()),
            )
            .await?;
        match status {
            s if s.is_success() => Ok(body),
            StatusCode::UNPROCESSABLE_ENTITY => {
                let (message, fields) = field_errors(&body);
                Err(Error::Invalid { message, fields })
            }
            StatusCode::PRECONDITION_FAILED => Err(Error::Precondition(match mode {
                PutMode::Insert => {
                    "a record with these keys already exists (INSERT does not overwrite; use UPDATE)"
                }
                PutMode::Update => "no record with these keys exists",
            })),
            s => Err(Error::from_response(s.as_u16(), &body)),
        }
    }

    /// `DELETE <Entity>/<id>`: removes the record with that id.
    pub async fn delete_by_id(&self, entity: &str, id: &str) -> Result<(), Error> {
        let path = RestQuery::new(entity).render_keys_path(&[id]);
        let url = self
            .endpoint_url()
            .join(&path)
            .map_err(|e| Error::Config(format!("bad request URL: {e}")))?;
        let (status, _, body) = self.send_unretried(Method::DELETE, url, &[], None).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::from_response(status.as_u16(), &body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_nest_linked_details_and_custom_and_keep_decimals_exact() {
        let mut r = WriteRecord::default();
        r.field("OrderType", WireValue::Str("SO".into()));
        r.field("OrderTotal", WireValue::Number("12.3400".into()));
        r.linked_mut("ShipToContact")
            .field("Email", WireValue::Str("a\"b@x".into()));
        r.details_mut("Details").push(WriteRecord {
            id: Some("L1".into()),
            delete: true,
            ..Default::default()
        });
        r.custom.push(CustomValue {
            view: "Document".into(),
            field: "UsrX".into(),
            kind: "CustomIntField".into(),
            value: WireValue::Int(3),
        });
        assert_eq!(
            r.to_json(),
            r#"{"OrderType":{"value":"SO"},"OrderTotal":{"value":12.3400},"ShipToContact":{"Email":{"value":"a\"b@x"}},"Details":[{"id":"L1","delete":true}],"custom":{"Document":{"UsrX":{"type":"CustomIntField","value":3}}}}"#
        );
        let v: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert!(v.is_object());
    }

    #[test]
    fn field_errors_are_found_anywhere_in_the_echoed_entity() {
        let body = br#"{"id":"b6","rowNumber":1,"error":"Inserting  'AP Transactions' record raised at least one error. Please review the errors.",
          "Amount":{"value":201.73},
          "Details":[{"id":"b8","Project":{"value":"T","error":"Project 'T' cannot be found in the system."},"_links":{"files:put":"/x"}}],
          "MainContact":{"Email":{"value":"x","error":"Bad email."}},
          "custom":{"Document":{"UsrX":{"type":"CustomStringField","value":"v","error":"Too long."}}},
          "ReferenceNbr":{"value":"<NEW>"}}"#;
        let (message, fields) = field_errors(body);
        assert!(message.unwrap().starts_with("Inserting  'AP Transactions'"));
        let paths: Vec<String> = fields.iter().map(|f| f.path.join("/")).collect();
        assert_eq!(
            paths,
            [
                "Details/0/Project",
                "MainContact/Email",
                "custom/Document/UsrX"
            ]
        );
        let text = invalid_text(None, &fields);
        assert!(
            text.contains("Details/0/Project: Project 'T' cannot be found"),
            "{text}"
        );
    }
}

/// How an action ended: the processed record's URL when Acumatica gives one, and how many
/// status requests it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    pub location: Option<String>,
    pub polls: u32,
}

impl Connection {
    /// `POST <Entity>/<Action>` with `{"entity": …, "parameters": …}`; a 202 is followed by
    /// polling its `Location` until 204 (at most `Timeout` in all). Sent once, never retried.
    pub async fn invoke_action(
        &self,
        entity: &str,
        action: &str,
        record: &WriteRecord,
        parameters: &WriteRecord,
    ) -> Result<ActionOutcome, Error> {
        let path = RestQuery::new(entity).render_keys_path(&[action]);
        let url = self
            .endpoint_url()
            .join(&path)
            .map_err(|e| Error::Config(format!("bad request URL: {e}")))?;
        let body = format!(
            "{{\"entity\":{},\"parameters\":{}}}",
            record.to_json(),
            parameters.to_json()
        );
        let (status, location, reply) = self
            .send_unretried(Method::POST, url, &[], Some(body.into_bytes()))
            .await?;
        let mut polls = 0;
        let mut status_url = match status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                return Ok(ActionOutcome { location, polls });
            }
            StatusCode::ACCEPTED => location.ok_or_else(|| Error::Server {
                status: 202,
                message: "the action was accepted without a status URL (Location)".into(),
                exception_message: None,
                exception_type: None,
            })?,
            StatusCode::UNPROCESSABLE_ENTITY => {
                let (message, fields) = field_errors(&reply);
                return Err(Error::Invalid { message, fields });
            }
            s => return Err(Error::from_response(s.as_u16(), &reply)),
        };
        let started = std::time::Instant::now();
        let mut wait = std::time::Duration::from_millis(50);
        loop {
            let url = self
                .endpoint_url()
                .join(&status_url)
                .map_err(|e| Error::Config(format!("bad status URL: {e}")))?;
            if url.origin() != self.endpoint_url().origin() {
                return Err(Error::Config(format!(
                    "refusing to follow an action's status URL to another site: {}",
                    url.origin().ascii_serialization()
                )));
            }
            if started.elapsed() > self.config().timeout {
                return Err(Error::Server {
                    status: 202,
                    message: format!(
                        "{entity}/{action} did not finish within {} s (Timeout); it may still complete",
                        self.config().timeout.as_secs()
                    ),
                    exception_message: None,
                    exception_type: None,
                });
            }
            // Acumatica documents polling the status URL with a delay (its client waits 1 s).
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(1));
            polls += 1;
            let (status, location, reply) =
                self.send_unretried(Method::GET, url, &[], None).await?;
            match status {
                StatusCode::ACCEPTED => {
                    if let Some(l) = location {
                        status_url = l;
                    }
                }
                StatusCode::NO_CONTENT | StatusCode::OK => {
                    return Ok(ActionOutcome { location, polls });
                }
                s => return Err(Error::from_response(s.as_u16(), &reply)),
            }
        }
    }
}
