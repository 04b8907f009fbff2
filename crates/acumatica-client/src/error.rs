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
    /// Acumatica refused a record it was sent (422): the entity's message and each field's
    /// error, as the echoed entity carries them.
    #[error("{}", crate::write::invalid_text(message.as_deref(), fields))]
    Invalid {
        message: Option<String>,
        fields: Vec<crate::write::FieldError>,
    },
    /// A write's precondition failed (412): the record exists (insert) or is gone (update).
    #[error("Acumatica returned 412: {0}")]
    Precondition(&'static str),
    /// The request did not complete (connection refused, reset, timeout).
    #[error("cannot reach {url}: {reason}")]
    Transport { url: String, reason: String },
    /// The connection was closed while a request waited for its turn.
    #[error("the connection is closed")]
    Closed,
    /// A page requested ahead of need never arrived (its task failed or was cancelled).
    #[error("the page read ahead did not complete: {0}")]
    ReadAhead(String),
    /// The server answered with success but not with the JSON the request asks for (an HTML
    /// page, a list that is not an array).
    #[error("the server's answer is not the JSON expected: {0}")]
    BadJson(String),
}

fn server_text(status: u16, message: &str, exception: Option<&str>) -> String {
    match exception {
        Some(e) if !e.is_empty() => format!("Acumatica returned {status}: {e}"),
        _ => format!("Acumatica returned {status}: {message}"),
    }
}

impl Error {
    /// The server does not know a field or an entity the request names: the schema the
    /// request was planned with (a cached `swagger.json` or `$metadata`) is older than the
    /// server's. Reading the metadata again may make the statement plannable as the server is
    /// now; retrying the same request cannot help.
    ///
    /// Recognised: the contract API's `The field 'X' is not found in the entity 'E'.` (500,
    /// `ODataException`), the OData feeds' `Could not find a property named 'X' on type 'T'.`
    /// (400), and a 404 naming no HTTP resource for a request to a known site (an entity gone
    /// from the endpoint).
    pub fn is_unknown_to_server(&self) -> bool {
        let Self::Server {
            status,
            message,
            exception_message,
            ..
        } = self
        else {
            return false;
        };
        let text = exception_message.as_deref().unwrap_or(message);
        match status {
            500 => text.contains("is not found in the entity"),
            400 => text.starts_with("Could not find a property named"),
            404 => text.starts_with("No HTTP resource was found that matches the request URI"),
            _ => false,
        }
    }

    /// Reads an ASP.NET `HttpError` body, an OData error (`{"error":{"code","message"}}`, v3:
    /// `{"odata.error":{…,"message":{"value"}}}`) or any text into a readable error.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        if let Some(message) = odata_error_message(body) {
            return Self::Server {
                status,
                message,
                exception_message: None,
                exception_type: None,
            };
        }
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
        let line = page_line(body);
        Self::Server {
            status,
            message: if line.is_empty() {
                "no details".into()
            } else {
                line
            },
            exception_message: None,
            exception_type: None,
        }
    }
}

/// The message of an OData error envelope, if `body` is one.
fn odata_error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error").or_else(|| v.get("odata.error"))?;
    let m = e.get("message")?;
    m.as_str()
        .or_else(|| m.get("value").and_then(serde_json::Value::as_str))
        .map(str::to_string)
}

/// The longest error text kept from a page (a proxy's page can be kilobytes of markup).
const MAX_LINE: usize = 200;

/// One readable line from an error page (HTML or plain text): its `<title>`, else its first
/// heading, else its visible text; scripts, styles and comments dropped, common entities
/// decoded, whitespace collapsed, at most [`MAX_LINE`] characters.
pub(crate) fn page_line(body: &[u8]) -> String {
    // The title and headings are near the top; a huge page is not worth reading whole.
    let html = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let lower = html.to_ascii_lowercase();
    let title = element_at(&html, &lower, "title").map(|(_, inner)| visible_text(inner));
    let first_heading = || {
        ["h1", "h2", "h3", "h4", "h5", "h6"]
            .iter()
            .filter_map(|tag| element_at(&html, &lower, tag))
            .map(|(start, inner)| (start, visible_text(inner)))
            .filter(|(_, t)| !t.is_empty())
            .min_by_key(|(start, _)| *start)
            .map(|(_, t)| t)
    };
    let line = title
        .filter(|t| !t.is_empty())
        .or_else(first_heading)
        .unwrap_or_else(|| visible_text(&html));
    match line.char_indices().nth(MAX_LINE) {
        None => line,
        Some((end, _)) => format!("{}…", line[..end].trim_end()),
    }
}

/// Where the first `<tag …>` starts and its inner markup up to `</tag` (`lower` is `html` in
/// ASCII lower case, so byte offsets agree).
fn element_at<'a>(html: &'a str, lower: &str, tag: &str) -> Option<(usize, &'a str)> {
    let open = format!("<{tag}");
    let mut from = 0;
    let start = loop {
        let i = from + lower[from..].find(&open)?;
        let after = lower[i + open.len()..].chars().next()?;
        if after == '>' || after.is_ascii_whitespace() {
            break i;
        }
        from = i + open.len();
    };
    let inner_start = start + lower[start..].find('>')? + 1;
    let inner_end = inner_start + lower[inner_start..].find(&format!("</{tag}"))?;
    Some((start, &html[inner_start..inner_end]))
}

/// The text a browser would show: tags dropped, `<script>`/`<style>` contents and comments
/// skipped, entities decoded, whitespace collapsed.
fn visible_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut text = String::with_capacity(html.len().min(4096));
    let mut i = 0;
    while i < html.len() {
        let rest = &lower[i..];
        if !rest.starts_with('<') {
            let next = rest.find('<').map_or(html.len(), |n| i + n);
            text.push_str(&html[i..next]);
            // A word per tag boundary: `<td>a</td><td>b</td>` reads "a b".
            text.push(' ');
            i = next;
            continue;
        }
        let skip_to = |end: &str| rest.find(end).map_or(html.len(), |n| i + n + end.len());
        i = if rest.starts_with("<!--") {
            skip_to("-->")
        } else if rest.starts_with("<script") {
            skip_to("</script>")
        } else if rest.starts_with("<style") {
            skip_to("</style>")
        } else {
            skip_to(">")
        };
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

    #[test]
    fn odata_errors_keep_their_message_and_unknown_names_are_recognised() {
        let e = Error::from_response(
            400,
            br#"{"error":{"code":"BadRequest","message":"Could not find a property named 'Phone' on type 'GI.Row'."}}"#,
        );
        assert_eq!(
            e.to_string(),
            "Acumatica returned 400: Could not find a property named 'Phone' on type 'GI.Row'."
        );
        assert!(e.is_unknown_to_server());
        let v3 = Error::from_response(
            400,
            br#"{"odata.error":{"code":"","message":{"lang":"en-US","value":"Could not find a property named 'X' on type 'GI.Row'."}}}"#,
        );
        assert!(v3.is_unknown_to_server(), "{v3}");
        let rest = Error::from_response(
            500,
            br#"{"message":"An error has occurred.","exceptionMessage":"The field 'Email' is not found in the entity 'Customer'.","exceptionType":"PX.Api.ContractBased.ODataException"}"#,
        );
        assert!(rest.is_unknown_to_server());
        let gone = Error::from_response(
            404,
            br#"{"message":"No HTTP resource was found that matches the request URI '/entity/Default/24.200.001/Lead'."}"#,
        );
        assert!(gone.is_unknown_to_server());
        for other in [
            Error::from_response(
                500,
                br#"{"message":"An error has occurred.","exceptionMessage":"No entity satisfies the condition.","exceptionType":"X"}"#,
            ),
            Error::from_response(404, br#"{"message":"The record to update is not found."}"#),
            Error::from_response(503, b"<title>Down</title>"),
            Error::Auth("no".into()),
        ] {
            assert!(!other.is_unknown_to_server(), "{other}");
        }
    }

    /// IIS in front of Acumatica while the application pool restarts: an ASP.NET error page
    /// with a style sheet, a script and several headings.
    const IIS_503: &str = r#"<!DOCTYPE html>
<html>
    <head>
        <title>The service is unavailable.</title>
        <meta name="viewport" content="width=device-width" />
        <style>
         body {font-family:"Verdana";font-weight:normal;font-size: .7em;color:black;}
         p {font-family:"Verdana";font-weight:normal;color:black;margin-top: -5px}
         H1 { font-family:"Verdana";font-weight:normal;font-size:18pt;color:red }
         pre {font-family:"Consolas","Lucida Console",Monospace;font-size:11pt;margin:0;padding:0.5em;line-height:14pt}
        </style>
        <script type="text/javascript">window.onload = function () { document.title += ' (503)'; };</script>
    </head>
    <body bgcolor="white">
            <span><H1>Server Error in '/AcumaticaERP' Application.<hr width=100% size=1 color=silver></H1>
            <h2> <i>The service is unavailable.</i> </h2></span>
            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">
            <b> Description: </b>HTTP 503. The service requested is currently unavailable.
            <br><br>
            <hr width=100% size=1 color=silver>
            <b>Version Information:</b>&nbsp;Microsoft .NET Framework Version:4.0.30319; ASP.NET Version:4.8.4645.0
            </font>
    </body>
</html>
<!--
[HttpException]: The service is unavailable.
   at System.Web.HttpRuntime.RejectRequestNow(HttpWorkerRequest wr, Boolean silent)
-->"#;

    const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n\
        </body>\r\n</html>\r\n\
        <!-- a padding to disable MSIE and Chrome friendly error page -->\r\n\
        <!-- a padding to disable MSIE and Chrome friendly error page -->\r\n";

    #[test]
    fn html_error_pages_read_as_one_clean_line() {
        let e = Error::from_response(503, IIS_503.as_bytes());
        assert_eq!(
            e.to_string(),
            "Acumatica returned 503: The service is unavailable."
        );
        let e = Error::from_response(502, NGINX_502.as_bytes());
        assert_eq!(e.to_string(), "Acumatica returned 502: 502 Bad Gateway");
        // Without a title: the first heading, whatever its level.
        let page = "<html><head><style>h2{color:red}</style></head><body>\
            <h2>Service &amp; Maintenance</h2><h1>Later</h1><p>Back soon</p></body></html>";
        assert_eq!(page_line(page.as_bytes()), "Service & Maintenance");
        // Without a title or heading: the visible text, scripts and comments left out.
        let page = "<html><body><script>var x = '<p>no</p>';</script><!-- hidden -->\
            <p>Try   again\n later.</p><p>Thanks</p></body></html>";
        assert_eq!(page_line(page.as_bytes()), "Try again later. Thanks");
        // An empty title does not hide the heading.
        assert_eq!(page_line(b"<title> </title><H1 class=x>Down</H1>"), "Down");
    }

    #[test]
    fn long_pages_are_cut_to_one_short_line() {
        let page = format!("<html><body><p>{}</p></body></html>", "word ".repeat(1000));
        let line = page_line(page.as_bytes());
        assert!(line.chars().count() <= MAX_LINE + 1, "{line}");
        assert!(line.ends_with('…'), "{line}");
        assert!(!line.contains('\n'));
        let e = Error::from_response(500, "plain\n\ntext   body".as_bytes());
        assert_eq!(e.to_string(), "Acumatica returned 500: plain text body");
        let e = Error::from_response(503, b"");
        assert_eq!(e.to_string(), "Acumatica returned 503: no details");
    }
}
