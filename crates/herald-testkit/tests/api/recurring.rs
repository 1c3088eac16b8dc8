//! Recurring and evergreen posts (DESIGN §11): an RRULE series read in its
//! time zone across DST, occurrences listed, each published once even with
//! two rounds racing, a series stopped by deleting its post; an evergreen
//! post re-queued N days after it went out.

use chrono::{DateTime, Utc};
use herald_testkit::{TestOptions, WebhookReceiver, db_test, id_of};
use serde_json::{Value, json};

const SECRET: &str = "a-webhook-secret-of-some-length";

fn utc(raw: &str) -> DateTime<Utc> {
    raw.parse().unwrap()
}

fn times(listing: &Value) -> Vec<String> {
    listing["occurrences"].as_array().unwrap().iter().map(|o| o["scheduledFor"].as_str().unwrap().to_string()).collect()
}

fn statuses(listing: &Value) -> Vec<String> {
    listing["occurrences"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap().to_string()).collect()
}

db_test!(async fn a_weekly_nine_oclock_berlin_post_keeps_its_hour_across_dst_and_goes_out_once_per_week(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    // A key, since the clock moves further than a session lasts.
    let api = app.with_key(&ada.api_key(None).await);
    app.clock().set(utc("2027-03-20T12:00:00Z"));

    // Monday 22 March 2027, 09:00 in Berlin (CET, UTC+1); summer time starts on the 28th.
    let created = api.post("/api/posts", json!({
        "content": "Weekly digest",
        "platforms": [hook],
        "scheduledFor": "2027-03-22T09:00:00+01:00",
        "recurrence": {"rule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Berlin"}
    })).await;
    let created = created.expect(201).clone();
    let first = id_of(&created);
    assert_eq!(created["recurrence"]["rule"], "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(created["recurrence"]["timezone"], "Europe/Berlin");
    assert_eq!(utc(created["nextOccurrenceAt"].as_str().unwrap()), utc("2027-03-29T07:00:00Z"));

    let listing = api.get(&format!("/api/posts/{first}/occurrences?limit=40")).await.expect(200).clone();
    let listed: Vec<DateTime<Utc>> = times(&listing).iter().map(|t| utc(t)).collect();
    assert_eq!(listed[..3], [utc("2027-03-22T08:00:00Z"), utc("2027-03-29T07:00:00Z"), utc("2027-04-05T07:00:00Z")]);
    // Winter time is back on Sunday 31 October: 09:00 is 08:00 UTC again.
    assert!(listed.contains(&utc("2027-10-25T07:00:00Z")), "{listed:?}");
    assert!(listed.contains(&utc("2027-11-01T08:00:00Z")), "{listed:?}");
    assert_eq!(statuses(&listing)[..2], ["SCHEDULED".to_string(), "PLANNED".to_string()]);

    // The first post goes out at its time.
    app.clock().set(utc("2027-03-22T08:00:01Z"));
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 1);

    // Shortly before the next Monday the occurrence becomes a post, once,
    // however many rounds race for it.
    app.clock().set(utc("2027-03-29T06:50:00Z"));
    let (a, b) = tokio::join!(app.app.run_series_once(), app.app.run_series_once());
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one post for one occurrence");
    assert_eq!(app.app.run_series_once().await.unwrap(), 0);
    let listing = api.get(&format!("/api/posts/{first}/occurrences")).await.expect(200).clone();
    let second = listing["occurrences"][1].clone();
    assert_eq!(utc(second["scheduledFor"].as_str().unwrap()), utc("2027-03-29T07:00:00Z"));
    assert_eq!(second["status"], "SCHEDULED");
    let second_id = second["postId"].as_str().unwrap().to_string();
    let occurrence = api.get(&format!("/api/posts/{second_id}")).await.expect(200).clone();
    assert_eq!(occurrence["seriesId"], first.as_str());
    assert_eq!(occurrence["content"], "Weekly digest");

    app.clock().set(utc("2027-03-29T07:00:01Z"));
    app.worker().run_once().await.unwrap();
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 2, "one delivery per occurrence");
    let listing = api.get(&format!("/api/posts/{first}/occurrences")).await.expect(200).clone();
    assert_eq!(statuses(&listing)[..3], ["PUBLISHED".to_string(), "PUBLISHED".to_string(), "PLANNED".to_string()]);
    // An occurrence answers for its series.
    let from_occurrence = api.get(&format!("/api/posts/{second_id}/occurrences")).await.expect(200).clone();
    assert_eq!(from_occurrence["postId"], first.as_str());

    // Herald down for a whole week: the missed occurrence is skipped, not sent late.
    app.clock().set(utc("2027-04-05T12:00:00Z"));
    assert_eq!(app.app.run_series_once().await.unwrap(), 0);
    let listing = api.get(&format!("/api/posts/{first}/occurrences")).await.expect(200).clone();
    assert_eq!(statuses(&listing)[2], "SKIPPED");
    assert_eq!(utc(listing["nextOccurrenceAt"].as_str().unwrap()), utc("2027-04-12T07:00:00Z"));

    // Made ahead, then the series is stopped by deleting its post: the
    // pending occurrence goes too; published ones stay.
    app.clock().set(utc("2027-04-12T06:50:00Z"));
    assert_eq!(app.app.run_series_once().await.unwrap(), 1);
    let listing = api.get(&format!("/api/posts/{first}/occurrences")).await.expect(200).clone();
    let pending = listing["occurrences"][3]["postId"].as_str().unwrap().to_string();
    api.delete(&format!("/api/posts/{first}")).await.expect(204);
    api.get(&format!("/api/posts/{pending}")).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/posts/{second_id}")).await.expect(200);
    app.clock().set(utc("2027-04-19T07:00:01Z"));
    assert_eq!(app.app.run_series_once().await.unwrap(), 0);
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 2, "nothing after the series stopped");
});

db_test!(async fn count_ends_a_series_and_null_stops_one(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    // A key, since the clock moves further than a session lasts.
    let api = app.with_key(&ada.api_key(None).await);
    app.clock().set(utc("2027-01-01T00:00:00Z"));
    let body = json!({
        "content": "Daily tip",
        "platforms": [hook],
        "scheduledFor": "2027-01-02T10:00:00Z",
        "recurrence": {"rule": "RRULE:FREQ=DAILY;COUNT=3", "timezone": "UTC"}
    });
    let post = id_of(api.post("/api/posts", body).await.expect(201));
    let listing = api.get(&format!("/api/posts/{post}/occurrences")).await.expect(200).clone();
    assert_eq!(times(&listing).len(), 3, "COUNT counts the first post");
    assert_eq!(listing["recurrence"]["count"], 3);

    // Editing keeps the series; `recurrence: null` stops it.
    let edited = api.put(&format!("/api/posts/{post}"), json!({"content": "Daily tip!"})).await;
    assert_eq!(edited.expect(200)["recurrence"]["count"], 3);
    let stopped = api.put(&format!("/api/posts/{post}"), json!({"recurrence": null})).await.expect(200).clone();
    assert!(stopped["recurrence"].is_null());
    assert!(stopped["nextOccurrenceAt"].is_null());

    // A draft's series does not run until the post is scheduled.
    let draft = json!({"content": "later", "platforms": [hook], "status": "DRAFT", "scheduledFor": "2027-01-05T10:00:00Z",
        "evergreen": {"everyDays": 10}});
    let draft = api.post("/api/posts", draft).await.expect(201).clone();
    assert_eq!(draft["evergreen"]["everyDays"], 10);
    assert!(draft["nextOccurrenceAt"].is_null());
});

db_test!(async fn an_evergreen_post_is_requeued_every_n_days_after_it_went_out(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    // A key, since the clock moves further than a session lasts.
    let api = app.with_key(&ada.api_key(None).await);
    ada.session.patch(&format!("/api/integrations/{hook}"), json!({"postingTimes": [600], "timezone": "UTC"})).await.expect(200);
    app.clock().set(utc("2027-05-03T09:00:00Z"));
    let body = json!({"content": "Our best guide", "platforms": [hook], "scheduledFor": "2027-05-03T09:30:00Z",
        "evergreen": {"everyDays": 7, "until": "2027-05-15T00:00:00Z"}});
    let post = id_of(api.post("/api/posts", body).await.expect(201));
    app.clock().set(utc("2027-05-03T09:30:01Z"));
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 1);

    // Seven days after it went out, into the account's next free slot (10:00).
    app.clock().set(utc("2027-05-10T09:20:00Z"));
    assert_eq!(app.app.run_series_once().await.unwrap(), 1);
    let listing = api.get(&format!("/api/posts/{post}/occurrences")).await.expect(200).clone();
    let again = &listing["occurrences"][1];
    assert_eq!(utc(again["scheduledFor"].as_str().unwrap()), utc("2027-05-10T10:00:00Z"));
    app.clock().set(utc("2027-05-10T10:00:01Z"));
    app.worker().run_once().await.unwrap();
    assert_eq!(receiver.accepted_unique().len(), 2);

    // The next time would be after `until`: the post is not queued again.
    app.clock().set(utc("2027-05-17T10:00:00Z"));
    assert_eq!(app.app.run_series_once().await.unwrap(), 0);
    let listing = api.get(&format!("/api/posts/{post}/occurrences")).await.expect(200).clone();
    assert!(listing["nextOccurrenceAt"].is_null(), "{listing}");
});

db_test!(async fn bad_series_are_refused_with_their_field(app) {
    let ada = app.register("ada@example.com").await;
    let hook = app.add_integration(&ada, "mastodon").await;
    let post = |recurrence: Value| json!({"content": "x", "platforms": [hook], "scheduledFor": herald_testkit::in_minutes(60), "recurrence": recurrence});
    for (recurrence, field) in [
        (json!({"rule": "FREQ=SOMETIMES"}), "recurrence.rule"),
        (json!({"rule": "FREQ=MINUTELY"}), "recurrence.rule"),
        (json!({"rule": "FREQ=DAILY", "timezone": "Mars/Olympus"}), "recurrence.timezone"),
        (json!({"rule": "FREQ=DAILY;COUNT=2", "count": 3}), "recurrence.count"),
    ] {
        let answer = ada.session.post("/api/posts", post(recurrence.clone())).await;
        let body = answer.expect_error(422, "VALIDATION_FAILED");
        assert!(body.to_string().contains(field), "{recurrence}: {body}");
    }
    let both = json!({"content": "x", "platforms": [hook], "scheduledFor": herald_testkit::in_minutes(60),
        "recurrence": {"rule": "FREQ=DAILY"}, "evergreen": {"everyDays": 3}});
    ada.session.post("/api/posts", both).await.expect_error(422, "VALIDATION_FAILED");
    let zero = json!({"content": "x", "platforms": [hook], "scheduledFor": herald_testkit::in_minutes(60), "evergreen": {"everyDays": 0}});
    ada.session.post("/api/posts", zero).await.expect_error(422, "VALIDATION_FAILED");
    // The dry run reports the same.
    let checked = ada.session.post("/api/posts/validate", post(json!({"rule": "FREQ=MINUTELY"}))).await.expect(200).clone();
    assert_eq!(checked["valid"], false);
    ada.session.get(&format!("/api/posts/{}/occurrences?limit=0", uuid::Uuid::now_v7())).await.expect_error(422, "VALIDATION_FAILED");
});
