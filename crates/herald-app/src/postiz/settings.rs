//! Postiz's per-provider `settings` in Herald's terms. Postiz names its
//! settings after its own DTOs (`who_can_reply_post`, `subreddit: [{value:
//! {…}}]`, YouTube's `type`); each one Herald can honour becomes the
//! provider's own setting, one that only asks for what Herald does anyway
//! is accepted, and anything else is a validation error naming the field —
//! never silently dropped. Herald's own setting names pass as they are.

use serde_json::{Map, Value, json};

use herald_core::ValidationErrors;

use super::body::Account;

/// What Herald does with one Postiz setting.
enum Rule {
    /// The same meaning under Herald's name.
    Rename(&'static str),
    /// Only Herald's own behaviour may be asked for (`false`, empty, or
    /// the listed value): anything else is refused with the reason.
    DefaultOnly(&'static [&'static str], &'static str),
    /// Has no effect in Postiz either unless another setting turns it on
    /// (which is then refused), e.g. the text of a disabled thread finisher.
    Inert,
    /// Converted by a function: Herald's settings, or why not.
    Convert(fn(&Value) -> Converted),
    /// The channel of a chat account: in Herald the account is one
    /// channel's webhook, so only that channel can be asked for.
    Channel,
}

/// Herald's settings (name, value) made from one Postiz setting, or why not.
type Converted = Result<Vec<(&'static str, Value)>, String>;

/// The Postiz settings each provider id knows.
fn rules(platform: &str) -> &'static [(&'static str, Rule)] {
    match platform {
        "x" => &[
            ("who_can_reply_post", Rule::DefaultOnly(&["everyone"], "Herald's X posts let everyone reply")),
            ("community", Rule::DefaultOnly(&[], "Herald does not post into X communities")),
            ("active_thread_finisher", Rule::DefaultOnly(&[], "Herald has no thread finisher; add it as a last reply")),
            ("thread_finisher", Rule::Inert),
        ],
        "linkedin" | "linkedin-page" => &[
            (
                "post_as_images_carousel",
                Rule::DefaultOnly(&[], "Herald posts LinkedIn images as images, not as a PDF carousel"),
            ),
            ("carousel_name", Rule::Inert),
            (
                "companyId",
                Rule::DefaultOnly(
                    &[],
                    "to post as a company page, connect the page as a `linkedin-page` account and post to that account",
                ),
            ),
        ],
        "reddit" => &[("subreddit", Rule::Convert(reddit_subreddit))],
        "lemmy" => &[("subreddit", Rule::Convert(lemmy_community))],
        "youtube" => &[
            ("title", Rule::Rename("title")),
            ("type", Rule::Convert(youtube_privacy)),
            ("selfDeclaredMadeForKids", Rule::Convert(youtube_made_for_kids)),
            ("tags", Rule::Convert(|v| labels(v).map(|tags| vec![("tags", tags)]))),
            ("thumbnail", Rule::DefaultOnly(&[], "Herald does not set YouTube thumbnails")),
        ],
        "tiktok" => &[
            ("privacy_level", Rule::Rename("privacy")),
            ("duet", Rule::Convert(|v| allowed("disableDuet", v))),
            ("stitch", Rule::Convert(|v| allowed("disableStitch", v))),
            ("comment", Rule::Convert(|v| allowed("disableComment", v))),
            ("autoAddMusic", Rule::DefaultOnly(&["no"], "Herald does not add music to TikTok posts")),
            ("brand_content_toggle", Rule::DefaultOnly(&[], "Herald does not mark TikTok posts as branded content")),
            ("brand_organic_toggle", Rule::DefaultOnly(&[], "Herald does not mark TikTok posts as promotions")),
            (
                "content_posting_method",
                Rule::DefaultOnly(&["DIRECT_POST"], "Herald posts to TikTok directly, not to the inbox"),
            ),
            ("video_made_with_ai", Rule::DefaultOnly(&[], "Herald does not set TikTok's AI-generated label")),
            ("title", Rule::DefaultOnly(&[], "Herald's TikTok posts use the post's text, without a title")),
        ],
        "instagram" | "instagram-standalone" => &[
            ("post_type", Rule::Rename("postType")),
            ("collaborators", Rule::DefaultOnly(&[], "Herald does not invite Instagram collaborators")),
            ("is_trial_reel", Rule::DefaultOnly(&[], "Herald does not publish trial reels")),
            ("graduation_strategy", Rule::Inert),
        ],
        "pinterest" => &[
            ("board", Rule::Rename("boardId")),
            ("title", Rule::Rename("title")),
            ("link", Rule::Rename("link")),
            ("dominant_color", Rule::DefaultOnly(&[], "Herald does not set a Pin's dominant colour")),
        ],
        "facebook" => &[("url", Rule::Rename("link"))],
        "devto" => &[
            ("title", Rule::Rename("title")),
            ("main_image", Rule::Convert(|v| image_path(v).map(|path| vec![("mainImage", path)]))),
            ("canonical", Rule::Rename("canonicalUrl")),
            ("organization", Rule::Convert(devto_organization)),
            ("tags", Rule::Convert(|v| labels(v).map(|tags| vec![("tags", tags)]))),
        ],
        "wordpress" => &[
            ("title", Rule::Rename("title")),
            ("type", Rule::DefaultOnly(&["post"], "Herald publishes WordPress posts, not pages")),
            ("main_image", Rule::DefaultOnly(&[], "Herald's WordPress posts take their images from the post's media")),
        ],
        "discord" | "slack" => &[("channel", Rule::Channel)],
        "gmb" => &[
            ("topicType", Rule::Rename("topic")),
            ("callToActionType", Rule::Rename("callToAction")),
            ("callToActionUrl", Rule::Rename("callToActionUrl")),
        ],
        _ => &[],
    }
}

/// The Postiz setting names Herald understands for a platform (for the
/// settings schema of `GET /public/v1/integration-settings/{id}`).
pub fn postiz_names(platform: &str) -> Vec<&'static str> {
    rules(platform).iter().map(|(name, _)| *name).collect()
}

/// Herald's settings for one account of a post, from Postiz's `settings`.
/// The provider's own setting names pass as they are (any name, for a
/// provider whose settings are open: a webhook takes whatever it is
/// given); `field` is where the settings sit in the request, for errors.
/// `__type`, Postiz's discriminator, must name the account's platform
/// (Herald's platform ids are Postiz's provider identifiers).
pub fn translate(
    account: &Account,
    settings: &Value,
    field: &str,
    errors: &mut ValidationErrors,
) -> Map<String, Value> {
    let platform = account.platform.as_str();
    let herald_names = &account.setting_names;
    let mut herald = Map::new();
    let object = match settings {
        Value::Null => return herald,
        Value::Object(object) => object,
        _ => {
            errors.push(field, "must be an object of this platform's settings");
            return herald;
        }
    };
    let rules = rules(platform);
    for (name, value) in object {
        let at = format!("{field}.{name}");
        if name == "__type" {
            if value.as_str().is_some_and(|t| t != platform) {
                errors.push(at, format!("is `{}` but the account is a `{platform}` account", text_of(value)));
            }
            continue;
        }
        match rules.iter().find(|(postiz, _)| postiz == name) {
            Some((_, Rule::Rename(to))) => {
                if !value.is_null() {
                    herald.insert((*to).to_string(), value.clone());
                }
            }
            Some((_, Rule::DefaultOnly(accepted, reason))) => {
                if !is_default(value, accepted) {
                    errors.push(at, format!("{reason} (`{}` cannot be honoured)", text_of(value)));
                }
            }
            Some((_, Rule::Inert)) => {}
            Some((_, Rule::Channel)) => {
                let asked = text_of(value);
                let same = account.channel.as_deref().is_some_and(|own| own == asked);
                if !(is_default(value, &[]) || same) {
                    let own = match &account.channel {
                        Some(own) => format!("channel {own}"),
                        None => "its own channel".to_string(),
                    };
                    errors.push(
                        at,
                        format!(
                            "this {platform} account is a webhook that posts to {own}; leave `channel` out, or connect the webhook of channel {asked} as another account"
                        ),
                    );
                }
            }
            Some((_, Rule::Convert(convert))) => match convert(value) {
                Ok(pairs) => herald.extend(pairs.into_iter().map(|(k, v)| (k.to_string(), v))),
                Err(message) => errors.push(at, message),
            },
            None if account.open_settings || herald_names.iter().any(|known| known == name) => {
                herald.insert(name.clone(), value.clone());
            }
            None => {
                let mut known: Vec<String> = rules.iter().map(|(n, _)| (*n).to_string()).collect();
                known.extend(herald_names.iter().cloned());
                let hint = if known.is_empty() {
                    format!("{platform} posts take no settings")
                } else {
                    format!("settings {platform} posts take: {}", known.join(", "))
                };
                errors.push(at, format!("is not a setting Herald knows for {platform}; {hint}"));
            }
        }
    }
    herald
}

/// Whether a value asks for nothing beyond Herald's behaviour: absent,
/// false, empty, or one of the accepted values.
fn is_default(value: &Value, accepted: &[&str]) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty() || accepted.iter().any(|a| a.eq_ignore_ascii_case(s)),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Postiz's `[{value, label}]` lists (tags) as plain strings.
fn labels(value: &Value) -> Result<Value, String> {
    let items = match value {
        Value::Null => return Ok(json!([])),
        Value::Array(items) => items,
        _ => return Err("must be a list of {value, label} objects".into()),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(json!(s)),
            Value::Object(o) => o
                .get("value")
                .or_else(|| o.get("label"))
                .and_then(Value::as_str)
                .map(|s| json!(s))
                .ok_or_else(|| "each item needs a `value` or `label` string".to_string()),
            _ => Err("must be a list of {value, label} objects".into()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// A Postiz media object (`{id, path}`) or a plain URL, as a URL.
fn image_path(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(path) => Ok(json!(path)),
        Value::Object(o) => {
            o.get("path").and_then(Value::as_str).map(|p| json!(p)).ok_or_else(|| "needs a `path`".to_string())
        }
        _ => Err("must be a media object with a `path`".into()),
    }
}

/// TikTok's `duet`/`stitch`/`comment` (allowed when true) as Herald's
/// `disable…` switches.
fn allowed(herald: &'static str, value: &Value) -> Converted {
    let on = match value {
        Value::Bool(b) => *b,
        Value::String(s) if s.eq_ignore_ascii_case("yes") || s == "true" => true,
        Value::String(s) if s.eq_ignore_ascii_case("no") || s == "false" => false,
        _ => return Err("must be true or false".into()),
    };
    Ok(vec![(herald, json!(!on))])
}

/// The one entry of Postiz's `subreddit: [{value: {…}}]` list.
fn only_entry(value: &Value, noun: &str) -> Result<Map<String, Value>, String> {
    let Value::Array(entries) = value else { return Err(format!("must be a list of {{value: …}} {noun} entries")) };
    match entries.as_slice() {
        [entry] => match entry.get("value").unwrap_or(entry) {
            Value::Object(o) => Ok(o.clone()),
            _ => Err(format!("each entry needs a `value` object describing the {noun}")),
        },
        [] => Err(format!("name the {noun} to post to")),
        _ => Err(format!(
            "Herald posts to one {noun} per account and post; make one post per {noun} (an account of each is fine)"
        )),
    }
}

fn reddit_subreddit(value: &Value) -> Converted {
    let entry = only_entry(value, "subreddit")?;
    let subreddit = entry.get("subreddit").and_then(Value::as_str).unwrap_or_default();
    let subreddit = subreddit.trim().trim_start_matches("/r/").trim_start_matches("r/");
    if subreddit.is_empty() {
        return Err("needs `value.subreddit`".into());
    }
    let mut out = vec![("subreddit", json!(subreddit))];
    if let Some(title) = entry.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        out.push(("title", json!(title)));
    }
    match entry.get("type").and_then(Value::as_str).unwrap_or("text") {
        "link" => match entry.get("url").and_then(Value::as_str).filter(|u| !u.is_empty()) {
            Some(url) => out.push(("url", json!(url))),
            None => return Err("a `link` post needs `value.url`".into()),
        },
        // A media post is the post's own media; a text post its text.
        "text" | "media" | "self" => {}
        other => return Err(format!("`value.type` `{other}` is not text, link or media")),
    }
    if let Some(id) = entry.get("flair").and_then(|f| f.get("id")).and_then(Value::as_str).filter(|i| !i.is_empty()) {
        out.push(("flairId", json!(id)));
    } else if entry.get("is_flair_required").and_then(Value::as_bool) == Some(true) {
        return Err("this subreddit requires a flair: set `value.flair.id` (see the getFlairs tool)".into());
    }
    Ok(out)
}

fn lemmy_community(value: &Value) -> Converted {
    let entry = only_entry(value, "community")?;
    let community = entry
        .get("id")
        .filter(|id| id.as_str().is_none_or(|s| !s.is_empty()) && !id.is_null())
        .or_else(|| entry.get("subreddit"))
        .cloned()
        .unwrap_or(Value::Null);
    let community = match community {
        Value::String(s) if s.trim().parse::<i64>().is_ok() => json!(s.trim().parse::<i64>().unwrap_or_default()),
        Value::String(s) if !s.trim().is_empty() => json!(s.trim().trim_start_matches('!')),
        Value::Number(n) => Value::Number(n),
        _ => return Err("needs `value.id` or `value.subreddit` naming the community".into()),
    };
    let mut out = vec![("communityId", community)];
    if let Some(title) = entry.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        out.push(("title", json!(title)));
    }
    if let Some(url) = entry.get("url").and_then(Value::as_str).filter(|u| !u.is_empty()) {
        out.push(("url", json!(url)));
    }
    Ok(out)
}

fn youtube_privacy(value: &Value) -> Converted {
    match value.as_str() {
        Some(kind @ ("public" | "private" | "unlisted")) => Ok(vec![("privacy", json!(kind))]),
        _ => Err("must be public, private or unlisted".into()),
    }
}

fn youtube_made_for_kids(value: &Value) -> Converted {
    match value {
        Value::String(s) if s == "yes" => Ok(vec![("madeForKids", json!(true))]),
        Value::String(s) if s == "no" => Ok(vec![("madeForKids", json!(false))]),
        Value::Bool(b) => Ok(vec![("madeForKids", json!(b))]),
        _ => Err("must be yes or no".into()),
    }
}

fn devto_organization(value: &Value) -> Converted {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::Number(n) if n.is_i64() => Ok(vec![("organizationId", Value::Number(n.clone()))]),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(|id| vec![("organizationId", json!(id))])
            .map_err(|_| "must be the numeric id of a DEV organization".into()),
        _ => Err("must be the numeric id of a DEV organization".into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn account(platform: &str, herald: &[&str]) -> Account {
        Account {
            platform: platform.to_string(),
            setting_names: herald.iter().map(|s| (*s).to_string()).collect(),
            open_settings: false,
            channel: None,
        }
    }

    fn run(platform: &str, settings: Value, herald: &[&str]) -> (Map<String, Value>, Vec<(String, String)>) {
        let mut errors = ValidationErrors::default();
        let out = translate(&account(platform, herald), &settings, "posts[0].settings", &mut errors);
        (out, errors.0.into_iter().map(|e| (e.field, e.message)).collect())
    }

    #[test]
    fn reddit_subreddit_entries_become_herald_settings() {
        let (out, errors) = run(
            "reddit",
            json!({"__type": "reddit", "subreddit": [{"value": {"subreddit": "programming", "title": "Hi", "type": "link", "url": "https://example.com", "is_flair_required": true, "flair": {"id": "f1", "name": "News"}}}]}),
            &["subreddit", "title"],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            Value::Object(out),
            json!({"subreddit": "programming", "title": "Hi", "url": "https://example.com", "flairId": "f1"})
        );
        let (_, errors) =
            run("reddit", json!({"subreddit": [{"value": {"subreddit": "a"}}, {"value": {"subreddit": "b"}}]}), &[]);
        assert_eq!(errors[0].0, "posts[0].settings.subreddit");
        assert!(errors[0].1.contains("one subreddit"), "{errors:?}");
        let (_, errors) =
            run("reddit", json!({"subreddit": [{"value": {"subreddit": "a", "is_flair_required": true}}]}), &[]);
        assert!(errors[0].1.contains("flair"), "{errors:?}");
    }

    #[test]
    fn what_herald_does_anyway_is_accepted_and_anything_else_named() {
        let (out, errors) = run(
            "x",
            json!({"who_can_reply_post": "everyone", "active_thread_finisher": false, "thread_finisher": "bye"}),
            &[],
        );
        assert!(errors.is_empty() && out.is_empty(), "{errors:?} {out:?}");
        let (_, errors) = run("x", json!({"who_can_reply_post": "following"}), &[]);
        assert_eq!(errors[0].0, "posts[0].settings.who_can_reply_post");
        assert!(errors[0].1.contains("everyone"), "{errors:?}");
        let (_, errors) = run("x", json!({"colour": "red"}), &[]);
        assert_eq!(errors[0].0, "posts[0].settings.colour");
        assert!(errors[0].1.contains("who_can_reply_post"), "{errors:?}");
        let (_, errors) = run("bluesky", json!({"colour": "red"}), &["langs"]);
        assert!(errors[0].1.contains("langs"), "{errors:?}");
        let mut errors = ValidationErrors::default();
        let webhook = Account { open_settings: true, ..account("webhook", &[]) };
        let out = translate(&webhook, &json!({"anything": 1}), "s", &mut errors);
        assert!(errors.is_empty());
        assert_eq!(out["anything"], 1);
    }

    #[test]
    fn herald_names_pass_and_postiz_names_are_renamed() {
        let (out, errors) = run(
            "youtube",
            json!({"title": "Video", "type": "unlisted", "selfDeclaredMadeForKids": "no", "tags": [{"value": "tech", "label": "Tech"}], "categoryId": "22"}),
            &["title", "privacy", "tags", "categoryId", "madeForKids"],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            Value::Object(out),
            json!({"title": "Video", "privacy": "unlisted", "madeForKids": false, "tags": ["tech"], "categoryId": "22"})
        );
        let (out, _) = run(
            "tiktok",
            json!({"privacy_level": "SELF_ONLY", "duet": false, "stitch": true, "comment": true, "content_posting_method": "DIRECT_POST", "autoAddMusic": "no"}),
            &[],
        );
        assert_eq!(
            Value::Object(out),
            json!({"privacy": "SELF_ONLY", "disableDuet": true, "disableStitch": false, "disableComment": false})
        );
    }

    #[test]
    fn the_type_must_be_the_accounts_own() {
        let mut errors = ValidationErrors::default();
        translate(&account("linkedin-page", &[]), &json!({"__type": "x"}), "s", &mut errors);
        assert_eq!(errors.0[0].field, "s.__type");
        let mut errors = ValidationErrors::default();
        translate(&account("x", &[]), &json!("text"), "s", &mut errors);
        assert_eq!(errors.0[0].field, "s");
    }

    #[test]
    fn a_chat_channel_must_be_the_webhooks_own() {
        let discord = Account { channel: Some("111".into()), ..account("discord", &["username"]) };
        let mut errors = ValidationErrors::default();
        let out =
            translate(&discord, &json!({"__type": "discord", "channel": "111", "username": "Bot"}), "s", &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.0);
        assert_eq!(Value::Object(out), json!({"username": "Bot"}));
        translate(&discord, &json!({"channel": "222"}), "s", &mut errors);
        assert_eq!(errors.0[0].field, "s.channel");
        assert!(errors.0[0].message.contains("channel 111"), "{:?}", errors.0);
        let mut errors = ValidationErrors::default();
        translate(&account("slack", &[]), &json!({"channel": "C1"}), "s", &mut errors);
        assert!(errors.0[0].message.contains("its own channel"), "{:?}", errors.0);
    }
}
