//! One database per test. SQLite: a file in a temporary directory.
//! PostgreSQL (when `FIREBREAK_TEST_DATABASE_URL` is set): a new database
//! on that server, dropped when the test ends, so runs never collide.

use sea_orm::{ConnectionTrait, Database};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct TestDatabase {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        match std::env::var("FIREBREAK_TEST_DATABASE_URL") {
            Ok(server_url) if !server_url.is_empty() => Self::postgres(server_url).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("firebreak.db").display()
        );
        TestDatabase {
            url,
            kind: Kind::Sqlite(dir),
        }
    }

    async fn postgres(server_url: String) -> TestDatabase {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "firebreak_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = Database::connect(&server_url)
            .await
            .expect("connect to the test server");
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .expect("drop leftover test database");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = replace_database(&server_url, &name);
        TestDatabase {
            url,
            kind: Kind::Postgres { server_url, name },
        }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kind::Postgres { server_url, name } = &self.kind else {
            return;
        };
        let (server_url, name) = (server_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on:
        // drop the database from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&server_url).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// `postgres://user@host:5432/test?x=y` with its database swapped.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_end..].find('/').map(|i| i + authority_end);
    let host = match path_start {
        Some(start) => &base[..start],
        None => base,
    };
    match query {
        Some(query) => format!("{host}/{database}?{query}"),
        None => format!("{host}/{database}"),
    }
}
