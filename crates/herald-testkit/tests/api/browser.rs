//! A browser without JavaScript for the web UI tests: cookies, CSRF tokens
//! taken from the last page, forms sent url-encoded or as multipart.

use herald_testkit::TestApp;

/// A browser without JavaScript: cookies, no automatic redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

/// One part of a multipart form.
pub enum Part<'a> {
    Text(&'a str),
    File(&'a [u8]),
}

pub struct Page {
    pub status: u16,
    pub location: String,
    pub html: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let http =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, base: app.address.clone(), csrf: String::new() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let page = Self::read(response).await;
        if let Some(token) = csrf_of(&page.html) {
            self.csrf = token;
        }
        page
    }

    /// Submits a form with the CSRF token of the last page seen.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("_csrf", self.csrf.clone())];
        all.extend(fields.iter().map(|(k, v)| (*k, (*v).to_string())));
        self.post_raw(path, &all).await
    }

    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, String)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let page = Self::read(response).await;
        if let Some(token) = csrf_of(&page.html) {
            self.csrf = token;
        }
        page
    }

    /// Submits the composer as a browser without JavaScript does when a
    /// file is chosen: multipart, the CSRF token in the action's query.
    pub async fn post_with_file(&mut self, path: &str, fields: &[(&str, &str)], file: &[u8]) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part("media_file", reqwest::multipart::Part::bytes(file.to_vec()).file_name("photo.png"));
        let url = format!("{}{path}?_csrf={}", self.base, self.csrf);
        let page = Self::read(self.http.post(url).multipart(form).send().await.unwrap()).await;
        if let Some(token) = csrf_of(&page.html) {
            self.csrf = token;
        }
        page
    }

    /// Submits the composer as multipart with its parts in document order
    /// (a reply's file follows that reply's text, as a browser sends it).
    pub async fn post_parts(&mut self, path: &str, parts: &[(&str, Part<'_>)]) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (name, part) in parts {
            form = match part {
                Part::Text(value) => form.text(name.to_string(), value.to_string()),
                Part::File(bytes) => {
                    form.part(name.to_string(), reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("photo.png"))
                }
            };
        }
        let url = format!("{}{path}?_csrf={}", self.base, self.csrf);
        let page = Self::read(self.http.post(url).multipart(form).send().await.unwrap()).await;
        if let Some(token) = csrf_of(&page.html) {
            self.csrf = token;
        }
        page
    }

    async fn read(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let headers = response.headers().clone();
        Page { status, location, headers, html: response.text().await.unwrap() }
    }

    /// Registers through the form and keeps the session.
    pub async fn register(&mut self, email: &str) {
        self.get("/register").await;
        let page = self
            .post(
                "/register",
                &[
                    ("email", email),
                    ("password", herald_testkit::PASSWORD),
                    ("name", "Ada"),
                    ("timezone", "Europe/Paris"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.html);
        assert_eq!(page.location, "/integrations?notice=welcome");
        self.get("/").await;
    }

    /// The signed-in person as an [`herald_testkit::Account`], for fixtures
    /// that take one (its `session` is a fresh client: use the browser).
    pub async fn account(&self, app: &TestApp) -> herald_testkit::Account {
        let me = self.api(reqwest::Method::GET, "/api/me", None).await;
        let id = |key: &str| me[key].as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()).unwrap();
        herald_testkit::Account {
            session: app.anonymous(),
            id: id("id"),
            workspace_id: id("workspaceId"),
            email: me["email"].as_str().unwrap().to_string(),
        }
    }

    /// A JSON API call with the browser's session cookie.
    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().json().await.unwrap_or(serde_json::Value::Null)
    }
}

fn csrf_of(html: &str) -> Option<String> {
    let start = html.find(r#"name="_csrf" value=""#)? + r#"name="_csrf" value=""#.len();
    Some(html[start..start + 64].to_string())
}
