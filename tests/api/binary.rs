//! The real binary: its CLI and its migrate command.

use std::process::Command;

fn firebreak() -> Command {
    Command::new(env!("CARGO_BIN_EXE_firebreak"))
}

#[test]
fn help_lists_the_commands() {
    let output = firebreak().arg("--help").output().expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("serve") && text.contains("migrate"), "{text}");
}

#[test]
fn migrate_creates_the_schema_in_a_fresh_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fresh.db");
    let output = firebreak()
        .arg("migrate")
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", file.display()),
        )
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(file.exists());
    // Running it again is a no-op, not an error.
    let again = firebreak()
        .arg("migrate")
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", file.display()),
        )
        .output()
        .expect("runs");
    assert!(again.status.success());
}

#[test]
fn a_typo_in_the_configuration_stops_start_up_with_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = firebreak()
        .arg("migrate")
        .current_dir(dir.path())
        .env("FIREBREAK__SERVER__ADRESS", "x")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("adress"), "{text}");
}

#[test]
fn slack_manifest_prints_an_app_manifest_for_the_given_url() {
    let output = firebreak()
        .args(["slack", "manifest", "--url", "https://bot.example.com"])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("JSON manifest");
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        "https://bot.example.com/slack/interactions"
    );
    assert_eq!(
        manifest["features"]["slash_commands"][0]["command"],
        "/incident"
    );
}

#[test]
fn teams_manifest_writes_an_app_package_to_upload() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory that does not exist yet is created.
    let out = dir.path().join("dist").join("app.zip");
    let output = firebreak()
        .args([
            "teams",
            "manifest",
            "--app-id",
            "00000000-0000-4000-8000-00000000b07a",
            "--url",
            "https://bot.example.com",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let zip = std::fs::read(&out).expect("package written");
    assert!(zip.starts_with(b"PK\x03\x04"), "a zip file");
    for name in ["manifest.json", "color.png", "outline.png"] {
        assert!(
            zip.windows(name.len())
                .any(|window| window == name.as_bytes()),
            "{name} is in the package"
        );
    }
    let refused = firebreak()
        .args([
            "teams",
            "manifest",
            "--app-id",
            "not-a-guid",
            "--url",
            "https://bot.example.com",
        ])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(!refused.status.success());
}

#[test]
fn the_ingest_benchmark_runs_and_prints_its_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = firebreak()
        .args(["bench", "ingest", "--events", "200", "--clients", "4"])
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    // Numbers are not asserted, only that every line is there.
    for line in [
        "slack_ingest_acks 200 events",
        "slack_ingest_failed 0 events",
        "bare_handler_acks 200 events",
    ] {
        assert!(table.contains(line), "{line:?} missing in:\n{table}");
    }
    for name in [
        "slack_ingest_rate",
        "slack_ingest_latency_p99",
        "slack_ingest_ratio",
    ] {
        assert!(
            table.lines().any(|line| line.starts_with(name)),
            "{name} missing in:\n{table}"
        );
    }
}

#[test]
fn the_commands_benchmark_runs_and_prints_its_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = firebreak()
        .args([
            "bench",
            "commands",
            "--incidents",
            "1,3",
            "--commands",
            "20",
        ])
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    for line in [
        "commands_1_incidents_applied 20 commands",
        "commands_3_incidents_applied 20 commands",
    ] {
        assert!(table.contains(line), "{line:?} missing in:\n{table}");
    }
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("commands_3_incidents_rate")),
        "{table}"
    );
}

#[test]
fn the_rehydrate_benchmark_runs_and_prints_its_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = firebreak()
        .args(["bench", "rehydrate", "--incidents", "25"])
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("rehydrate_open_incidents 25 incidents"),
        "{table}"
    );
    for name in ["rehydrate_start_to_ready", "actors_memory_per_incident"] {
        assert!(
            table.lines().any(|line| line.starts_with(name)),
            "{name} missing in:\n{table}"
        );
    }
}
