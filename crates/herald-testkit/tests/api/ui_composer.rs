//! The composer without JavaScript: alt text edited beside attached files,
//! replies with their own media, and per-account platform settings built
//! from each platform's schema — saved, shown again on edit, and errors
//! placed beside their field.

use herald_testkit::{Account, TINY_PNG, TestApp, db_test};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::browser::{Browser, Page, Part};

/// Signs a browser up and returns it with the user as the testkit knows
/// users (to add integrations straight into the store).
async fn signed_in(app: &TestApp) -> (Browser, Account) {
    let mut browser = Browser::new(app);
    browser.register("ada@example.com").await;
    let me = browser.api(reqwest::Method::GET, "/api/me", None).await;
    let uuid = |v: &Value| Uuid::parse_str(v.as_str().unwrap()).unwrap();
    let account = Account {
        session: app.anonymous(),
        id: uuid(&me["id"]),
        workspace_id: uuid(&me["workspaceId"]),
        email: "ada@example.com".into(),
    };
    (browser, account)
}

/// The value of the first input named `name` in a page.
fn value_of(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}""#);
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    let tag = html[start..].split('>').next().unwrap();
    let value = tag.split(r#"value=""#).nth(1).unwrap_or_else(|| panic!("{name} has no value: {tag}"));
    value.split('"').next().unwrap().replace("&#34;", "\"").replace("&quot;", "\"")
}

/// The messages shown in the error box `key`.
fn errors_in(page: &Page, key: &str) -> String {
    let marker = format!(r#"data-errors="{key}">"#);
    let start = page.html.find(&marker).unwrap_or_else(|| panic!("no box {key}")) + marker.len();
    page.html[start..].split("</div>").next().unwrap().to_string()
}

async fn post_of(browser: &Browser, saved: &Page) -> Value {
    assert_eq!(saved.status, 303, "{}", saved.html);
    let id = saved.location.rsplit('=').next().unwrap();
    browser.api(reqwest::Method::GET, &format!("/api/posts/{id}"), None).await
}

db_test!(async fn replies_get_their_own_media_and_alt_text_is_edited_after_upload(app) {
    let (mut browser, ada) = signed_in(&app).await;
    let hook = app.add_integration(&ada, "webhook").await.to_string();

    // A reply's file is uploaded with the form and shown in that reply.
    browser.get("/posts/new").await;
    let uploaded = browser
        .post_parts("/posts/new", &[
            ("content", Part::Text("with pictures")),
            ("platforms", Part::Text(&hook)),
            ("thread", Part::Text("first reply")),
            ("thread", Part::Text("")),
            ("thread_file", Part::File(TINY_PNG)),
            ("media_file", Part::File(TINY_PNG)),
            ("action", Part::Text("upload")),
        ])
        .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.html);
    let main = value_of(&uploaded.html, "media");
    let reply = value_of(&uploaded.html, "thread_media");
    assert_ne!(main, reply);
    // The empty box with a file became the second reply, with its own image.
    assert!(uploaded.html.contains("Alt text for image <span data-n=\"media\">1</span> of reply <span data-n=\"reply\">2</span>"));
    assert!(uploaded.html.contains(&format!(r#"id="alt-{reply}-none" data-no-alt>No alt text"#)), "warned: no alt text yet");
    assert!(uploaded.html.contains(">first reply</textarea>"));

    // Alt texts typed beside the files are saved with the form.
    let main_alt = format!("media_alt.{main}");
    let reply_alt = format!("media_alt.{reply}");
    let fields = |alt: &'static str| {
        vec![
            ("content", "with pictures".to_string()),
            ("platforms", hook.clone()),
            ("media", main.clone()),
            (main_alt.as_str(), alt.to_string()),
            ("thread", "first reply".into()),
            ("thread", "".into()),
            ("thread_media", reply.clone()),
            (reply_alt.as_str(), "A reply's picture".into()),
        ]
    };
    let long = "a".repeat(1501);
    let mut too_long: Vec<(&str, String)> = fields("").into_iter().map(|(k, v)| (k, if k == main_alt { long.clone() } else { v })).collect();
    too_long.extend([("action", "draft".to_string()), ("_csrf", browser.csrf.clone())]);
    let refused = browser.post_raw("/posts/new", &too_long).await;
    assert_eq!(refused.status, 422);
    assert!(errors_in(&refused, &main_alt).contains("at most 1500 characters"), "{}", refused.html);
    assert!(refused.html.contains(&long), "what was typed is kept");
    assert!(refused.html.contains(r#"value="A reply&#39;s picture""#) || refused.html.contains("value=\"A reply's picture\""));

    let mut ok = fields("The main picture");
    ok.extend([("action", "draft".to_string()), ("_csrf", browser.csrf.clone())]);
    let saved = browser.post_raw("/posts/new", &ok).await;
    let post = post_of(&browser, &saved).await;
    assert_eq!(post["mediaIds"], json!([main]));
    assert_eq!(post["thread"], json!([
        {"content": "first reply", "mediaIds": [], "mediaUrls": []},
        {"content": "", "mediaIds": [reply], "mediaUrls": []},
    ]));
    let post_id = post["id"].as_str().unwrap().to_string();
    let edit = browser.get(&format!("/posts/{post_id}/edit")).await;
    assert_eq!(value_of(&edit.html, &main_alt), "The main picture");
    assert!(edit.html.contains(r#"alt="The main picture""#));
    assert!(edit.html.contains(&format!(r#"id="alt-{main}-none" data-no-alt hidden"#)));

    // Removing one file (no script: its own submit button) keeps the rest.
    let removed = browser
        .post(&format!("/posts/{post_id}/edit"), &[
            ("content", "with pictures"),
            ("platforms", &hook),
            ("media", &main),
            ("thread", "first reply"),
            ("thread", ""),
            ("thread_media", &reply),
            ("action", &format!("remove:{reply}")),
        ])
        .await;
    assert_eq!(removed.status, 200, "{}", removed.html);
    assert!(!removed.html.contains(r#"name="thread_media""#));
    assert_eq!(value_of(&removed.html, "media"), main);

    // A reply's media is checked against each platform, beside that reply.
    let slack = app.add_integration(&ada, "slack").await.to_string();
    let refused = browser
        .post("/posts/new", &[("content", "x"), ("platforms", &slack), ("thread", "y"), ("thread_media", &reply), ("action", "draft")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(errors_in(&refused, "thread[0].mediaIds").contains("Slack does not accept image/png files"), "{}", refused.html);
    assert_eq!(value_of(&refused.html, "thread_media"), reply, "the reply keeps its image");
});

db_test!(async fn platform_settings_are_a_form_built_from_the_schema(app) {
    let (mut browser, ada) = signed_in(&app).await;
    let mastodon = app.add_integration(&ada, "mastodon").await.to_string();
    let devto = app.add_integration(&ada, "devto").await.to_string();

    let page = browser.get("/posts/new").await;
    for input in [
        format!(r#"name="settings.{mastodon}.spoilerText" type="text""#),
        format!(r#"<select id="set-{mastodon}-visibility" name="settings.{mastodon}.visibility""#),
        format!(r#"name="settings.{mastodon}.sensitive" value="true""#),
        format!(r#"name="settings.{devto}.tags" type="text""#),
        format!(r#"name="settings.{devto}.organizationId" type="text" value="" data-setting="organizationId" data-kind="number""#),
    ] {
        assert!(page.html.contains(&input), "{input} missing");
    }
    assert!(page.html.contains(r#"<option value="unlisted">unlisted</option>"#));
    assert!(page.html.contains(r#"data-handle="mastodon-user""#), "previews get the account's handle");
    // DEV publishes unless told otherwise: the box starts checked.
    assert!(page.html.contains(&format!(r#"name="settings.{devto}.published" value="true" data-setting="published" data-kind="checkbox" data-default-on checked"#)));

    let spoiler = format!("settings.{mastodon}.spoilerText");
    let visibility = format!("settings.{mastodon}.visibility");
    let sensitive = format!("settings.{mastodon}.sensitive");
    let language = format!("settings.{mastodon}.language");
    let title = format!("settings.{devto}.title");
    let tags = format!("settings.{devto}.tags");
    let published = format!("settings.{devto}.published");
    let extra_m = format!("settings_extra.{mastodon}");
    let extra_d = format!("settings_extra.{devto}");
    let form = |tag_value: &'static str, lang: &'static str, publish: bool| {
        let mut fields = vec![
            ("content", "Herald 1.0\nIt is out."),
            ("platforms", mastodon.as_str()),
            ("platforms", devto.as_str()),
            (extra_m.as_str(), "{}"),
            (spoiler.as_str(), "launch"),
            (visibility.as_str(), "unlisted"),
            (sensitive.as_str(), "true"),
            (language.as_str(), lang),
            (extra_d.as_str(), "{}"),
            (title.as_str(), "Herald 1.0"),
            (tags.as_str(), tag_value),
            ("action", "draft"),
        ];
        if publish {
            fields.push((published.as_str(), "true"));
        }
        fields
    };

    // Bad values come back beside their field, with everything typed kept.
    let refused = browser.post("/posts/new", &form("c++, rust", "english", true)).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(errors_in(&refused, &format!("overrides.{devto}.settings.tags")).contains("DEV tags are letters and digits only"), "{}", refused.html);
    assert!(errors_in(&refused, &format!("overrides.{mastodon}.settings.language")).contains("ISO 639-1"), "{}", refused.html);
    assert_eq!(value_of(&refused.html, &tags), "c++, rust");
    assert_eq!(value_of(&refused.html, &spoiler), "launch");
    assert!(refused.html.contains(r#"<option value="unlisted" selected>"#));

    // Saved on the targets, only what differs from the platform's defaults.
    let saved = browser.post("/posts/new", &form("rust, selfhosted", "", true)).await;
    let post = post_of(&browser, &saved).await;
    let settings_of = |post: &Value, id: &str| {
        post["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == id).unwrap()["settings"].clone()
    };
    assert_eq!(settings_of(&post, &mastodon), json!({"spoilerText": "launch", "visibility": "unlisted", "sensitive": true}));
    assert_eq!(settings_of(&post, &devto), json!({"title": "Herald 1.0", "tags": ["rust", "selfhosted"]}));

    // The edit page shows them; unchecking DEV's "published" saves a draft there.
    let post_id = post["id"].as_str().unwrap().to_string();
    let edit = browser.get(&format!("/posts/{post_id}/edit")).await;
    assert_eq!(value_of(&edit.html, &spoiler), "launch");
    assert_eq!(value_of(&edit.html, &tags), "rust, selfhosted");
    assert!(edit.html.contains(&format!(r#"name="{sensitive}" value="true" data-setting="sensitive" data-kind="checkbox" checked"#)));
    let saved = browser.post(&format!("/posts/{post_id}/edit"), &form("rust", "en", false)).await;
    let post = post_of(&browser, &saved).await;
    assert_eq!(settings_of(&post, &devto), json!({"title": "Herald 1.0", "tags": ["rust"], "published": false}));
    assert_eq!(settings_of(&post, &mastodon)["language"], "en");
});

db_test!(async fn settings_the_form_cannot_show_survive_an_edit(app) {
    let (mut browser, ada) = signed_in(&app).await;
    // A webhook passes any settings object through; the form has no inputs for it.
    let hook = app.add_integration(&ada, "webhook").await.to_string();
    let body = json!({"content": "x", "platforms": [hook], "status": "DRAFT", "overrides": {hook.clone(): {"settings": {"channel": "ops"}}}});
    let created = browser.api(reqwest::Method::POST, "/api/posts", Some(body)).await;
    let post_id = created["id"].as_str().unwrap().to_string();

    let edit = browser.get(&format!("/posts/{post_id}/edit")).await;
    let extra_name = format!("settings_extra.{hook}");
    let extra = value_of(&edit.html, &extra_name);
    assert_eq!(serde_json::from_str::<Value>(&extra).unwrap(), json!({"channel": "ops"}));
    let saved = browser
        .post(&format!("/posts/{post_id}/edit"), &[("content", "edited"), ("platforms", &hook), (&extra_name, &extra), ("action", "draft")])
        .await;
    let post = post_of(&browser, &saved).await;
    assert_eq!(post["content"], "edited");
    assert_eq!(post["targets"][0]["settings"], json!({"channel": "ops"}));
});
