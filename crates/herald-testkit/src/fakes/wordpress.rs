//! A fake WordPress site for the `wordpress` provider's tests.
//!
//! As the REST API handbook describes it: routes live under `/wp-json/`
//! when the site has pretty permalinks, and under `/?rest_route=` always
//! (a site with plain permalinks answers its theme's HTML 404 for
//! `/wp-json/...`). Requests authenticate with HTTP Basic auth and an
//! application password, which WordPress compares after dropping
//! everything but letters and digits (so the spaces it shows are optional).
//! Behind nginx with `try_files $uri $uri/ /index.php?$args` (see
//! [`WordpressFake::serve_front_page_for_unknown_paths`]) a plain-permalink
//! site answers `/wp-json/...` with its front page and a 200 instead.
//! Errors are `WP_Error` JSON `{code, message, data: {status}}`; what a user
//! may do follows their role (`publish_posts`, `upload_files`, `edit_posts`;
//! creating a category needs `edit_terms`, i.e. `manage_categories`, Editor
//! and up, a tag only `assign_terms`, i.e. `edit_posts`, as the terms
//! controller checks hierarchical and flat taxonomies differently).
//! Media are created from the raw request body with a `Content-Disposition`
//! file name; tags and categories are searched with `?search=` and created
//! with `{name}` (`term_exists` when they already exist).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::server::{Journal, Recorded, Running, Scripted, serve};

pub const USER_ID: u64 = 7;

#[derive(Clone)]
pub struct WordpressFake {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    running: Running,
}

struct Shared {
    state: Mutex<Site>,
    journal: Journal,
}

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct MediaItem {
    pub id: u64,
    pub file_name: String,
    pub mime: String,
    pub bytes: Bytes,
    pub alt_text: String,
    pub source_url: String,
}

struct Site {
    base: String,
    username: String,
    password: String,
    role: String,
    pretty_permalinks: bool,
    front_page_fallback: bool,
    /// `(endpoint, Location)`: the next request to the endpoint is redirected.
    redirects: Vec<(String, String)>,
    next_id: u64,
    posts: Vec<Value>,
    media: Vec<MediaItem>,
    /// `(taxonomy, id, name)`.
    terms: Vec<(String, u64, String)>,
}

impl WordpressFake {
    /// A site with pretty permalinks where `username` (an administrator)
    /// has the application password `password` (as WordPress shows it, with spaces).
    pub async fn start(username: &str, password: &str) -> Self {
        let shared = Arc::new(Shared {
            journal: Journal::default(),
            state: Mutex::new(Site {
                base: String::new(),
                username: username.to_string(),
                password: password.to_string(),
                role: "administrator".into(),
                pretty_permalinks: true,
                front_page_fallback: false,
                redirects: Vec::new(),
                next_id: 100,
                posts: Vec::new(),
                media: Vec::new(),
                terms: vec![("categories".into(), 1, "Uncategorized".into())],
            }),
        });
        let router = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let running = serve(router).await;
        shared.lock().base = running.url();
        Self { inner: Arc::new(Inner { shared, running }) }
    }

    /// The site URL a user would enter.
    pub fn site_url(&self) -> String {
        self.inner.running.url()
    }

    /// `false`: the site uses plain permalinks and `/wp-json/` is a 404 page.
    pub fn set_pretty_permalinks(&self, pretty: bool) {
        self.lock().pretty_permalinks = pretty;
    }

    /// The web server hands every unknown path to WordPress's front page
    /// (nginx `try_files … /index.php?$args`): with plain permalinks,
    /// `/wp-json/...` answers the home page's HTML with a 200.
    pub fn serve_front_page_for_unknown_paths(&self) {
        self.lock().front_page_fallback = true;
    }

    /// The next request to `endpoint` (e.g. `"POST /wp/v2/posts"`) answers
    /// `301 Moved Permanently` to `location`, as a site that moved does.
    pub fn redirect(&self, endpoint: &str, location: &str) {
        self.lock().redirects.push((endpoint.to_string(), location.to_string()));
    }

    /// `administrator`, `editor`, `author`, `contributor` or `subscriber`.
    pub fn set_role(&self, role: &str) {
        self.lock().role = role.to_string();
    }

    /// The application password is revoked: requests get 401 `incorrect_password`.
    pub fn revoke_password(&self) {
        self.lock().password = "revoked".into();
    }

    pub fn add_term(&self, taxonomy: &str, name: &str) -> u64 {
        let mut site = self.lock();
        let id = site.take_id();
        site.terms.push((taxonomy.into(), id, name.into()));
        id
    }

    /// Answer the next request to `endpoint` (e.g. `"POST /wp/v2/posts"`, a REST route) with this.
    pub fn script(&self, endpoint: &str, status: u16, body: Value, retry_after: Option<u64>) {
        let scripted = Scripted::json(status, body).at(endpoint);
        self.inner.shared.journal.script(match retry_after {
            Some(seconds) => scripted.retry_after(seconds),
            None => scripted,
        });
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.shared.journal.requests()
    }

    pub fn posts(&self) -> Vec<Value> {
        self.lock().posts.clone()
    }

    pub fn media(&self) -> Vec<MediaItem> {
        self.lock().media.clone()
    }

    pub fn terms(&self, taxonomy: &str) -> Vec<(u64, String)> {
        self.lock().terms.iter().filter(|(t, ..)| t == taxonomy).map(|(_, id, name)| (*id, name.clone())).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Site> {
        self.inner.shared.lock()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Site> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn wp_error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({ "code": code, "message": message, "data": { "status": status } }))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = Recorded::of(&method, &uri, &headers, body);
    let mut site = shared.lock();
    // Which REST route was asked for, if any.
    let route = if let Some(route) = request.path.strip_prefix("/wp-json").filter(|_| site.pretty_permalinks) {
        Some(route.to_string())
    } else if request.path == "/" {
        request.query.get("rest_route").cloned()
    } else {
        None
    };
    let Some(route) = route else {
        let (status, page) = if site.front_page_fallback {
            (StatusCode::OK, "<!doctype html><html><body><h1>Ada's blog</h1><p>Latest posts</p></body></html>")
        } else {
            (StatusCode::NOT_FOUND, "<!doctype html><html><body><h1>Page not found</h1></body></html>")
        };
        request.status = status.as_u16();
        shared.journal.record(request);
        return (status, [(header::CONTENT_TYPE, "text/html; charset=UTF-8")], page).into_response();
    };
    let endpoint = format!("{} {route}", request.method);
    if let Some(at) = site.redirects.iter().position(|(e, _)| *e == endpoint) {
        let (_, location) = site.redirects.remove(at);
        request.status = 301;
        shared.journal.record(request);
        return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response();
    }
    let answer = match site.authenticate(&request) {
        Some(refused) => refused,
        None => shared.journal.next_for(&request.method, &route).unwrap_or_else(|| site.answer(&request, &route)),
    };
    request.status = answer.status;
    shared.journal.record(request);
    answer.into_response()
}

/// The role's capabilities that matter here: (edit_posts, publish_posts, upload_files).
fn capabilities(role: &str) -> (bool, bool, bool) {
    match role {
        "administrator" | "editor" | "author" => (true, true, true),
        "contributor" => (true, false, false),
        _ => (false, false, false),
    }
}

/// Whether the role may create a term of the taxonomy: categories are
/// hierarchical (`edit_terms` → `manage_categories`), tags are not
/// (`assign_terms` → `edit_posts`).
fn may_create_term(role: &str, taxonomy: &str) -> bool {
    match taxonomy {
        "categories" => matches!(role, "administrator" | "editor"),
        _ => capabilities(role).0,
    }
}

impl Site {
    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `Some(error)` unless the request carries this user's application password.
    fn authenticate(&self, request: &Recorded) -> Option<Scripted> {
        let Some(encoded) = request.header("authorization").and_then(|h| h.strip_prefix("Basic ")) else {
            return Some(wp_error(401, "rest_not_logged_in", "You are not currently logged in."));
        };
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).unwrap_or_default();
        let decoded = String::from_utf8_lossy(&decoded);
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        if user != self.username {
            return Some(wp_error(401, "invalid_username", "Unknown username. Check again or try your email address."));
        }
        let alphanumeric = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>();
        if alphanumeric(password) != alphanumeric(&self.password) {
            return Some(wp_error(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            ));
        }
        None
    }

    /// The answer to an authenticated request for a REST route.
    fn answer(&mut self, request: &Recorded, route: &str) -> Scripted {
        let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["wp", "v2", "users", "me"]) => self.me(request),
            ("POST", ["wp", "v2", "media"]) => self.upload(request),
            ("POST", ["wp", "v2", "media", id]) => self.update_media(id, &request.json),
            ("GET", ["wp", "v2", taxonomy @ ("tags" | "categories")]) => self.search_terms(taxonomy, request),
            ("POST", ["wp", "v2", taxonomy @ ("tags" | "categories")]) => self.create_term(taxonomy, &request.json),
            ("POST", ["wp", "v2", "posts"]) => self.create_post(&request.json),
            _ => wp_error(404, "rest_no_route", "No route was found matching the URL and request method."),
        }
    }

    fn me(&self, request: &Recorded) -> Scripted {
        let (edit, publish, upload) = capabilities(&self.role);
        let mut me = json!({
            "id": USER_ID,
            "name": "Ada Lovelace",
            "url": "",
            "description": "",
            "link": format!("{}/author/{}/", self.base, self.username),
            "slug": self.username,
            "avatar_urls": {
                "24": "https://secure.gravatar.com/avatar/ada?s=24",
                "48": "https://secure.gravatar.com/avatar/ada?s=48",
                "96": "https://secure.gravatar.com/avatar/ada?s=96"
            }
        });
        // Only the edit context shows the account's private fields.
        if request.query.get("context").map(String::as_str) == Some("edit") {
            me["username"] = json!(self.username);
            me["email"] = json!("ada@example.com");
            me["roles"] = json!([self.role]);
            me["capabilities"] =
                json!({ "edit_posts": edit, "publish_posts": publish, "upload_files": upload, "read": true });
        }
        Scripted::json(200, me)
    }

    fn upload(&mut self, request: &Recorded) -> Scripted {
        if !capabilities(&self.role).2 {
            return wp_error(403, "rest_cannot_create", "Sorry, you are not allowed to upload media on this site.");
        }
        if request.body.is_empty() {
            return wp_error(400, "rest_upload_no_data", "No data supplied.");
        }
        let Some(disposition) = request.header("content-disposition") else {
            return wp_error(400, "rest_upload_no_content_disposition", "No Content-Disposition supplied.");
        };
        let Some(file_name) = disposition.split("filename=").nth(1).map(|f| f.trim().trim_matches('"').to_string())
        else {
            return wp_error(400, "rest_upload_invalid_disposition", "Invalid Content-Disposition supplied.");
        };
        let Some(mime) = request.header("content-type").map(str::to_string) else {
            return wp_error(400, "rest_upload_no_content_type", "No Content-Type supplied.");
        };
        let id = self.take_id();
        let item = MediaItem {
            id,
            source_url: format!("{}/wp-content/uploads/2026/11/{file_name}", self.base),
            file_name,
            mime,
            bytes: request.body.clone(),
            alt_text: String::new(),
        };
        self.media.push(item.clone());
        Scripted::json(201, media_json(&item))
    }

    fn update_media(&mut self, id: &str, body: &Value) -> Scripted {
        let Some(item) = self.media.iter_mut().find(|m| m.id.to_string() == id) else {
            return wp_error(404, "rest_post_invalid_id", "Invalid post ID.");
        };
        if let Some(alt) = body["alt_text"].as_str() {
            item.alt_text = alt.to_string();
        }
        Scripted::json(200, media_json(item))
    }

    fn search_terms(&self, taxonomy: &str, request: &Recorded) -> Scripted {
        let search = request.query.get("search").map(|s| s.to_lowercase()).unwrap_or_default();
        let found: Vec<Value> = self
            .terms
            .iter()
            .filter(|(t, _, name)| t == taxonomy && name.to_lowercase().contains(&search))
            .map(|(_, id, name)| json!({ "id": id, "name": name, "slug": slug(name), "taxonomy": taxonomy }))
            .collect();
        Scripted::json(200, Value::Array(found))
    }

    fn create_term(&mut self, taxonomy: &str, body: &Value) -> Scripted {
        if !may_create_term(&self.role, taxonomy) {
            return wp_error(403, "rest_cannot_create", "Sorry, you are not allowed to create terms in this taxonomy.");
        }
        let name = body["name"].as_str().unwrap_or_default().trim().to_string();
        if name.is_empty() {
            return wp_error(400, "rest_missing_callback_param", "Missing parameter(s): name");
        }
        if let Some((_, id, _)) = self.terms.iter().find(|(t, _, n)| t == taxonomy && n.eq_ignore_ascii_case(&name)) {
            let message = "A term with the name provided already exists in this taxonomy.";
            return Scripted::json(
                400,
                json!({ "code": "term_exists", "message": message, "data": { "status": 400, "term_id": id } }),
            );
        }
        let id = self.take_id();
        self.terms.push((taxonomy.to_string(), id, name.clone()));
        Scripted::json(201, json!({ "id": id, "name": name, "slug": slug(&name), "taxonomy": taxonomy }))
    }

    fn create_post(&mut self, body: &Value) -> Scripted {
        let (edit, publish, _) = capabilities(&self.role);
        if !edit {
            return wp_error(403, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.");
        }
        let status = body["status"].as_str().unwrap_or("draft");
        if !["publish", "future", "draft", "pending", "private"].contains(&status) {
            let why = "status is not one of publish, future, draft, pending, private.";
            return Scripted::json(
                400,
                json!({ "code": "rest_invalid_param", "message": "Invalid parameter(s): status",
                        "data": { "status": 400, "params": { "status": why } } }),
            );
        }
        if matches!(status, "publish" | "future" | "private") && !publish {
            return wp_error(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts in this post type.",
            );
        }
        let featured = body["featured_media"].as_u64().unwrap_or(0);
        if featured != 0 && !self.media.iter().any(|m| m.id == featured) {
            return wp_error(400, "rest_invalid_featured_media", "Invalid featured media ID.");
        }
        let id = self.take_id();
        let post = json!({
            "id": id,
            "date_gmt": body["date_gmt"],
            "status": status,
            "slug": body["slug"].as_str().map_or_else(|| format!("post-{id}"), str::to_string),
            "link": format!("{}/?p={id}", self.base),
            "title": { "raw": body["title"], "rendered": body["title"] },
            "content": { "raw": body["content"], "rendered": body["content"] },
            "excerpt": { "raw": body["excerpt"].as_str().unwrap_or_default() },
            "author": USER_ID,
            "featured_media": featured,
            "categories": body.get("categories").cloned().unwrap_or_else(|| json!([1])),
            "tags": body.get("tags").cloned().unwrap_or_else(|| json!([]))
        });
        self.posts.push(post.clone());
        Scripted::json(201, post)
    }
}

fn media_json(item: &MediaItem) -> Value {
    json!({
        "id": item.id,
        "source_url": item.source_url,
        "alt_text": item.alt_text,
        "mime_type": item.mime,
        "media_type": if item.mime.starts_with("image/") { "image" } else { "file" },
        "title": { "raw": item.file_name }
    })
}

fn slug(name: &str) -> String {
    name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn routes_auth_and_permalinks_behave_like_wordpress() {
        let fake = WordpressFake::start("ada", "abcd efgh ijkl mnop qrst uvwx").await;
        let http = reqwest::Client::new();
        let me = |url: String, password: &'static str| http.get(url).basic_auth("ada", Some(password)).send();
        let pretty = format!("{}/wp-json/wp/v2/users/me?context=edit", fake.site_url());
        let answer = me(pretty.clone(), "abcdefghijklmnopqrstuvwx").await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.json::<Value>().await.unwrap()["capabilities"]["publish_posts"], true);
        let wrong = me(pretty.clone(), "nope").await.unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(wrong.json::<Value>().await.unwrap()["code"], "incorrect_password");

        fake.set_pretty_permalinks(false);
        assert_eq!(me(pretty, "abcd efgh ijkl mnop qrst uvwx").await.unwrap().status(), 404);
        let plain = format!("{}/?rest_route=/wp/v2/users/me&context=edit", fake.site_url());
        assert_eq!(me(plain, "abcd efgh ijkl mnop qrst uvwx").await.unwrap().status(), 200);

        let created = http
            .post(format!("{}/?rest_route=/wp/v2/tags", fake.site_url()))
            .basic_auth("ada", Some("abcdefghijklmnopqrstuvwx"))
            .json(&json!({"name": "Rust"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let again = http
            .post(format!("{}/?rest_route=/wp/v2/tags", fake.site_url()))
            .basic_auth("ada", Some("abcdefghijklmnopqrstuvwx"))
            .json(&json!({"name": "rust"}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400);
        assert_eq!(again.json::<Value>().await.unwrap()["code"], "term_exists");
    }
}
