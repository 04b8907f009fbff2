//! The fallback for entities that refuse to expand a detail in a list request (Acumatica's
//! "Optimization cannot be performed"): the page of parent keys, then each record by its keys.

use acumatica_client::{Connection, RestQuery};

use crate::table::{ColumnSource, TableDef};

/// True for the documented refusal of a list request to expand a detail
/// (`PX.Api.ContractBased.Optimization.CannotOptimizeException`), told by its exception type:
/// the message is localised text.
pub(super) fn cannot_optimize(e: &acumatica_client::Error) -> bool {
    matches!(e, acumatica_client::Error::Server { exception_type: Some(t), .. } if t.contains("CannotOptimize"))
}

/// Records a list cannot return with their details expanded: the page of parent keys (same
/// filter, `$skip`, `$top`), then each record by its keys with the detail expanded, a few at a
/// time (the connection's throttle bounds them). Returns the records as one JSON array, in
/// list order.
pub(super) async fn records_one_by_one(
    conn: &Connection,
    def: &TableDef,
    page: &RestQuery,
) -> Result<bytes::Bytes, acumatica_client::Error> {
    use futures::StreamExt;
    let key_fields: Vec<String> = def
        .keys
        .iter()
        .filter_map(|k| match &def.columns[*k].source {
            ColumnSource::ParentField(f) | ColumnSource::Field(f) => Some(f.clone()),
            _ => None,
        })
        .collect();
    let mut keys_query = RestQuery::new(def.resource.clone());
    keys_query.filter = page.filter.clone();
    keys_query.top = page.top;
    keys_query.skip = page.skip;
    keys_query.select = key_fields.clone();
    let body = conn.list(&keys_query).await?;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&body)
        .map_err(|e| {
            acumatica_client::Error::BadJson(format!("the key list is not an array: {e}"))
        })?;
    let ids: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            if key_fields.is_empty() {
                return vec![
                    r.get("id")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string(),
                ];
            }
            key_fields
                .iter()
                .map(|k| match r.get(k).and_then(|w| w.get("value")) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) if !v.is_null() => v.to_string(),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    let mut one = page.clone();
    one.filter = None;
    one.top = None;
    one.skip = None;
    let bodies: Vec<Result<bytes::Bytes, acumatica_client::Error>> = futures::stream::iter(ids)
        .map(|k| {
            let (conn, one) = (conn.clone(), one.clone());
            async move {
                let refs: Vec<&str> = k.iter().map(String::as_str).collect();
                conn.get_by_keys(&one, &refs).await
            }
        })
        .buffered(conn.config().max_concurrent_requests.max(1))
        .collect()
        .await;
    let mut out = Vec::with_capacity(
        bodies
            .iter()
            .map(|b| b.as_ref().map_or(0, |b| b.len() + 1))
            .sum::<usize>()
            + 2,
    );
    out.push(b'[');
    for (i, b) in bodies.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&b?);
    }
    out.push(b']');
    Ok(bytes::Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(exception_type: Option<&str>) -> acumatica_client::Error {
        acumatica_client::Error::Server {
            status: 500,
            message: "An error has occurred.".into(),
            exception_message: Some("Optimization cannot be performed.".into()),
            exception_type: exception_type.map(str::to_string),
        }
    }

    #[test]
    fn the_refusal_is_told_by_its_exception_type_not_its_text() {
        assert!(cannot_optimize(&server(Some(
            "PX.Api.ContractBased.Optimization.CannotOptimizeException"
        ))));
        assert!(!cannot_optimize(&server(None)));
        assert!(!cannot_optimize(&server(Some("PX.Data.PXException"))));
    }
}
