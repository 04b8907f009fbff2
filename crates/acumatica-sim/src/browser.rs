//! A scripted person at a browser, for tests and demos of the OAuth browser flows: opens the
//! simulator's sign-in page, fills in the form and returns where the browser is sent next.

/// What the browser ends up with after submitting the sign-in form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A redirect to the client (`Location`: the code in the query or the token in the fragment).
    Redirect(String),
    /// The sign-in page again (e.g. "Invalid credentials"), as HTML.
    Page(String),
}

/// The value of the hidden form field `name` in the sign-in page.
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Opens `authorize_url` (an `/identity/connect/authorize?…` URL), signs in as `user` and
/// consents. Redirects are not followed.
pub async fn sign_in(authorize_url: &str, user: &str, password: &str) -> Result<SignIn, String> {
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let page = b
        .get(authorize_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !page.status().is_success() {
        return Err(format!("the sign-in page answered {}", page.status()));
    }
    let html = page.text().await.map_err(|e| e.to_string())?;
    let mut form: Vec<(String, String)> = crate::oauth::PASSED_ON
        .iter()
        .filter_map(|k| form_field(&html, k).map(|v| (k.to_string(), v)))
        .collect();
    form.push(("username".into(), user.into()));
    form.push(("password".into(), password.into()));
    form.push(("consent".into(), "allow".into()));
    let action = url::Url::parse(authorize_url)
        .and_then(|u| u.join("/identity/connect/authorize"))
        .map_err(|e| e.to_string())?;
    let r = b
        .post(action)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match r.status().as_u16() {
        302 | 303 => r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| SignIn::Redirect(l.to_string()))
            .ok_or_else(|| "a redirect without Location".to_string()),
        200 => Ok(SignIn::Page(r.text().await.map_err(|e| e.to_string())?)),
        other => Err(format!("the sign-in form answered {other}")),
    }
}
