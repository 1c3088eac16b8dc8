//! For agencies (issue #26): customers grouping accounts (and filtering
//! accounts and posts), coloured tags renamed on their posts, signatures,
//! sets used by `POST /posts`, and preview links whose visitors comment,
//! approve or ask for changes — which blocks the post's approval until it
//! is edited.

use herald_testkit::{TestOptions, db_test, id_of};
use serde_json::json;

db_test!(async fn customers_group_accounts_and_filter_accounts_and_posts(app) {
    let ada = app.register("ada@example.com").await;
    let acme_feed = app.add_integration(&ada, "webhook").await;
    let other_feed = app.add_integration(&ada, "webhook").await;
    let acme = id_of(ada.session.post("/api/customers", json!({"name": "Acme"})).await.expect(201));
    ada.session.post("/api/customers", json!({"name": " acme "})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.post("/api/customers", json!({"name": ""})).await.expect_error(422, "VALIDATION_FAILED");

    let assigned = ada.session.put(&format!("/api/integrations/{acme_feed}/customer"), json!({"customerId": acme})).await;
    assert_eq!(assigned.expect(200)["customerId"], acme.as_str());
    let listed = ada.session.get("/api/customers").await;
    assert_eq!(listed.expect(200)[0]["integrationCount"], 1);
    let only_acme = ada.session.get(&format!("/api/integrations?customer={acme}")).await;
    let ids: Vec<&str> = only_acme.expect(200).as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [acme_feed.to_string()]);

    let for_acme = id_of(ada.session.post("/api/posts", json!({"content": "for Acme", "status": "DRAFT", "platforms": [acme_feed]})).await.expect(201));
    ada.session.post("/api/posts", json!({"content": "for others", "status": "DRAFT", "platforms": [other_feed]})).await.expect(201);
    let posts = ada.session.get(&format!("/api/posts?customer={acme}")).await;
    let posts = posts.expect(200)["posts"].as_array().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], for_acme.as_str());
    ada.session.get("/api/posts?customer=nope").await.expect_error(422, "VALIDATION_FAILED");

    // Renaming; another workspace's customer is unknown here.
    let renamed = ada.session.patch(&format!("/api/customers/{acme}"), json!({"name": "Acme Corp"})).await;
    assert_eq!(renamed.expect(200)["name"], "Acme Corp");
    let bob = app.register("bob@example.com").await;
    let bobs = id_of(bob.session.post("/api/customers", json!({"name": "Bob's client"})).await.expect(201));
    let refused = ada.session.put(&format!("/api/integrations/{other_feed}/customer"), json!({"customerId": bobs})).await;
    refused.expect_error(422, "VALIDATION_FAILED");
    ada.session.get(&format!("/api/posts?customer={bobs}")).await.expect_error(404, "NOT_FOUND");
    bob.session.get(&format!("/api/integrations?customer={acme}")).await.expect_error(404, "NOT_FOUND");
    assert!(!bob.session.get("/api/customers").await.text.contains("Acme"));

    // An API key reads customers but cannot manage them.
    let key = app.with_key(&ada.api_key(None).await);
    assert_eq!(key.get("/api/customers").await.expect(200).as_array().unwrap().len(), 1);
    key.post("/api/customers", json!({"name": "By key"})).await.expect_error(403, "FORBIDDEN");

    // Deleting a customer keeps its accounts, belonging to no one.
    ada.session.delete(&format!("/api/customers/{acme}")).await.expect(204);
    let account = ada.session.get(&format!("/api/integrations/{acme_feed}")).await;
    assert!(account.expect(200)["customerId"].is_null());
    ada.session.delete(&format!("/api/customers/{acme}")).await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn tags_have_colours_and_are_renamed_on_their_posts(app) {
    let ada = app.register("ada@example.com").await;
    let launch = ada.session.post("/api/tags", json!({"name": "launch", "color": "#1D9BF0"})).await;
    let launch = launch.expect(201).clone();
    assert_eq!(launch["color"], "#1d9bf0");
    let picked = ada.session.post("/api/tags", json!({"name": "evergreen"})).await;
    assert!(picked.expect(201)["color"].as_str().unwrap().starts_with('#'), "a colour is picked");
    let bad = ada.session.post("/api/tags", json!({"name": "x", "color": "red"})).await;
    assert_eq!(bad.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "color");
    ada.session.post("/api/tags", json!({"name": "LAUNCH"})).await.expect_error(422, "VALIDATION_FAILED");

    let tagged = id_of(ada.session.post("/api/posts", json!({"content": "big day", "status": "DRAFT", "tags": ["launch", "q4"]})).await.expect(201));
    ada.session.post("/api/posts", json!({"content": "quiet day", "status": "DRAFT", "tags": ["q4"]})).await.expect(201);
    let found = ada.session.get("/api/posts?tag=launch").await;
    let found = found.expect(200)["posts"].as_array().unwrap().clone();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], tagged.as_str());
    assert_eq!(ada.session.get("/api/posts?tag=q4").await.expect(200)["posts"].as_array().unwrap().len(), 2);

    let id = launch["id"].as_str().unwrap();
    ada.session.patch(&format!("/api/tags/{id}"), json!({"name": "Launch 2027", "color": "#abc"})).await.expect(200);
    let post = ada.session.get(&format!("/api/posts/{tagged}")).await;
    assert_eq!(post.expect(200)["tags"], json!(["Launch 2027", "q4"]));
    assert_eq!(ada.session.get("/api/posts?tag=Launch%202027").await.expect(200)["posts"].as_array().unwrap().len(), 1);
    assert_eq!(ada.session.get("/api/posts?tag=launch").await.expect(200)["posts"].as_array().unwrap().len(), 0);

    // Deleting the tag leaves the name on the post.
    ada.session.delete(&format!("/api/tags/{id}")).await.expect(204);
    assert_eq!(ada.session.get(&format!("/api/posts/{tagged}")).await.expect(200)["tags"], json!(["Launch 2027", "q4"]));
    let bob = app.register("bob@example.com").await;
    let evergreen = ada.session.get("/api/tags").await.expect(200)[0]["id"].as_str().unwrap().to_string();
    bob.session.patch(&format!("/api/tags/{evergreen}"), json!({"color": "#000"})).await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn one_signature_adds_itself_and_sets_fill_a_post(app) {
    let ada = app.register("ada@example.com").await;
    let first = id_of(ada.session.post("/api/signatures", json!({"name": "Team", "content": "— The team", "autoAdd": true})).await.expect(201));
    let second = ada.session.post("/api/signatures", json!({"name": "Ada", "content": "— Ada\n#herald", "autoAdd": true})).await;
    let second = id_of(second.expect(201));
    let listed = ada.session.get("/api/signatures").await;
    let auto: Vec<&str> = listed.expect(200).as_array().unwrap().iter().filter(|s| s["autoAdd"] == true).map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(auto, [second.as_str()], "only the latest adds itself");
    ada.session.patch(&format!("/api/signatures/{first}"), json!({"content": "  "})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.post("/api/signatures", json!({"name": "Long", "content": "x".repeat(2001)})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.delete(&format!("/api/signatures/{first}")).await.expect(204);

    let mastodon = app.add_integration(&ada, "mastodon").await;
    let feed = app.add_integration(&ada, "webhook").await;
    let set = ada.session.post("/api/sets", json!({
        "name": "Announcements",
        "integrationIds": [mastodon, feed, mastodon],
        "settings": {mastodon.to_string(): {"visibility": "unlisted"}},
    })).await;
    let set = set.expect(201).clone();
    assert_eq!(set["integrationIds"], json!([mastodon, feed]), "each account once, in order");
    let bad = ada.session.post("/api/sets", json!({"name": "Bad", "integrationIds": [uuid::Uuid::now_v7()], "settings": {"x": 1}})).await;
    let fields: Vec<String> = bad.expect_error(422, "VALIDATION_FAILED")["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["integrationIds[0]", "settings.x"]);

    let set_id = set["id"].as_str().unwrap();
    let post = ada.session.post("/api/posts", json!({"content": "from the set", "status": "DRAFT", "setId": set_id})).await;
    let post = post.expect(201).clone();
    assert_eq!(post["platforms"], json!([mastodon, feed]));
    let on_mastodon = post["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == mastodon.to_string()).unwrap().clone();
    assert_eq!(on_mastodon["settings"]["visibility"], "unlisted");
    // The post's own settings win; a bad setting in a set is refused like a typed one.
    let own = json!({"content": "mine", "status": "DRAFT", "setId": set_id, "overrides": {mastodon.to_string(): {"settings": {"visibility": "private"}}}});
    let own = ada.session.post("/api/posts", own).await;
    let own = own.expect(201)["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == mastodon.to_string()).unwrap()["settings"]["visibility"].clone();
    assert_eq!(own, "private");
    ada.session.patch(&format!("/api/sets/{set_id}"), json!({"settings": {mastodon.to_string(): {"visibility": "everyone"}}})).await.expect(200);
    let refused = ada.session.post("/api/posts/validate", json!({"content": "x", "setId": set_id})).await;
    assert_eq!(refused.expect(200)["valid"], false);

    let bob = app.register("bob@example.com").await;
    let theirs = bob.session.post("/api/posts", json!({"content": "x", "status": "DRAFT", "setId": set_id})).await;
    assert_eq!(theirs.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "setId");
    bob.session.delete(&format!("/api/sets/{set_id}")).await.expect_error(404, "NOT_FOUND");
    ada.session.delete(&format!("/api/sets/{set_id}")).await.expect(204);
});

db_test!(async fn a_client_comments_on_a_preview_and_changes_requested_block_approval(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    let feed = app.add_integration(&ada, "mastodon").await;
    let draft = cleo.session.post("/api/posts", json!({"content": "Our autumn sale starts Monday <b>!</b>", "status": "DRAFT", "platforms": [feed], "thread": [{"content": "Details inside."}]})).await;
    let post = id_of(draft.expect(201));
    cleo.session.post(&format!("/api/posts/{post}/submit"), json!({})).await.expect(200);

    let link = cleo.session.post(&format!("/api/posts/{post}/preview-links"), json!({"expiresInDays": 3})).await;
    let link = link.expect(201).clone();
    let url = link["url"].as_str().unwrap().to_string();
    let path = url.trim_start_matches(&app.address).to_string();
    assert!(path.starts_with("/p/") && path.len() == 3 + 40, "{url}");
    assert!(!ada.session.get(&format!("/api/posts/{post}/preview-links")).await.text.contains(&path[3..]), "the token is shown once");

    // The page: no sign-in, the post as its platform shows it, nothing else.
    let visitor = app.anonymous();
    let page = visitor.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Our autumn sale starts Monday &#60;b&#62;!&#60;/b&#62;"), "text is escaped: {}", page.text);
    assert!(page.text.contains("Details inside.") && page.text.contains("Waiting for approval"));
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(!page.text.contains("ada@example.com") && !page.text.contains(&feed.to_string()));

    // A comment as JSON; a stored-XSS attempt stays text.
    let said = visitor.post(&format!("{path}/comments"), json!({"name": "Acme's Jo", "body": "<script>alert(1)</script> Looks good"})).await;
    assert_eq!(said.expect(201)["verdict"], "COMMENT");
    visitor.post(&format!("{path}/comments"), json!({"name": "", "body": "x"})).await.expect_error(422, "VALIDATION_FAILED");
    visitor.post(&format!("{path}/comments"), json!({"name": "Jo", "verdict": "REQUEST_CHANGES"})).await.expect_error(422, "VALIDATION_FAILED");
    let page = visitor.get(&path).await;
    assert!(page.text.contains("&#60;script&#62;alert(1)&#60;/script&#62; Looks good") && !page.text.contains("<script>alert"));

    // Changes requested: the post cannot be approved until it is edited.
    visitor.post(&format!("{path}/comments"), json!({"name": "Jo", "body": "Say Tuesday, not Monday", "verdict": "REQUEST_CHANGES"})).await.expect(201);
    let queued = ada.session.get("/api/posts?approval=REQUESTED").await;
    let verdict = queued.expect(200)["posts"][0]["approval"]["clientVerdict"].clone();
    assert_eq!((verdict["verdict"].as_str(), verdict["by"].as_str()), (Some("REQUEST_CHANGES"), Some("Jo")));
    let blocked = ada.session.post(&format!("/api/posts/{post}/approve"), json!({})).await;
    assert!(blocked.expect_error(409, "CONFLICT")["message"].as_str().unwrap().contains("Jo asked for changes"));
    let comments = ada.session.get(&format!("/api/posts/{post}/comments")).await;
    let comments = comments.expect(200).as_array().unwrap().clone();
    assert_eq!(comments.len(), 2);
    assert_eq!((comments[1]["author"].as_str(), comments[1]["fromPreview"].as_bool()), (Some("Jo"), Some(true)));
    // The team hears of it.
    app.engine.notify_once().await.unwrap();
    let bell = ada.session.get("/api/notifications").await;
    assert!(bell.text.contains("Jo asked for changes"), "{}", bell.text);

    // An edit lets the client look again; then the post can be approved.
    cleo.session.put(&format!("/api/posts/{post}"), json!({"content": "Our autumn sale starts Tuesday"})).await.expect(200);
    let edited = ada.session.get(&format!("/api/posts/{post}")).await;
    assert!(edited.expect(200)["approval"]["clientVerdict"].is_null());
    visitor.post(&format!("{path}/comments"), json!({"name": "Jo", "verdict": "APPROVE"})).await.expect(201);
    let approved = ada.session.post(&format!("/api/posts/{post}/approve"), json!({})).await;
    assert_eq!(approved.expect(200)["approval"]["state"], "APPROVED");

    // A team comment: text only (approving is the workflow's).
    ada.session.post(&format!("/api/posts/{post}/comments"), json!({"body": "Thanks Jo!"})).await.expect(201);
    ada.session.post(&format!("/api/posts/{post}/comments"), json!({"body": "x", "verdict": "APPROVE"})).await.expect_error(422, "VALIDATION_FAILED");

    // Revoked: the page and its form answer 404, for a made-up token too.
    let link_id = link["id"].as_str().unwrap();
    let bob = app.register("bob@example.com").await;
    bob.session.delete(&format!("/api/posts/{post}/preview-links/{link_id}")).await.expect_error(404, "NOT_FOUND");
    ada.session.delete(&format!("/api/posts/{post}/preview-links/{link_id}")).await.expect(204);
    assert_eq!(visitor.get(&path).await.status, 404);
    visitor.post(&format!("{path}/comments"), json!({"name": "Jo", "body": "still there?"})).await.expect_error(404, "NOT_FOUND");
    assert_eq!(visitor.get(&format!("/p/{}", "a".repeat(40))).await.status, 404);
    let listed = ada.session.get(&format!("/api/posts/{post}/preview-links")).await;
    assert_eq!(listed.expect(200)[0]["active"], false);
});

db_test!(async fn preview_links_expire_and_take_plain_html_forms(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let post = id_of(ada.session.post("/api/posts", json!({"content": "hello", "status": "DRAFT"})).await.expect(201));
    ada.session.post(&format!("/api/posts/{post}/preview-links"), json!({"expiresInDays": 91})).await.expect_error(422, "VALIDATION_FAILED");
    let link = ada.session.post(&format!("/api/posts/{post}/preview-links"), json!({"expiresInDays": 1})).await;
    let url = link.expect(201)["url"].as_str().unwrap().to_string();
    let path = url.trim_start_matches(&app.address).to_string();

    // A browser without JavaScript: the form, then back to the page.
    let mut browser = crate::browser::Browser::new(&app);
    let page = browser.get(&path).await;
    assert!(page.html.contains(r#"name="verdict" value="REQUEST_CHANGES""#));
    let empty = browser.post(&format!("{path}/comments"), &[("name", ""), ("body", "hi"), ("verdict", "COMMENT")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains("must not be empty"), "{}", empty.html);
    let sent = browser.post(&format!("{path}/comments"), &[("name", "Jo"), ("body", "Love it"), ("verdict", "APPROVE")]).await;
    assert_eq!(sent.status, 303);
    let page = browser.get(&sent.location).await;
    assert!(page.html.contains("Love it") && page.html.contains("Thank you"));

    app.clock().advance(std::time::Duration::from_secs(86_401));
    assert_eq!(browser.get(&path).await.status, 404);
});

/// X and LinkedIn (pages: a choice among several) for the OAuth side of
/// connect links.
struct OAuthFakes {
    x: herald_testkit::fakes::x::XFake,
    linkedin: herald_testkit::fakes::linkedin::LinkedInFake,
}

impl OAuthFakes {
    async fn start() -> Self {
        Self {
            x: herald_testkit::fakes::x::XFake::start().await,
            linkedin: herald_testkit::fakes::linkedin::LinkedInFake::start().await,
        }
    }

    fn options(&self) -> TestOptions {
        use herald_testkit::fakes::{linkedin, x};
        let mut options = TestOptions::driven();
        options.provider_api_base.insert("x".into(), self.x.base_url());
        options.provider_api_base.insert("linkedin-page".into(), self.linkedin.base_url());
        let apps = [
            ("X_CLIENT_ID", x::CLIENT_ID),
            ("X_CLIENT_SECRET", x::CLIENT_SECRET),
            ("LINKEDIN_CLIENT_ID", linkedin::CLIENT_ID),
            ("LINKEDIN_CLIENT_SECRET", linkedin::CLIENT_SECRET),
        ];
        options.app_credentials = apps.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        options
    }
}

db_test!(async fn a_client_connects_their_accounts_through_a_connect_link(app, fakes = OAuthFakes::start().await, fakes.options()) {
    let ada = app.register("ada@example.com").await;
    let mine = app.add_integration(&ada, "webhook").await;
    let acme = id_of(ada.session.post("/api/customers", json!({"name": "Acme"})).await.expect(201));
    let other = id_of(ada.session.post("/api/customers", json!({"name": "Globex"})).await.expect(201));
    ada.session.put(&format!("/api/integrations/{mine}/customer"), json!({"customerId": other})).await.expect(200);
    ada.session.post(&format!("/api/customers/{acme}/connect-links"), json!({"platforms": ["myspace"]})).await.expect_error(422, "VALIDATION_FAILED");
    let link = ada.session.post(&format!("/api/customers/{acme}/connect-links"), json!({"platforms": ["webhook", "x", "linkedin-page"], "expiresInDays": 7})).await;
    let link = link.expect(201).clone();
    let path = link["url"].as_str().unwrap().trim_start_matches(&app.address).to_string();
    assert!(path.starts_with("/connect/") && path.len() == "/connect/".len() + 40, "{path}");

    // The page: the agency's name, the platforms offered, nothing of other customers.
    let mut client = crate::browser::Browser::new(&app);
    let page = client.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Acme") && page.html.contains(r#"name="cred.url""#) && page.html.contains(&format!("{path}/oauth/x")));
    assert!(!page.html.contains("offer-mastodon") && !page.html.contains("Globex"), "only what the link offers, only their own");

    // Credentials: refused ones come back with the reason, good ones connect under Acme.
    let receiver = herald_testkit::WebhookReceiver::start("a-long-enough-secret").await;
    let bad = client.post(&format!("{path}/credentials"), &[("platform", "webhook"), ("cred.url", &receiver.url()), ("cred.secret", "short")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("at least 16 characters"), "{}", bad.html);
    let not_offered = client.post(&format!("{path}/credentials"), &[("platform", "telegram"), ("cred.botToken", "1:x")]).await;
    assert_eq!(not_offered.status, 422);
    let done = client.post(&format!("{path}/credentials"), &[("platform", "webhook"), ("cred.url", &receiver.url()), ("cred.secret", "a-long-enough-secret"), ("name", "Acme site")]).await;
    assert_eq!((done.status, done.location.as_str()), (303, format!("{path}?notice=connected").as_str()));
    let theirs = ada.session.get(&format!("/api/integrations?customer={acme}")).await;
    let theirs = theirs.expect(200).as_array().unwrap().clone();
    assert_eq!((theirs.len(), theirs[0]["name"].as_str()), (1, Some("Acme site")));

    // Signing in at X, without a session: back to the link's page.
    let begun = client.get(&format!("{path}/oauth/x")).await;
    assert_eq!(begun.status, 302);
    let callback = herald_testkit::fakes::consent(&begun.location).await;
    let back = client.get(callback.strip_prefix(&app.address).unwrap()).await;
    assert_eq!((back.status, back.location.as_str()), (302, format!("{path}?notice=connected").as_str()));
    // LinkedIn pages: a choice among several, on the link's own page.
    let begun = client.get(&format!("{path}/oauth/linkedin-page")).await;
    let callback = herald_testkit::fakes::consent(&begun.location).await;
    let back = client.get(callback.strip_prefix(&app.address).unwrap()).await;
    assert!(back.location.starts_with(&format!("{path}/choose/")), "{}", back.location);
    let choice = client.get(&back.location).await;
    assert!(choice.html.contains(herald_testkit::fakes::linkedin::PAGES[0].1));
    let chosen = client.post(&back.location, &[("account", herald_testkit::fakes::linkedin::PAGES[0].0)]).await;
    assert_eq!(chosen.status, 303, "{}", chosen.html);
    let page = client.get(&path).await;
    let own = herald_testkit::fakes::linkedin::PAGES[0].1;
    assert!(page.html.contains("Acme site") && page.html.contains(own), "the client sees their accounts");
    let theirs = ada.session.get(&format!("/api/integrations?customer={acme}")).await;
    let platforms: Vec<String> = theirs.expect(200).as_array().unwrap().iter().map(|i| i["platform"].as_str().unwrap().to_string()).collect();
    assert_eq!(platforms.len(), 3, "{platforms:?}");
    assert!(platforms.contains(&"x".to_string()) && platforms.contains(&"linkedin-page".to_string()));
    let listed = ada.session.get(&format!("/api/customers/{acme}/connect-links")).await;
    assert_eq!(listed.expect(200)[0]["connections"], 3);

    // The agency hears of each.
    app.engine.notify_once().await.unwrap();
    let bell = ada.session.get("/api/notifications").await;
    assert!(bell.text.contains("Acme connected"), "{}", bell.text);

    // Globex's link cannot take over Acme's account.
    let globex = ada.session.post(&format!("/api/customers/{other}/connect-links"), json!({})).await;
    let globex = globex.expect(201)["url"].as_str().unwrap().trim_start_matches(&app.address).to_string();
    client.get(&globex).await;
    let taken = client.post(&format!("{globex}/credentials"), &[("platform", "webhook"), ("cred.url", &receiver.url()), ("cred.secret", "a-long-enough-secret")]).await;
    assert_eq!(taken.status, 422);
    assert!(taken.html.contains("already connected in this workspace for someone else"), "{}", taken.html);
    let theirs = ada.session.get(&format!("/api/integrations?customer={acme}")).await;
    assert_eq!(theirs.expect(200).as_array().unwrap().len(), 3, "still Acme's");

    // Another workspace cannot see or revoke the link; revoked, the page is gone.
    let link_id = link["id"].as_str().unwrap();
    let bob = app.register("bob@example.com").await;
    bob.session.get(&format!("/api/customers/{acme}/connect-links")).await.expect_error(404, "NOT_FOUND");
    bob.session.delete(&format!("/api/customers/{acme}/connect-links/{link_id}")).await.expect_error(404, "NOT_FOUND");
    ada.session.delete(&format!("/api/customers/{other}/connect-links/{link_id}")).await.expect_error(404, "NOT_FOUND");
    ada.session.delete(&format!("/api/customers/{acme}/connect-links/{link_id}")).await.expect(204);
    assert_eq!(client.get(&path).await.status, 404);
    let late = client.post(&format!("{path}/credentials"), &[("platform", "webhook"), ("cred.url", &receiver.url()), ("cred.secret", "a-long-enough-secret")]).await;
    assert_eq!(late.status, 404);
});

db_test!(async fn a_connect_link_ends_with_its_maker_s_right_to_connect(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let eve = app.join(&ada, "eve@example.com", "EDITOR").await;
    let acme = id_of(ada.session.post("/api/customers", json!({"name": "Acme"})).await.expect(201));
    let viewer = app.join(&ada, "vic@example.com", "VIEWER").await;
    viewer.session.post(&format!("/api/customers/{acme}/connect-links"), json!({})).await.expect_error(403, "FORBIDDEN");
    let link = eve.session.post(&format!("/api/customers/{acme}/connect-links"), json!({})).await;
    let path = link.expect(201)["url"].as_str().unwrap().trim_start_matches(&app.address).to_string();
    let mut client = crate::browser::Browser::new(&app);
    assert_eq!(client.get(&path).await.status, 200);
    ada.session.patch(&format!("/api/workspaces/{}/members/{}", ada.workspace_id, eve.id), json!({"role": "VIEWER"})).await.expect(200);
    assert_eq!(client.get(&path).await.status, 404, "a viewer's link connects nothing");
    // Expiry.
    let link = ada.session.post(&format!("/api/customers/{acme}/connect-links"), json!({"expiresInDays": 1})).await;
    let path = link.expect(201)["url"].as_str().unwrap().trim_start_matches(&app.address).to_string();
    assert_eq!(client.get(&path).await.status, 200);
    app.clock().advance(std::time::Duration::from_secs(86_401));
    assert_eq!(client.get(&path).await.status, 404);
});

db_test!(async fn postiz_clients_see_customers_and_filter_posts_by_them(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_authorization(&ada.api_key(None).await);
    let acme_feed = app.add_integration(&ada, "webhook").await;
    let other_feed = app.add_integration(&ada, "webhook").await;
    let acme = id_of(ada.session.post("/api/customers", json!({"name": "Acme"})).await.expect(201));
    ada.session.put(&format!("/api/integrations/{acme_feed}/customer"), json!({"customerId": acme})).await.expect(200);
    let listed = api.get("/public/v1/integrations").await;
    let listed = listed.expect(200).as_array().unwrap().clone();
    let entry = |id: uuid::Uuid| listed.iter().find(|i| i["id"] == id.to_string()).unwrap().clone();
    assert_eq!(entry(acme_feed)["customer"], json!({"id": acme, "name": "Acme"}));
    assert!(entry(other_feed)["customer"].is_null());

    // One post to both accounts: Acme's view shows Acme's delivery only.
    let at = herald_testkit::in_minutes(60);
    ada.session.post("/api/posts", json!({"content": "both", "platforms": [acme_feed, other_feed], "scheduledFor": at})).await.expect(201);
    let all = api.get("/public/v1/posts").await;
    assert_eq!(all.expect(200)["posts"].as_array().unwrap().len(), 2);
    let theirs = api.get(&format!("/public/v1/posts?customer={acme}")).await;
    let theirs = theirs.expect(200)["posts"].as_array().unwrap().clone();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["integration"]["id"], acme_feed.to_string());
    assert_eq!(api.get("/public/v1/posts?customer=").await.expect(200)["posts"].as_array().unwrap().len(), 2);
    api.get(&format!("/public/v1/posts?customer={}", uuid::Uuid::now_v7())).await.expect_error(404, "NOT_FOUND");
});
