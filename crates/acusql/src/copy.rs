//! `COPY … TO` in the shell: an existing file is not replaced unless asked for (the statement's
//! `OVERWRITE` option, or `\overwrite on`), and the shell says how many rows it wrote.

use std::path::Path;

use anyhow::{Result, bail};
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::Value;

/// The option that allows replacing an existing file (ours: DataFusion does not know it).
const OVERWRITE: &str = "overwrite";

/// For a `COPY … TO` statement: takes the `OVERWRITE` option out of it and refuses a target
/// that exists unless overwriting is allowed (by the option or `overwrite_setting`). Returns
/// the target, or `None` for any other statement.
pub fn prepare(statement: &mut Statement, overwrite_setting: bool) -> Result<Option<String>> {
    let Statement::CopyTo(copy) = statement else {
        return Ok(None);
    };
    let mut overwrite = overwrite_setting;
    let mut options = Vec::with_capacity(copy.options.len());
    for (key, value) in std::mem::take(&mut copy.options) {
        if key.eq_ignore_ascii_case(OVERWRITE) {
            overwrite = flag(&value)?;
        } else {
            options.push((key, value));
        }
    }
    copy.options = options;
    let target = copy.target.clone();
    let local = target.strip_prefix("file://").unwrap_or(&target);
    if target.contains("://") && !target.starts_with("file://") {
        // Not a local path: the object store decides.
        return Ok(Some(target));
    }
    let path = Path::new(local);
    if path.is_dir() {
        let empty = std::fs::read_dir(path)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            bail!(
                "COPY: {local} is a directory that is not empty; COPY adds files to a directory and never removes any: choose a new or empty one"
            );
        }
    } else if path.exists() && !overwrite {
        bail!(
            "COPY: {local} already exists; add OPTIONS (OVERWRITE true) to replace it, or \\overwrite on for this session"
        );
    }
    Ok(Some(target))
}

fn flag(value: &Value) -> Result<bool> {
    let text = match value {
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
        Value::Number(n, _) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" => Ok(true),
        "false" | "off" | "0" => Ok(false),
        other => bail!("COPY: OVERWRITE is true or false, not {other:?}"),
    }
}

/// "Wrote 1 row to …" / "Wrote 42 rows to …".
pub fn wrote(rows: u64, target: &str) -> String {
    let noun = if rows == 1 { "row" } else { "rows" };
    format!("Wrote {rows} {noun} to {target}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::parser::DFParser;

    fn statement(sql: &str) -> Statement {
        DFParser::parse_sql(sql)
            .unwrap()
            .pop_front()
            .expect("one statement")
    }

    #[test]
    fn an_existing_file_is_kept_unless_overwrite_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.csv");
        let copy = |options: &str| {
            format!(
                "COPY (SELECT 1) TO '{}' STORED AS CSV {options}",
                file.display()
            )
        };
        // A new file: fine, and no option left for DataFusion to reject.
        let mut s = statement(&copy("OPTIONS (OVERWRITE true, 'format.has_header' false)"));
        assert!(prepare(&mut s, false).unwrap().is_some());
        let Statement::CopyTo(c) = &s else {
            unreachable!()
        };
        assert_eq!(c.options.len(), 1);
        std::fs::write(&file, "a\n").unwrap();
        let e = prepare(&mut statement(&copy("")), false).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert!(e.to_string().contains("OVERWRITE"), "{e}");
        assert!(prepare(&mut statement(&copy("OPTIONS (overwrite 'true')")), false).is_ok());
        assert!(prepare(&mut statement(&copy("")), true).is_ok());
        assert!(prepare(&mut statement(&copy("OPTIONS (OVERWRITE false)")), true).is_err());
        assert!(prepare(&mut statement(&copy("OPTIONS (OVERWRITE maybe)")), true).is_err());
        // A directory with files in it is never written into.
        let e = prepare(
            &mut statement(&format!(
                "COPY (SELECT 1) TO '{}' STORED AS CSV",
                dir.path().display()
            )),
            true,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        assert!(
            prepare(&mut statement("SELECT 1"), false)
                .unwrap()
                .is_none()
        );
    }
}
