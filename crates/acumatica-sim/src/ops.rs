//! Long-running operations and attachments: actions (`POST <Entity>/<Action>` → 202 +
//! `Location`, polled until 204), reports of the `Report` endpoint (202, then the file), and
//! files attached to records (`PUT …/files/<name>`, `GET <base>/files/<id>`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::data::{guid_from, mix};

/// How long an action or a report runs before its status turns to done.
pub const RUN_TIME: Duration = Duration::from_millis(100);

/// A file's largest size, and all files' together (the simulator keeps them in memory).
pub const MAX_FILE: usize = 16 << 20;
pub const MAX_FILES_TOTAL: usize = 256 << 20;

/// Workflow actions a screen may define beyond the contract's own (the generic
/// `{E}_InvokeAction_CustomAction` of the swagger): accepted on every entity.
pub const WORKFLOW_ACTIONS: &[&str] = &[
    "Approve",
    "Reject",
    "Release",
    "Activate",
    "Complete",
    "Close",
    "Hold",
    "RemoveHold",
    "PutOnHold",
    "ReleaseFromHold",
    "Open",
    "Reopen",
    "Cancel",
    "Void",
    "Suspend",
    "Validate",
];

/// The status an action leaves a document in (entity-independent names).
pub fn status_after(action: &str) -> Option<&'static str> {
    let a = action.to_ascii_lowercase();
    Some(match a.as_str() {
        "cancelsalesorder" | "cancel" => "Canceled",
        "reopensalesorder"
        | "opensalesorder"
        | "open"
        | "reopen"
        | "removehold"
        | "releasefromhold"
        | "releasefromcreditholdsalesorder" => "Open",
        "hold" | "putonhold" => "On Hold",
        "voidpayment" | "voidcardpayment" | "void" => "Voided",
        "complete" | "close" => "Closed",
        "approve" | "activate" => "Active",
        _ if a.starts_with("release") => "Open",
        _ => return None,
    })
}

#[derive(Debug)]
struct Running {
    done_at: Instant,
    /// `Location` of the finished operation: the processed entity, or the report file.
    result: Option<String>,
}

/// A stored attachment.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: String,
    /// The record it is attached to.
    pub record_id: String,
    /// As Acumatica shows it: `<Screen title> (<keys>)\<name>`.
    pub filename: String,
    pub comment: Option<String>,
    pub bytes: Vec<u8>,
}

/// Why an attachment was refused.
#[derive(Debug)]
pub enum FileError {
    TooLarge,
}

#[derive(Debug, Default)]
pub struct Operations {
    running: Mutex<HashMap<String, Running>>,
    files: Mutex<Vec<StoredFile>>,
    counter: AtomicU64,
    seed: u64,
}

/// The state of a polled operation.
pub enum Poll {
    Running,
    Done(Option<String>),
    Unknown,
}

impl Operations {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            ..Default::default()
        }
    }

    fn guid(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        guid_from(mix(self.seed ^ 0x0b5 ^ n), mix(n ^ 0x5e1f))
    }

    /// Starts an operation; returns its id.
    pub fn start(&self, result: Option<String>) -> String {
        let id = self.guid();
        if let Ok(mut r) = self.running.lock() {
            // Finished operations are forgotten after a while, like the server's cache.
            let horizon = Instant::now() - Duration::from_secs(600);
            r.retain(|_, x| x.done_at > horizon);
            r.insert(
                id.clone(),
                Running {
                    done_at: Instant::now() + RUN_TIME,
                    result,
                },
            );
        }
        id
    }

    pub fn poll(&self, id: &str) -> Poll {
        let Ok(r) = self.running.lock() else {
            return Poll::Unknown;
        };
        match r.get(&id.to_ascii_lowercase()) {
            None => Poll::Unknown,
            Some(x) if Instant::now() < x.done_at => Poll::Running,
            Some(x) => Poll::Done(x.result.clone()),
        }
    }

    /// Attaches (or replaces, same name on the same record) a file; returns its id.
    pub fn attach(
        &self,
        record_id: &str,
        filename: String,
        comment: Option<String>,
        bytes: Vec<u8>,
    ) -> Result<String, FileError> {
        if bytes.len() > MAX_FILE {
            return Err(FileError::TooLarge);
        }
        let mut files = self.files.lock().map_err(|_| FileError::TooLarge)?;
        let total: usize = files.iter().map(|f| f.bytes.len()).sum();
        if let Some(f) = files
            .iter_mut()
            .find(|f| f.record_id == record_id && f.filename == filename)
        {
            if total - f.bytes.len() + bytes.len() > MAX_FILES_TOTAL {
                return Err(FileError::TooLarge);
            }
            f.bytes = bytes;
            if comment.is_some() {
                f.comment = comment;
            }
            return Ok(f.id.clone());
        }
        if total + bytes.len() > MAX_FILES_TOTAL {
            return Err(FileError::TooLarge);
        }
        let id = self.guid();
        files.push(StoredFile {
            id: id.clone(),
            record_id: record_id.to_string(),
            filename,
            comment,
            bytes,
        });
        Ok(id)
    }

    pub fn file(&self, id: &str) -> Option<StoredFile> {
        let files = self.files.lock().ok()?;
        files
            .iter()
            .find(|f| f.id.eq_ignore_ascii_case(id))
            .cloned()
    }

    /// The `files` array of a record, as JSON.
    pub fn files_json(&self, record_id: &str, base: &str) -> String {
        let mut out = String::from("[");
        if let Ok(files) = self.files.lock() {
            for (i, f) in files
                .iter()
                .filter(|f| f.record_id == record_id)
                .enumerate()
            {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{{\"id\":\"{}\",\"filename\":", f.id));
                crate::json::escape_into(&mut out, &f.filename);
                out.push_str(&format!(",\"href\":\"{base}files/{}\"", f.id));
                if let Some(c) = &f.comment {
                    out.push_str(",\"comment\":");
                    crate::json::escape_into(&mut out, c);
                }
                out.push('}');
            }
        }
        out.push(']');
        out
    }
}

/// A file's content type, from its name.
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// Reports the `Report` endpoint serves (a custom endpoint on real instances).
pub const REPORTS: &[(&str, &str)] = &[
    ("CashAccountSummary", "Cash Account Summary"),
    ("CustomerBalanceSummary", "Customer Balance Summary"),
    ("TrialBalance", "Trial Balance"),
    ("SalesOrderSummary", "Sales Order Summary"),
];

/// A one-page PDF whose text lines are `lines` (a real, valid PDF file).
pub fn pdf(lines: &[String]) -> Vec<u8> {
    let mut text = String::from("BT /F1 12 Tf 50 780 Td 14 TL\n");
    for l in lines {
        let safe: String = l
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .flat_map(|c| match c {
                '(' | ')' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        text.push_str(&format!("({safe}) Tj T*\n"));
    }
    text.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_run_then_finish_and_files_replace_by_name() {
        let ops = Operations::new(1);
        let id = ops.start(Some("/x".into()));
        assert!(matches!(ops.poll(&id), Poll::Running));
        std::thread::sleep(RUN_TIME + Duration::from_millis(20));
        assert!(matches!(ops.poll(&id), Poll::Done(Some(_))));
        assert!(matches!(ops.poll("nope"), Poll::Unknown));
        let a = ops
            .attach("r", "n.jpg".into(), None, b"1".to_vec())
            .unwrap();
        let b = ops
            .attach("r", "n.jpg".into(), Some("c".into()), b"22".to_vec())
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(ops.file(&a).unwrap().bytes, b"22");
        assert!(ops.files_json("r", "/e/").contains("\"comment\":\"c\""));
        assert!(
            ops.attach("r", "big".into(), None, vec![0; MAX_FILE + 1])
                .is_err()
        );
        let p = pdf(&["Hello (world)".into()]);
        assert!(p.starts_with(b"%PDF-1.4") && p.ends_with(b"%%EOF\n"));
    }
}
