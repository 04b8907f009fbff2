//! The loopback receiver of the browser sign-in: a tiny HTTP/1.1 server on `CallbackURL`
//! that takes the redirect's code (query) or token (fragment, posted back by our page).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Error;

const DONE_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>acusql</title></head><body><p>Signed in. You can close this window and return to acusql.</p></body></html>";

/// Reads the fragment (`#access_token=…`) in the browser and posts it back to us.
const FRAGMENT_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>acusql</title></head><body><p id=\"m\">Finishing sign-in…</p><script>fetch(location.pathname,{method:'POST',headers:{'Content-Type':'application/x-www-form-urlencoded'},body:location.hash.substring(1)}).then(function(){document.getElementById('m').textContent='Signed in. You can close this window and return to acusql.';});</script></body></html>";

/// Serves the loopback callback until it gets the redirect's parameters.
pub(super) async fn wait_for_redirect(
    listener: &tokio::net::TcpListener,
    path: &str,
    implicit: bool,
) -> Result<std::collections::HashMap<String, String>, Error> {
    loop {
        let (mut sock, _) = listener
            .accept()
            .await
            .map_err(|e| Error::Auth(format!("callback listener failed: {e}")))?;
        let Ok((method, target, body)) = read_request(&mut sock).await else {
            continue;
        };
        let (req_path, query) = target.split_once('?').unwrap_or((&target, ""));
        let respond = |status: &str, page: &str| {
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
                page.len()
            )
        };
        if req_path != path {
            let _ = sock
                .write_all(respond("404 Not Found", "").as_bytes())
                .await;
            continue;
        }
        let form = |s: &str| -> std::collections::HashMap<String, String> {
            url::form_urlencoded::parse(s.as_bytes())
                .into_owned()
                .collect()
        };
        let params = if method == "POST" {
            form(&body)
        } else {
            form(query)
        };
        let has_answer = params.contains_key("code")
            || params.contains_key("access_token")
            || params.contains_key("error");
        if !has_answer && implicit && method == "GET" {
            let _ = sock
                .write_all(respond("200 OK", FRAGMENT_PAGE).as_bytes())
                .await;
            continue;
        }
        let _ = sock
            .write_all(respond("200 OK", DONE_PAGE).as_bytes())
            .await;
        if has_answer {
            return Ok(params);
        }
    }
}

/// A minimal HTTP/1.1 request reader for the loopback callback (one request per connection).
async fn read_request(
    sock: &mut tokio::net::TcpStream,
) -> std::io::Result<(String, String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    while buf.len() < header_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = (header_end + length).min(buf.len());
    let body = String::from_utf8_lossy(&buf[header_end..end]).to_string();
    Ok((method, target, body))
}
