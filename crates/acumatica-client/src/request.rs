//! Contract-based REST list requests: `$filter`, `$select`, `$expand`, `$custom`, `$top`, `$skip`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// One list request on an entity. `to_query_string` is what EXPLAIN shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestQuery {
    pub entity: String,
    pub filter: Option<String>,
    pub select: Vec<String>,
    pub expand: Vec<String>,
    pub custom: Vec<String>,
    pub top: Option<u64>,
    pub skip: Option<u64>,
}

/// Left as they are in a query value (and the entity's path); all else is percent-encoded.
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b',')
    .remove(b'/')
    .remove(b'$')
    .remove(b'(')
    .remove(b')');

/// Left as they are in a key's path segment: a key may hold `/`, `?` or `#`, each encoded so
/// it stays one segment.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(out: &mut String, s: &str) {
    out.extend(utf8_percent_encode(s, QUERY_VALUE));
}

impl RestQuery {
    pub fn new(entity: impl Into<String>) -> Self {
        Self {
            entity: entity.into(),
            ..Self::default()
        }
    }

    pub fn filter(mut self, f: impl Into<String>) -> Self {
        self.filter = Some(f.into());
        self
    }

    pub fn select<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> Self {
        self.select = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn expand<I: IntoIterator<Item = S>, S: Into<String>>(mut self, e: I) -> Self {
        self.expand = e.into_iter().map(Into::into).collect();
        self
    }

    pub fn top(mut self, n: u64) -> Self {
        self.top = Some(n);
        self
    }

    pub fn skip(mut self, n: u64) -> Self {
        self.skip = Some(n);
        self
    }

    /// The percent-encoded query string (without `?`), options in a fixed order.
    pub fn to_query_string(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |name: &str, value: &str| {
            let mut s = format!("{name}=");
            encode(&mut s, value);
            parts.push(s);
        };
        if let Some(f) = &self.filter {
            push("$filter", f);
        }
        if !self.select.is_empty() {
            push("$select", &self.select.join(","));
        }
        if !self.expand.is_empty() {
            push("$expand", &self.expand.join(","));
        }
        if !self.custom.is_empty() {
            push("$custom", &self.custom.join(","));
        }
        if let Some(n) = self.skip {
            push("$skip", &n.to_string());
        }
        if let Some(n) = self.top {
            push("$top", &n.to_string());
        }
        parts.join("&")
    }

    /// `<entity>/<key1>/<key2>?<query>` relative to the endpoint URL (get by keys; a single
    /// GUID key gets the record by its id). `$top`, `$skip` and `$filter` do not apply.
    pub fn render_keys_path(&self, keys: &[&str]) -> String {
        let mut path = String::new();
        encode(&mut path, &self.entity);
        for k in keys {
            path.push('/');
            path.extend(utf8_percent_encode(k, KEY_SEGMENT));
        }
        let q = Self {
            filter: None,
            top: None,
            skip: None,
            ..self.clone()
        }
        .to_query_string();
        if q.is_empty() {
            path
        } else {
            format!("{path}?{q}")
        }
    }

    /// `<entity>?<query>` relative to the endpoint URL.
    pub fn render_path(&self) -> String {
        let q = self.to_query_string();
        let mut path = String::new();
        encode(&mut path, &self.entity);
        if q.is_empty() {
            path
        } else {
            format!("{path}?{q}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_one_segment_and_non_ascii_is_utf8_encoded() {
        let q = RestQuery::new("SalesOrder").expand(["Details"]);
        assert_eq!(
            q.render_keys_path(&["SO", "a/b?c#d é(1)"]),
            "SalesOrder/SO/a%2Fb%3Fc%23d%20%C3%A9%281%29?$expand=Details"
        );
        let q = RestQuery::new("Customer").filter("Name eq 'Zoë ~_.-$()'");
        assert_eq!(
            q.render_path(),
            "Customer?$filter=Name%20eq%20%27Zo%C3%AB%20~_.-$()%27"
        );
    }

    #[test]
    fn encodes_literals_so_they_cannot_break_the_url() {
        let q = RestQuery::new("Customer")
            .filter("CustomerName eq 'A&B #1' and Total gt 5.5M")
            .select(["CustomerID", "MainContact/Email"])
            .skip(10)
            .top(5);
        assert_eq!(
            q.render_path(),
            "Customer?$filter=CustomerName%20eq%20%27A%26B%20%231%27%20and%20Total%20gt%205.5M&$select=CustomerID,MainContact/Email&$skip=10&$top=5"
        );
    }
}
