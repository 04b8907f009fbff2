//! What the shell knows of the catalog: its schemas and tables, a table from a name as typed
//! (`Customer`, `gi."Customer Contacts"`), and the closest names for a did-you-mean.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use datafusion::catalog::{CatalogProvider, TableProvider};
use datafusion::common::TableReference;
use datafusion::common::utils::datafusion_strsim::levenshtein;
use datafusion::prelude::SessionContext;

/// The schema unqualified names are looked up in first.
const DEFAULT_SCHEMA: &str = "rest";

/// Splits a table name as SQL writes it into its parts: `gi."Customer Contacts"` →
/// `["gi", "Customer Contacts"]`. Quoted parts keep their spaces and dots (`""` is a quote).
pub fn parse_name(text: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(format!("unterminated quoted name in {text}")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() {
                    break;
                }
                if c == '"' {
                    return Err(format!("a quote in the middle of a name: {text}"));
                }
                part.push(c);
                chars.next();
            }
        }
        if part.is_empty() {
            return Err(format!("not a table name: {text:?}"));
        }
        parts.push(part);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some('.') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(c) => return Err(format!("unexpected {c:?} in the table name {text}")),
        }
    }
    if parts.len() > 3 {
        return Err(format!("too many parts in the table name {text}"));
    }
    Ok(parts)
}

/// An identifier as SQL needs it: quoted when it is not a plain word.
pub fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// How SQL names a table of `schema` (unqualified in the default schema).
pub fn reference(schema: &str, table: &str) -> String {
    if schema == DEFAULT_SCHEMA {
        quote(table)
    } else {
        format!("{}.{}", quote(schema), quote(table))
    }
}

/// The session's default catalog (`acumatica`).
fn default_catalog(ctx: &SessionContext) -> Option<Arc<dyn CatalogProvider>> {
    let name = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    ctx.catalog(&name)
}

/// The schemas of the default catalog (without `information_schema`), the default first.
pub fn schemas(ctx: &SessionContext) -> Vec<String> {
    let mut names: Vec<String> = default_catalog(ctx)
        .map(|c| c.schema_names())
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s != "information_schema")
        .collect();
    names.sort_by_key(|s| (s != DEFAULT_SCHEMA, s.clone()));
    names
}

/// The tables of a schema, as the catalog spells them.
pub fn tables(ctx: &SessionContext, schema: &str) -> Vec<String> {
    default_catalog(ctx)
        .and_then(|c| c.schema(schema))
        .map(|s| s.table_names())
        .unwrap_or_default()
}

/// A table found in the catalog.
pub struct Found {
    pub schema: String,
    pub name: String,
    pub provider: Arc<dyn TableProvider>,
}

impl Found {
    pub fn reference(&self) -> String {
        reference(&self.schema, &self.name)
    }
}

/// The table `parts` name: `[table]` is looked for in `rest`, then in the other schemas;
/// `[schema, table]` and `[catalog, schema, table]` where they say. Case is ignored when only
/// the case differs.
pub async fn find(ctx: &SessionContext, parts: &[String]) -> Result<Option<Found>> {
    let (schemas, table) = match parts {
        [table] => (schemas(ctx), table),
        [schema, table] | [_, schema, table] => (vec![schema.clone()], table),
        _ => return Ok(None),
    };
    let Some(catalog) = default_catalog(ctx) else {
        return Ok(None);
    };
    for schema_name in schemas {
        let Some(schema) = catalog.schema(&schema_name) else {
            continue;
        };
        let names = schema.table_names();
        let name = names
            .iter()
            .find(|n| *n == table)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(table)));
        let Some(name) = name else {
            continue;
        };
        if let Some(provider) = schema.table(name).await? {
            let schema_name = catalog
                .schema_names()
                .into_iter()
                .find(|s| s.eq_ignore_ascii_case(&schema_name))
                .unwrap_or(schema_name);
            return Ok(Some(Found {
                schema: schema_name,
                name: name.clone(),
                provider,
            }));
        }
    }
    // Anything else the session knows, as SQL would find it (`information_schema.tables`).
    let reference = match parts {
        [table] => TableReference::bare(table.as_str()),
        [schema, table] => TableReference::partial(schema.as_str(), table.as_str()),
        [c, schema, table] => TableReference::full(c.as_str(), schema.as_str(), table.as_str()),
        _ => return Ok(None),
    };
    Ok(match ctx.table_provider(reference.clone()).await {
        Ok(provider) => Some(Found {
            schema: reference.schema().unwrap_or(DEFAULT_SCHEMA).to_string(),
            name: reference.table().to_string(),
            provider,
        }),
        Err(_) => None,
    })
}

/// The tables whose names are closest to `missing` (the last part of a name), as SQL names
/// them; none when nothing is close.
pub fn suggestions(ctx: &SessionContext, missing: &str) -> Vec<String> {
    let target = missing.to_lowercase();
    let mut scored: Vec<(usize, String)> = Vec::new();
    for schema in schemas(ctx) {
        for table in tables(ctx, &schema) {
            let lower = table.to_lowercase();
            let distance = levenshtein(&lower, &target);
            // Close enough to be a typo, or the name with a prefix or suffix added or missing.
            let close = distance <= (target.chars().count() / 3).max(2)
                || (target.len() >= 4 && (lower.contains(&target) || target.contains(&lower)));
            if close {
                scored.push((distance, reference(&schema, &table)));
            }
        }
    }
    scored.sort();
    // The closest, and others nearly as close.
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| *d <= best + 2)
        .take(3)
        .map(|(_, r)| r)
        .collect()
}

/// "did you mean X?" / "did you mean X or Y?", or nothing.
pub fn did_you_mean(ctx: &SessionContext, missing: &str) -> Option<String> {
    let s = suggestions(ctx, missing);
    match s.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

/// The error for a table name that is not in the catalog.
pub fn not_found(ctx: &SessionContext, typed: &str, parts: &[String]) -> anyhow::Error {
    let last = parts.last().map(String::as_str).unwrap_or(typed);
    match did_you_mean(ctx, last) {
        Some(hint) => anyhow!("no table {typed}; {hint}"),
        None => anyhow!("no table {typed} (\\dt lists the tables)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_quoted_and_qualified_names() {
        let p = |s: &str| parse_name(s);
        assert_eq!(p("Customer"), Ok(vec!["Customer".to_string()]));
        assert_eq!(
            p(r#"gi."Customer Contacts""#),
            Ok(vec!["gi".to_string(), "Customer Contacts".to_string()])
        );
        assert_eq!(
            p(r#" "gi" . "Say ""hi"".x" "#),
            Ok(vec!["gi".to_string(), r#"Say "hi".x"#.to_string()])
        );
        assert_eq!(p("acumatica.rest.Customer").map(|v| v.len()), Ok(3));
        assert!(p(r#"gi."Customer"#).is_err());
        assert!(p("Customer Contacts").is_err());
        assert!(p("a.b.c.d").is_err());
        assert!(p("gi.").is_err());
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("SalesOrder_Details"), "SalesOrder_Details");
        assert_eq!(quote("Customer Contacts"), "\"Customer Contacts\"");
        assert_eq!(quote("1st"), "\"1st\"");
        assert_eq!(
            reference("gi", "Customer Contacts"),
            "gi.\"Customer Contacts\""
        );
        assert_eq!(reference("rest", "Customer"), "Customer");
    }
}
