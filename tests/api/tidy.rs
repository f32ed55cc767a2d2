//! Invariants of the code's shape that the design relies on, checked so
//! they cannot drift silently.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("readable source folder")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files
}

fn offenders(dir: &str, words: &[&str], case_insensitive: bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            // Prose may name what the code must not use.
            if line.trim_start().starts_with("//") {
                continue;
            }
            let haystack = if case_insensitive {
                line.to_lowercase()
            } else {
                line.to_owned()
            };
            for word in words {
                if haystack.contains(word) {
                    found.push(format!("{}:{}: {word}", file.display(), number + 1));
                }
            }
        }
    }
    found
}

#[test]
fn the_engine_never_names_a_chat_platform() {
    let found = offenders("actors/src", &["slack", "teams", "matrix"], true);
    assert!(
        found.is_empty(),
        "platform names belong in adapters/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_incident_domain_is_free_of_actors_storage_and_the_clock() {
    let found = offenders(
        "actors/src/incident",
        &[
            "actix",
            "sea_orm",
            "tokio",
            "Utc::now",
            "SystemTime",
            "Instant::now",
            "std::env",
        ],
        false,
    );
    assert!(
        found.is_empty(),
        "the domain takes time as a value and does no I/O:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_says_what_it_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for dir in ["src", "adapters/src", "actors/src", "migrations/src"] {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).expect("readable source");
            let is_entity = file.components().any(|part| part.as_os_str() == "entity")
                && file.file_name().is_some_and(|name| name != "mod.rs");
            if !is_entity && !text.trim_start().starts_with("//!") {
                missing.push(file.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "modules without a //! header:\n{}",
        missing.join("\n")
    );
}
