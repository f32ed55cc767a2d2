//! SQLite is for one process. Two `firebreak serve` on one database file
//! would each run every incident: two actors per incident, two timers per
//! reminder, every page sent twice. The second to start refuses, by an
//! exclusive lock on a file beside the database that the kernel releases
//! when the holder exits, however it exits.

use anyhow::bail;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

/// Held while the process serves; dropping it releases the database.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

/// The SQLite file `url` names (`sqlite://path?mode=rwc`, `sqlite:path`);
/// `None` for PostgreSQL and for in-memory databases, which no other
/// process can open.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || rest.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Takes the database for this process, or says who has it.
pub fn lock_database(url: &str) -> anyhow::Result<Option<DatabaseLock>> {
    let Some(database) = sqlite_file(url) else {
        return Ok(None);
    };
    let mut name = database.clone().into_os_string();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| {
            anyhow::anyhow!("could not open the lock file {}: {error}", path.display())
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(DatabaseLock { _file: file })),
        Err(TryLockError::WouldBlock) => bail!(
            "another firebreak process is serving the SQLite database {} (it holds {}). \
             SQLite is for one process: stop the other one, or run several replicas on PostgreSQL",
            database.display(),
            path.display()
        ),
        Err(TryLockError::Error(error)) => {
            bail!("could not lock {}: {error}", path.display())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_files_are_locked() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/firebreak/db.sqlite?mode=rwc"),
            Some(PathBuf::from("/var/lib/firebreak/db.sqlite"))
        );
        assert_eq!(
            sqlite_file("sqlite:firebreak.db"),
            Some(PathBuf::from("firebreak.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            sqlite_file("sqlite://shared?mode=memory&cache=shared"),
            None
        );
        assert_eq!(sqlite_file("postgres://postgres@127.0.0.1/test"), None);
    }

    #[test]
    fn a_second_lock_on_one_database_is_refused_until_the_first_is_let_go() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("one.db").display());
        let first = lock_database(&url).expect("free").expect("a SQLite file");
        let error = lock_database(&url).expect_err("taken");
        assert!(
            error.to_string().contains("another firebreak process"),
            "{error}"
        );
        drop(first);
        assert!(lock_database(&url).expect("free again").is_some());
    }
}
