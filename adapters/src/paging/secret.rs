//! [`Secret`]: a routing key, API key or signing secret held so that it
//! cannot be printed by accident.
//!
//! `Debug` shows `<redacted>`, there is no `Display`, and reading the value
//! takes an explicit [`Secret::expose`], so a stray `{:?}` in a log line or
//! a derived `Debug` on a containing struct never leaks it.

use std::fmt;

#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    /// Takes `raw` with surrounding whitespace trimmed (secrets read from
    /// files often end in a newline); `None` when nothing is left.
    pub(crate) fn new(raw: String) -> Option<Self> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(Secret(trimmed.to_owned()))
        }
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("s3cr3t-value\n".to_owned()).expect("not empty");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "s3cr3t-value");
    }

    #[test]
    fn a_blank_secret_is_no_secret() {
        assert!(Secret::new(" \n".to_owned()).is_none());
    }
}
