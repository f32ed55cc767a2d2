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

/// Runs `firebreak bench …` on a temporary SQLite file and returns the
/// table it printed. Numbers are never asserted, only what must hold
/// whatever the machine: every line is there, nothing was lost.
fn bench_table(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = firebreak()
        .arg("bench")
        .args(args)
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_table(table: &str, exact: &[&str], named: &[&str]) {
    for line in exact {
        assert!(
            table.lines().any(|candidate| candidate == *line),
            "{line:?} missing in:\n{table}"
        );
    }
    for name in named {
        assert!(
            table
                .lines()
                .any(|line| line.starts_with(&format!("{name} ")) && !line.contains("n/a")),
            "{name} missing or n/a in:\n{table}"
        );
    }
}

#[test]
fn the_timers_benchmark_fires_every_timer_and_prints_its_table() {
    let table = bench_table(&["timers", "--count", "200", "--spread-ms", "50"]);
    assert_table(
        &table,
        &["timers_pending 200 timers", "timers_fired 200 timers"],
        &["timers_memory_per_timer", "timers_lateness_p99"],
    );
}

#[test]
fn the_ingest_benchmark_runs_and_prints_its_table() {
    let table = bench_table(&["ingest", "--events", "200", "--clients", "4"]);
    assert_table(
        &table,
        &[
            "slack_ingest_acks 200 events",
            "slack_ingest_failed 0 events",
            "bare_handler_acks 200 events",
            "slack_ingest_at_1000_per_s_acks 200 events",
            "slack_ingest_at_1000_per_s_failed 0 events",
        ],
        &[
            "slack_ingest_rate",
            "slack_ingest_latency_p99",
            "slack_ingest_ratio",
            "slack_ingest_at_1000_per_s_latency_p99",
        ],
    );
}

#[test]
fn the_commands_benchmark_runs_and_prints_its_table() {
    let table = bench_table(&["commands", "--incidents", "1,3", "--commands", "20"]);
    assert_table(
        &table,
        &[
            "commands_1_incidents_applied 20 commands",
            "commands_3_incidents_applied 20 commands",
        ],
        &["commands_3_incidents_rate"],
    );
}

#[test]
fn the_rehydrate_benchmark_runs_and_prints_its_table() {
    let table = bench_table(&["rehydrate", "--incidents", "25"]);
    assert_table(
        &table,
        &["rehydrate_open_incidents 25 incidents"],
        &["rehydrate_start_to_ready", "actors_memory_per_incident"],
    );
}

#[test]
fn the_storm_benchmark_drains_every_incident_through_a_rate_limited_slack() {
    let table = bench_table(&[
        "storm",
        "--incidents",
        "12",
        "--within-s",
        "1",
        "--speed",
        "200",
    ]);
    assert_table(
        &table,
        &[
            "storm_declared 12 incidents",
            "storm_declare_failed 0 incidents",
            "storm_channels_created 12 channels",
            "storm_headlines_posted 12 headlines",
        ],
        &[
            "storm_drain_time",
            "storm_slack_429s",
            "storm_api_latency_ratio",
        ],
    );
}

#[test]
fn the_alert_storm_benchmark_opens_one_incident_per_service() {
    let table = bench_table(&[
        "storm",
        "--incidents",
        "12",
        "--within-s",
        "1",
        "--speed",
        "200",
        "--alert-services",
        "3",
    ]);
    assert_table(
        &table,
        &[
            "storm_alerts_sent 12 alerts",
            "storm_alerts_failed 0 alerts",
            "storm_incidents_opened 3 incidents",
            "storm_incidents_per_alert 0.250 incidents",
            "storm_channels_created 3 channels",
            "storm_headlines_posted 3 headlines",
        ],
        &["storm_drain_time", "storm_alerts_filed_time"],
    );
}

#[test]
fn the_actors_benchmark_runs_and_prints_its_table() {
    let table = bench_table(&["actors", "--incidents", "5,10"]);
    assert_table(
        &table,
        &[],
        &[
            "actors_5_live_declare_time",
            "actors_10_live_memory_per_actor",
        ],
    );
}

#[test]
fn the_footprint_benchmark_runs_and_prints_its_table() {
    let table = bench_table(&["footprint", "--incidents", "20"]);
    assert_table(
        &table,
        &["footprint_build debug -"],
        &[
            "footprint_binary_size",
            "footprint_idle_rss",
            "footprint_start_to_ready_empty",
            "footprint_start_to_ready_20_incidents",
        ],
    );
}

#[test]
fn the_load_benchmark_sends_mixed_traffic_without_an_error() {
    let table = bench_table(&["load", "--seconds", "1", "--rate", "60"]);
    assert_table(
        &table,
        &[
            "load_requests 60 requests",
            "load_errors 0 requests",
            "load_inbox_backlog_end 0 rows",
        ],
        &["load_rss_start", "load_rss_end", "load_latency_p99"],
    );
}

/// Waits until `child` listens on `port`; fails if it exits first.
fn wait_listening(child: &mut std::process::Child, port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().expect("waitable").is_none(),
            "serve exited before it listened"
        );
        assert!(std::time::Instant::now() < deadline, "serve never listened");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_second_serve_on_one_sqlite_file_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("one.db").display());
    let serve = |port: u16| {
        firebreak()
            .arg("serve")
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .env("FIREBREAK__SERVER__ADDR", format!("127.0.0.1:{port}"))
            .env("FIREBREAK__LOG__LEVEL", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts")
    };
    let port = crate::support::free_port();
    let mut first = serve(port);
    wait_listening(&mut first, port);
    let mut second = serve(crate::support::free_port());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().expect("waitable") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            let _ = first.kill();
            panic!("the second serve kept running beside the first");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("piped"), &mut stderr)
        .expect("stderr");
    let _ = first.kill();
    let _ = first.wait();
    assert!(!status.success());
    assert!(
        stderr.contains("another firebreak process is serving the SQLite database"),
        "{stderr}"
    );
    // Once the first is gone (killed: the kernel lets its lock go), the
    // database is free again.
    let port = crate::support::free_port();
    let mut third = serve(port);
    wait_listening(&mut third, port);
    let _ = third.kill();
    let _ = third.wait();
}
