//! The seed's TC-03 (multi-platform connection): one workspace signs in to
//! every OAuth platform of wave 1 — X, LinkedIn (member and page),
//! Mastodon, Reddit, Pinterest and Tumblr — each against its fake, and one
//! post goes to all of them at once.

use herald_testkit::fakes::linkedin::{LinkedInFake, PAGES};
use herald_testkit::fakes::mastodon::FakeMastodon;
use herald_testkit::fakes::pinterest::{BOARDS, PinterestFake};
use herald_testkit::fakes::reddit::RedditFake;
use herald_testkit::fakes::tumblr::{BLOGS, TumblrFake};
use herald_testkit::fakes::x::XFake;
use herald_testkit::fakes::{linkedin, pinterest, reddit, tumblr, x};
use herald_testkit::{Account, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

struct Fakes {
    x: XFake,
    linkedin: LinkedInFake,
    mastodon: FakeMastodon,
    reddit: RedditFake,
    pinterest: PinterestFake,
    tumblr: TumblrFake,
}

impl Fakes {
    async fn start() -> Self {
        Self {
            x: XFake::start().await,
            linkedin: LinkedInFake::start().await,
            mastodon: FakeMastodon::start().await,
            reddit: RedditFake::start().await,
            pinterest: PinterestFake::start().await,
            tumblr: TumblrFake::start().await,
        }
    }

    fn options(&self) -> TestOptions {
        let mut options = TestOptions::driven();
        for (id, base) in [
            ("x", self.x.base_url()),
            ("linkedin", self.linkedin.base_url()),
            ("linkedin-page", self.linkedin.base_url()),
            ("reddit", self.reddit.base_url()),
            ("pinterest", self.pinterest.base_url()),
            ("tumblr", self.tumblr.base_url()),
        ] {
            options.provider_api_base.insert(id.into(), base);
        }
        let apps = [
            ("X_CLIENT_ID", x::CLIENT_ID),
            ("X_CLIENT_SECRET", x::CLIENT_SECRET),
            ("LINKEDIN_CLIENT_ID", linkedin::CLIENT_ID),
            ("LINKEDIN_CLIENT_SECRET", linkedin::CLIENT_SECRET),
            ("REDDIT_CLIENT_ID", reddit::CLIENT_ID),
            ("REDDIT_CLIENT_SECRET", reddit::CLIENT_SECRET),
            ("PINTEREST_CLIENT_ID", pinterest::CLIENT_ID),
            ("PINTEREST_CLIENT_SECRET", pinterest::CLIENT_SECRET),
            ("TUMBLR_CLIENT_ID", tumblr::CLIENT_ID),
            ("TUMBLR_CLIENT_SECRET", tumblr::CLIENT_SECRET),
        ];
        options.app_credentials = apps.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        options
    }
}

/// Signs in at `platform` (`query`: e.g. Mastodon's instance); the callback's answer.
async fn sign_in(app: &TestApp, account: &Account, platform: &str, query: &str) -> Value {
    let begun = account.session.get_with(&format!("/api/auth/{platform}{query}"), JSON).await;
    let location = herald_testkit::fakes::consent(begun.expect(200)["authorizeUrl"].as_str().unwrap()).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    done.expect(200).clone()
}

async fn choose(account: &Account, answer: &Value, id: &str) -> String {
    let pending = answer["pendingId"].as_str().unwrap_or_else(|| panic!("a choice: {answer}"));
    let chosen =
        account.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [id]})).await;
    chosen.expect(201)[0]["id"].as_str().unwrap().to_string()
}

db_test!(async fn every_wave_one_platform_connects_in_one_workspace_and_takes_one_post(app, fakes = Fakes::start().await, fakes.options()) {
    let ada = app.register("ada@example.com").await;
    let platforms = app.anonymous().get("/api/platforms").await;
    let platforms = platforms.expect(200).as_array().unwrap().clone();
    for id in ["x", "linkedin", "linkedin-page", "reddit", "pinterest", "tumblr", "mastodon"] {
        let platform = platforms.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} listed"));
        assert_eq!(platform["configured"], true, "{platform}");
        assert_eq!(platform["callbackUrl"], format!("{}/api/auth/{id}/callback", app.address));
    }

    let mut ids = Vec::new();
    for platform in ["x", "linkedin", "reddit", "pinterest"] {
        let answer = sign_in(&app, &ada, platform, "").await;
        ids.push(answer["integrationId"].as_str().unwrap_or_else(|| panic!("{platform}: {answer}")).to_string());
    }
    ids.push(choose(&ada, &sign_in(&app, &ada, "linkedin-page", "").await, PAGES[0].0).await);
    ids.push(choose(&ada, &sign_in(&app, &ada, "tumblr", "").await, BLOGS[0].2).await);
    let instance = format!("?instance={}", fakes.mastodon.url());
    ids.push(sign_in(&app, &ada, "mastodon", &instance).await["integrationId"].as_str().unwrap().to_string());
    let listed = ada.session.get("/api/integrations").await;
    let listed = listed.expect(200).as_array().unwrap().clone();
    assert_eq!(listed.len(), 7);
    assert!(listed.iter().all(|i| i["status"] == "ACTIVE"));

    let media_id = id_of(ada.session.upload("launch.png", TINY_PNG.to_vec(), Some("Launch day")).await.expect(201));
    let reddit = &ids[2];
    let pinterest = &ids[3];
    let overrides = json!({
        reddit: {"settings": {"subreddit": "selfhosted"}},
        pinterest: {"settings": {"boardId": BOARDS[0].0}},
    });
    let post = ada.session.post("/api/posts", json!({"content": "Herald is out", "platforms": ids, "mediaIds": [media_id], "overrides": overrides})).await;
    let post_id = id_of(post.expect(201));
    let mut worker = app.worker();
    let mut delivered = 0;
    while delivered < 7 {
        let ran = worker.run_once().await.unwrap();
        assert!(ran > 0, "stalled after {delivered}");
        delivered += ran;
    }
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    assert_eq!(fakes.x.tweets().len(), 1);
    assert_eq!(fakes.linkedin.posts().len(), 2, "member and page");
    assert_eq!(fakes.reddit.things().len(), 1);
    assert_eq!(fakes.pinterest.pins().len(), 1);
    assert_eq!(fakes.tumblr.posts().len(), 1);
    assert_eq!(fakes.mastodon.statuses().len(), 1);
});
