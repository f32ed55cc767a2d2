//! The state of the public status page incident, in the words status
//! pages use.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusPageState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl StatusPageState {
    pub const ALL: [StatusPageState; 4] = [
        StatusPageState::Investigating,
        StatusPageState::Identified,
        StatusPageState::Monitoring,
        StatusPageState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusPageState::Investigating => "investigating",
            StatusPageState::Identified => "identified",
            StatusPageState::Monitoring => "monitoring",
            StatusPageState::Resolved => "resolved",
        }
    }
}

impl fmt::Display for StatusPageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StatusPageState {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StatusPageState::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_in_any_case_and_print_back() {
        for state in StatusPageState::ALL {
            assert_eq!(
                state.as_str().to_uppercase().parse::<StatusPageState>(),
                Ok(state)
            );
        }
        assert!("fixed".parse::<StatusPageState>().is_err());
    }
}
