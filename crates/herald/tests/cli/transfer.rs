//! `herald export` and `herald import` with the real binary: a workspace
//! exported to a file is imported into another instance (dry run first,
//! then `--apply`), a folder of YAML files imports idempotently, and a bad
//! row saves nothing and fails the command.

use herald_testkit::WebhookReceiver;
use serde_json::{Value, json};

use crate::delivery::{SECRET, set_up, with_engine_env};
use crate::{Server, herald, run, text};

async fn contents(client: &reqwest::Client, base: &str, key: &str) -> Vec<String> {
    let page: Value =
        client.get(format!("{base}/api/posts")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
    let mut contents: Vec<String> =
        page["posts"].as_array().unwrap().iter().map(|p| p["content"].as_str().unwrap().to_string()).collect();
    contents.sort();
    contents
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_with_the_cli_moves_posts_between_instances() {
    let receiver = WebhookReceiver::start(SECRET).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(with_engine_env(herald(dir_a.path()), None), dir_a.path());
    let (client, key_a, hook_a) = set_up(&a.base, &receiver).await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    for body in [
        json!({"content": "A draft", "status": "DRAFT", "platforms": [hook_a]}),
        json!({"content": "Planned, with a reply", "platforms": [hook_a], "scheduledFor": tomorrow, "thread": [{"content": "the reply"}]}),
    ] {
        let created =
            client.post(format!("{}/api/posts", a.base)).bearer_auth(&key_a).json(&body).send().await.unwrap();
        assert_eq!(created.status(), 201);
    }

    let file = dir_a.path().join("posts.yaml");
    let exported = run(herald(dir_a.path()).args(["export", "--api-key", &key_a, "--output"]).arg(&file), None);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains("Planned, with a reply") && yaml.contains("the reply"), "{yaml}");
    let csv = run(herald(dir_a.path()).args(["export", "--api-key", &key_a, "--format", "csv"]), None);
    assert!(text(&csv.stdout).starts_with("externalId,status,scheduledFor,content"), "{}", text(&csv.stdout));

    let b = Server::start(with_engine_env(herald(dir_b.path()), None), dir_b.path());
    let (_, key_b, _) = set_up(&b.base, &receiver).await;
    let checked = run(herald(dir_b.path()).args(["import", "--api-key", &key_b]).arg(&file), None);
    assert!(checked.status.success(), "{}{}", text(&checked.stdout), text(&checked.stderr));
    assert!(text(&checked.stdout).contains("2 would be created"), "{}", text(&checked.stdout));
    assert!(text(&checked.stdout).contains("Dry run: nothing was saved"));
    assert!(contents(&client, &b.base, &key_b).await.is_empty());
    let applied = run(herald(dir_b.path()).args(["import", "--apply", "--api-key", &key_b]).arg(&file), None);
    assert!(applied.status.success(), "{}{}", text(&applied.stdout), text(&applied.stderr));
    assert!(text(&applied.stdout).contains("2 were created"), "{}", text(&applied.stdout));
    assert_eq!(contents(&client, &b.base, &key_b).await, contents(&client, &a.base, &key_a).await);

    // Content as code: a folder of YAML files, imported again unchanged.
    let folder = dir_b.path().join("posts");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("01-monday.yaml"), "- externalId: monday\n  content: Monday notes\n").unwrap();
    std::fs::write(folder.join("02-tuesday.yml"), "posts:\n  - externalId: tuesday\n    content: Tuesday notes\n")
        .unwrap();
    std::fs::write(folder.join("README.md"), "not a post").unwrap();
    let first = run(herald(dir_b.path()).args(["import", "--apply", "--api-key", &key_b]).arg(&folder), None);
    assert!(text(&first.stdout).contains("01-monday.yaml:1 (monday): created"), "{}", text(&first.stdout));
    assert!(text(&first.stdout).contains("02-tuesday.yml:1 (tuesday): created"), "{}", text(&first.stdout));
    let second = run(herald(dir_b.path()).args(["import", "--apply", "--api-key", &key_b]).arg(&folder), None);
    assert!(text(&second.stdout).contains("2 skipped"), "{}", text(&second.stdout));

    // One bad row: nothing saved, a readable report, a failing exit code.
    std::fs::write(
        folder.join("03-bad.yaml"),
        "- externalId: wednesday\n  content: x\n  platforms: [\"nowhere:nobody\"]\n",
    )
    .unwrap();
    let bad = run(herald(dir_b.path()).args(["import", "--apply", "--api-key", &key_b]).arg(&folder), None);
    assert_eq!(bad.status.code(), Some(1));
    let report = text(&bad.stdout);
    assert!(
        report.contains("03-bad.yaml:1 (wednesday): error") && report.contains("platforms[0]: no nowhere account"),
        "{report}"
    );
    assert!(report.contains("Nothing was saved"), "{report}");
    let refused = run(herald(dir_b.path()).args(["import", "--api-key", "ptz_not-a-key"]).arg(&folder), None);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("the API key was refused"), "{}", text(&refused.stderr));
}
