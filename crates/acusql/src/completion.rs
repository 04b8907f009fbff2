//! Schema-aware completion: after `gi.` only inquiries, after `dac.` only DACs, after a
//! table or its alias only its columns; otherwise the default schema's tables, the schema
//! names, the columns of the statement's tables and SQL keywords.

use datafusion::prelude::SessionContext;
use rustyline::completion::Pair;

use crate::catalog::{self, quote};
use crate::meta::META_COMMANDS;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "ON",
    "USING",
    "AS",
    "DISTINCT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "EXPLAIN",
    "ANALYZE",
    "DESCRIBE",
    "SHOW",
    "TABLES",
    "COLUMNS",
    "COPY",
    "TO",
    "WITH",
    "UNION",
    "ALL",
    "ASC",
    "DESC",
    "TRUE",
    "FALSE",
    "SET",
    "TIMESTAMP",
    "DATE",
    "INTERVAL",
    "EXISTS",
    "CREATE",
    "VIEW",
    "TABLE",
    "VALUES",
    "INSERT",
    "INTO",
    "STORED",
    "PARQUET",
    "CSV",
    "JSON",
    "OPTIONS",
    "OVERWRITE",
    "NOW",
    "CURRENT_DATE",
    "COALESCE",
    "LOWER",
    "UPPER",
    "TRIM",
    "ROUND",
    "EXTRACT",
    "DATE_TRUNC",
];

/// Words after which a table name comes.
const TABLE_BEFORE: &[&str] = &["FROM", "JOIN", "INTO", "UPDATE", "DESCRIBE", "\\d", "\\d+"];

/// Words after a table that are not its alias.
const NOT_ALIASES: &[&str] = &[
    "WHERE",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "CROSS",
    "NATURAL",
    "ON",
    "USING",
    "GROUP",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "HAVING",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "TO",
];

#[cfg(test)]
type TestTable<'a> = (&'a str, &'a [&'a str]);

/// One table's name and columns.
#[derive(Debug, Clone, Default)]
struct TableNames {
    name: String,
    columns: Vec<String>,
}

/// The catalog's names, read once when the shell starts.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Schemas in order, the default (`rest`) first.
    schemas: Vec<(String, Vec<TableNames>)>,
}

impl Names {
    /// Reads every schema's tables and their columns.
    pub async fn load(ctx: &SessionContext) -> Self {
        let mut schemas = Vec::new();
        for schema in catalog::schemas(ctx) {
            let mut tables = Vec::new();
            for table in catalog::tables(ctx, &schema) {
                let parts = [schema.clone(), table.clone()];
                let columns = match catalog::find(ctx, &parts).await {
                    Ok(Some(found)) => found
                        .provider
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                    _ => Vec::new(),
                };
                tables.push(TableNames {
                    name: table,
                    columns,
                });
            }
            schemas.push((schema, tables));
        }
        Self { schemas }
    }

    /// Names for tests: `(schema, [(table, [columns])])`.
    #[cfg(test)]
    pub fn from_lists(lists: &[(&str, &[TestTable])]) -> Self {
        Self {
            schemas: lists
                .iter()
                .map(|(s, tables)| {
                    (
                        s.to_string(),
                        tables
                            .iter()
                            .map(|(t, cols)| TableNames {
                                name: t.to_string(),
                                columns: cols.iter().map(|c| c.to_string()).collect(),
                            })
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    fn schema(&self, name: &str) -> Option<&[TableNames]> {
        self.schemas
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(name))
            .map(|(_, t)| t.as_slice())
    }

    /// The table a reference names: `[table]` in the default schema first, then the others.
    fn table(&self, parts: &[String]) -> Option<&TableNames> {
        let find = |tables: &[TableNames], name: &str| -> Option<usize> {
            tables.iter().position(|t| t.name == name).or_else(|| {
                tables
                    .iter()
                    .position(|t| t.name.eq_ignore_ascii_case(name))
            })
        };
        match parts {
            [table] => self
                .schemas
                .iter()
                .find_map(|(_, tables)| find(tables, table).map(|i| &tables[i])),
            [.., schema, table] => {
                let tables = self.schema(schema)?;
                find(tables, table).map(|i| &tables[i])
            }
            [] => None,
        }
    }

    /// Completions for the text before the cursor, `statement` being the whole statement so
    /// far (earlier lines included, for its aliases). Returns where the replaced word starts.
    pub fn complete(&self, before: &str, statement: &str) -> (usize, Vec<Pair>) {
        let start = word_start(before);
        let word = &before[start..];
        if word.starts_with('\\') {
            let pairs = META_COMMANDS
                .iter()
                .filter_map(|(usage, _)| usage.split_whitespace().next())
                .filter(|name| name.starts_with(word))
                .map(|name| pair(name.to_string()))
                .collect::<Vec<_>>();
            return (start, dedup(pairs));
        }
        let (qualifier, partial) = split_word(word);
        let typed_quote = partial.starts_with('"');
        let partial_name = partial.trim_start_matches('"').to_lowercase();
        let matches = |name: &str| name.to_lowercase().starts_with(&partial_name);
        let prefix: String = qualifier.iter().map(|q| format!("{}.", quote(q))).collect();
        let render = |name: &str| {
            if typed_quote {
                format!("{prefix}\"{}\"", name.replace('"', "\"\""))
            } else {
                format!("{prefix}{}", quote(name))
            }
        };
        let mut out = Vec::new();
        if !qualifier.is_empty() {
            let aliases = aliases(statement);
            let columns = match qualifier.as_slice() {
                [one] => aliases
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(one))
                    .and_then(|(_, parts)| self.table(parts))
                    .or_else(|| {
                        // A table named without its schema, unless it is a schema's name.
                        self.schema(one)
                            .is_none()
                            .then(|| self.table(&qualifier))
                            .flatten()
                    }),
                _ => self.table(&qualifier),
            };
            if let Some(table) = columns {
                out.extend(
                    table
                        .columns
                        .iter()
                        .filter(|c| matches(c))
                        .map(|c| pair(render(c))),
                );
            } else if let [schema] = qualifier.as_slice()
                && let Some(tables) = self.schema(schema)
            {
                out.extend(
                    tables
                        .iter()
                        .filter(|t| matches(&t.name))
                        .map(|t| pair(render(&t.name))),
                );
            }
            return (start, dedup(out));
        }
        // Where a table name goes (after FROM, JOIN, `\\d`…), only tables and schemas.
        let wants_table = before[..start]
            .split_whitespace()
            .next_back()
            .is_some_and(|w| TABLE_BEFORE.iter().any(|k| w.eq_ignore_ascii_case(k)));
        if partial.is_empty() && !wants_table {
            return (start, out);
        }
        if let Some((_, tables)) = self.schemas.first() {
            out.extend(
                tables
                    .iter()
                    .filter(|t| matches(&t.name))
                    .map(|t| pair(render(&t.name))),
            );
        }
        out.extend(
            self.schemas
                .iter()
                .filter(|(s, _)| matches(s))
                .map(|(s, _)| pair(render(s))),
        );
        if wants_table {
            return (start, dedup(out));
        }
        // Columns of the statement's tables, or of every table when it names none yet.
        let referenced: Vec<&TableNames> = aliases(statement)
            .iter()
            .filter_map(|(_, parts)| self.table(parts))
            .collect();
        let mut columns: Vec<&String> = if referenced.is_empty() {
            self.schemas
                .iter()
                .flat_map(|(_, t)| t.iter())
                .flat_map(|t| t.columns.iter())
                .filter(|c| matches(c))
                .collect()
        } else {
            referenced
                .iter()
                .flat_map(|t| t.columns.iter())
                .filter(|c| matches(c))
                .collect()
        };
        columns.sort();
        columns.dedup();
        out.extend(columns.into_iter().map(|c| pair(render(c))));
        if !typed_quote {
            // Keywords in the case the user types in.
            let lower = partial.chars().any(|c| c.is_ascii_lowercase());
            out.extend(KEYWORDS.iter().filter(|k| matches(k)).map(|k| {
                pair(if lower {
                    k.to_ascii_lowercase()
                } else {
                    k.to_string()
                })
            }));
        }
        (start, dedup(out))
    }
}

fn pair(s: String) -> Pair {
    Pair {
        display: s.clone(),
        replacement: s,
    }
}

fn dedup(mut pairs: Vec<Pair>) -> Vec<Pair> {
    let mut seen = std::collections::HashSet::new();
    pairs.retain(|p| seen.insert(p.replacement.clone()));
    pairs
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Where the name being typed starts: a dotted reference whose parts may be quoted (an open
/// quote included), or a backslash command.
fn word_start(before: &str) -> usize {
    let mut start: Option<usize> = None;
    let mut in_quote = false;
    let mut in_string = false;
    let mut prev_joins = false;
    let mut chars = before.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_string {
            if c == '\'' {
                in_string = false;
            }
            continue;
        }
        if in_quote {
            if c == '"' {
                if chars.peek().is_some_and(|(_, n)| *n == '"') {
                    chars.next();
                } else {
                    in_quote = false;
                }
            }
            continue;
        }
        match c {
            '"' => {
                if !prev_joins {
                    start = Some(i);
                }
                in_quote = true;
                prev_joins = false;
            }
            '.' => {
                if start.is_none() {
                    start = Some(i);
                }
                prev_joins = true;
            }
            '\\' => {
                start = Some(i);
                prev_joins = true;
            }
            c if is_ident(c) => {
                if start.is_none() {
                    start = Some(i);
                }
                prev_joins = true;
            }
            '\'' => {
                in_string = true;
                start = None;
                prev_joins = false;
            }
            _ => {
                start = None;
                prev_joins = false;
            }
        }
    }
    if in_string {
        return before.len();
    }
    start.unwrap_or(before.len())
}

/// Splits a dotted reference into its complete parts and the part being typed (which keeps
/// an opening quote): `gi."Customer Con` → (`["gi"]`, `"Customer Con`).
fn split_word(word: &str) -> (Vec<String>, &str) {
    let mut parts = Vec::new();
    let mut rest = word;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            // A complete quoted part followed by a dot.
            let mut name = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if chars.peek().is_some_and(|(_, n)| *n == '"') {
                        chars.next();
                        name.push('"');
                        continue;
                    }
                    end = Some(i + 1);
                    break;
                }
                name.push(c);
            }
            match end {
                Some(e) if quoted[e..].starts_with('.') => {
                    parts.push(name);
                    rest = &quoted[e + 1..];
                }
                _ => return (parts, rest),
            }
        } else if let Some((head, tail)) = rest.split_once('.') {
            parts.push(head.to_string());
            rest = tail;
        } else {
            return (parts, rest);
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Dot,
    Comma,
    Other,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut name = String::new();
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            name.push('"');
                            continue;
                        }
                        break;
                    }
                    name.push(c);
                }
                out.push(Token::Quoted(name));
            }
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
                out.push(Token::Other);
            }
            '.' => out.push(Token::Dot),
            ',' => out.push(Token::Comma),
            c if is_ident(c) => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if !is_ident(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
            c if c.is_whitespace() => {}
            _ => out.push(Token::Other),
        }
    }
    out
}

/// The tables a statement reads (`FROM`/`JOIN`, comma lists too) by the name they are used
/// with: `(alias, table parts)`, and `(table, table parts)` for each table itself.
fn aliases(statement: &str) -> Vec<(String, Vec<String>)> {
    let tokens = tokens(statement);
    let mut out = Vec::new();
    let mut i = 0;
    let is_kw = |t: &Token, kw: &str| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(kw));
    while i < tokens.len() {
        if !(is_kw(&tokens[i], "FROM") || is_kw(&tokens[i], "JOIN")) {
            i += 1;
            continue;
        }
        i += 1;
        loop {
            let mut parts = Vec::new();
            while let Some(Token::Word(p) | Token::Quoted(p)) = tokens.get(i) {
                parts.push(p.clone());
                i += 1;
                if tokens.get(i) == Some(&Token::Dot) {
                    i += 1;
                } else {
                    break;
                }
            }
            if parts.is_empty() {
                break;
            }
            if let Some(last) = parts.last() {
                out.push((last.clone(), parts.clone()));
            }
            if tokens.get(i).is_some_and(|t| is_kw(t, "AS")) {
                i += 1;
            }
            match tokens.get(i) {
                Some(Token::Word(a)) if !NOT_ALIASES.iter().any(|k| a.eq_ignore_ascii_case(k)) => {
                    out.push((a.clone(), parts));
                    i += 1;
                }
                Some(Token::Quoted(a)) => {
                    out.push((a.clone(), parts));
                    i += 1;
                }
                _ => {}
            }
            if tokens.get(i) == Some(&Token::Comma) {
                i += 1;
            } else {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::from_lists(&[
            (
                "rest",
                &[
                    ("Customer", &["CustomerID", "CustomerName", "Status"]),
                    ("SalesOrder", &["OrderNbr", "OrderType", "Status"]),
                    ("SalesOrder_Details", &["OrderNbr", "InventoryID"]),
                ],
            ),
            (
                "gi",
                &[
                    ("Customer Contacts", &["ContactID", "Email"]),
                    ("CustomerBalance", &["Balance"]),
                ],
            ),
            ("dac", &[("SOOrder", &["OrderNbr", "CuryOrderTotal"])]),
        ])
    }

    fn complete(line: &str) -> Vec<String> {
        complete_in(line, line)
    }

    /// With the cursor after `before`, in `statement`.
    fn complete_in(before: &str, statement: &str) -> Vec<String> {
        names()
            .complete(before, statement)
            .1
            .into_iter()
            .map(|p| p.replacement)
            .collect()
    }

    #[test]
    fn after_a_schema_only_its_tables() {
        assert_eq!(
            complete("SELECT * FROM gi."),
            ["gi.\"Customer Contacts\"", "gi.CustomerBalance"]
        );
        assert_eq!(
            complete("select * from gi.customerb"),
            ["gi.CustomerBalance"]
        );
        assert_eq!(
            complete("SELECT * FROM gi.\"Cust"),
            ["gi.\"Customer Contacts\"", "gi.\"CustomerBalance\""]
        );
        assert_eq!(complete("SELECT * FROM dac."), ["dac.SOOrder"]);
        let (start, _) = names().complete("SELECT * FROM gi.Cu", "");
        assert_eq!(start, "SELECT * FROM ".len());
    }

    #[test]
    fn after_an_alias_or_a_table_only_its_columns() {
        assert_eq!(
            complete_in("SELECT c.Cu", "SELECT c.Cu FROM Customer c"),
            ["c.CustomerID", "c.CustomerName"]
        );
        assert_eq!(
            complete("SELECT * FROM SalesOrder AS o JOIN Customer c ON c.CustomerID = o."),
            ["o.OrderNbr", "o.OrderType", "o.Status"]
        );
        assert_eq!(
            complete_in("SELECT x.", "SELECT x. FROM gi.\"Customer Contacts\" x"),
            ["x.ContactID", "x.Email"]
        );
        assert_eq!(complete("SELECT Customer.St"), ["Customer.Status"]);
        assert_eq!(
            complete("SELECT gi.CustomerBalance.B"),
            ["gi.CustomerBalance.Balance"]
        );
        // The alias of an earlier line of the statement.
        assert_eq!(
            complete_in("WHERE o.Ord", "SELECT *\nFROM SalesOrder o\nWHERE o.Ord"),
            ["o.OrderNbr", "o.OrderType"]
        );
    }

    #[test]
    fn plain_words_tables_columns_and_keywords() {
        assert_eq!(
            complete("SELECT * FROM Sales"),
            ["SalesOrder", "SalesOrder_Details"]
        );
        assert_eq!(complete("SEL"), ["SELECT"]);
        assert_eq!(complete("sel"), ["select"]);
        assert_eq!(complete("g"), ["gi", "group"]);
        // Columns of the statement's table only.
        assert_eq!(
            complete_in("SELECT Inv", "SELECT Inv FROM SalesOrder_Details"),
            ["InventoryID"]
        );
        assert_eq!(complete("\\ti"), ["\\timing"]);
        assert_eq!(complete("\\d"), ["\\dt", "\\d", "\\d+", "\\dn"]);
        assert!(complete("SELECT 'Cust").is_empty());
    }

    #[test]
    fn where_a_table_goes_only_tables_and_schemas() {
        assert_eq!(
            complete("SELECT * FROM "),
            [
                "Customer",
                "SalesOrder",
                "SalesOrder_Details",
                "rest",
                "gi",
                "dac"
            ]
        );
        assert_eq!(complete("\\d S"), ["SalesOrder", "SalesOrder_Details"]);
        assert_eq!(
            complete("select * from s"),
            ["SalesOrder", "SalesOrder_Details"]
        );
        assert!(complete("SELECT ").is_empty());
    }

    #[test]
    fn aliases_of_a_statement() {
        let a = aliases(
            "SELECT * FROM Customer c, gi.\"Customer Contacts\" AS cc LEFT JOIN SalesOrder ON x WHERE 1",
        );
        let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Customer", "c", "Customer Contacts", "cc", "SalesOrder"]
        );
    }
}
