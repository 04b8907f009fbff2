//! Errors a caller can act on. Messages never contain a secret.

/// What went wrong talking to Acumatica.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is incomplete or wrong (one line saying what to fix).
    #[error("configuration: {0}")]
    Config(String),
    /// Sign-in was refused.
    #[error("sign-in failed: {0}")]
    Auth(String),
    /// The licence's limit of concurrent API sessions is reached.
    #[error(
        "sign-in refused by the licence (API Login Limit): sign out other API sessions or wait for them to expire (10 minutes)"
    )]
    LoginLimit,
    /// The server kept answering 429 after every retry.
    #[error("rate limited by the server (429) after {retries} retries")]
    RateLimited { retries: u32 },
    /// Acumatica answered with an error.
    #[error("{}", server_text(*status, message, exception_message.as_deref()))]
    Server {
        status: u16,
        message: String,
        exception_message: Option<String>,
        exception_type: Option<String>,
    },
    /// The request did not complete (connection refused, reset, timeout).
    #[error("cannot reach {url}: {reason}")]
    Transport { url: String, reason: String },
}

fn server_text(status: u16, message: &str, exception: Option<&str>) -> String {
    match exception {
        Some(e) if !e.is_empty() => format!("Acumatica returned {status}: {e}"),
        _ => format!("Acumatica returned {status}: {message}"),
    }
}

impl Error {
    /// Reads an ASP.NET `HttpError` body (or any text) into a readable error.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct HttpError {
            message: Option<String>,
            exception_message: Option<String>,
            exception_type: Option<String>,
            model_state: Option<std::collections::BTreeMap<String, Vec<String>>>,
        }
        if let Ok(e) = serde_json::from_slice::<HttpError>(body) {
            let mut message = e.message.unwrap_or_else(|| "error".into());
            if let Some(ms) = e.model_state {
                let details: Vec<String> = ms.into_values().flatten().collect();
                if !details.is_empty() {
                    message = format!("{message} {}", details.join(" "));
                }
            }
            return Self::Server {
                status,
                message,
                exception_message: e.exception_message,
                exception_type: e.exception_type,
            };
        }
        let text = String::from_utf8_lossy(body);
        // HTML error pages: keep the text, drop the tags.
        let mut plain = String::new();
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => plain.push(c),
                _ => {}
            }
        }
        let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        Self::Server {
            status,
            message: if plain.is_empty() {
                "no details".into()
            } else {
                plain.chars().take(300).collect()
            },
            exception_message: None,
            exception_type: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_http_error_bodies_without_stack_traces() {
        let e = Error::from_response(
            500,
            br#"{"message":"An error has occurred.","exceptionMessage":"No entity satisfies the condition.","exceptionType":"X","stackTrace":"   at A.B()"}"#,
        );
        let s = e.to_string();
        assert_eq!(
            s,
            "Acumatica returned 500: No entity satisfies the condition."
        );
        let e = Error::from_response(400, br#"{"message":"The request is invalid.","modelState":{"":["The request body should not be empty."]}}"#);
        assert!(e.to_string().contains("should not be empty"));
        let e = Error::from_response(502, b"<html><body><h1>Bad gateway</h1></body></html>");
        assert_eq!(e.to_string(), "Acumatica returned 502: Bad gateway");
    }
}
