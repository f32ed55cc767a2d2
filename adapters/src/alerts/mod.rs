//! Alerts from monitoring tools: Prometheus Alertmanager's webhook,
//! Grafana's webhook contact point, and a generic JSON shape for anything
//! else. Each wire format is parsed into one [`AlertBatch`], the
//! engine's only view of an alert delivery.
//!
//! Like the chat platforms, this module knows nothing about incidents: it
//! verifies a delivery ([`verify`]), parses it, and talks to Alertmanager's
//! API for silences ([`silences`]).

mod alertmanager;
mod generic;
mod grafana;
pub mod silences;
pub mod verify;
mod wire;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which wire format a source speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSourceKind {
    Alertmanager,
    Grafana,
    Generic,
}

impl AlertSourceKind {
    pub const ALL: [AlertSourceKind; 3] = [
        AlertSourceKind::Alertmanager,
        AlertSourceKind::Grafana,
        AlertSourceKind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertSourceKind::Alertmanager => "alertmanager",
            AlertSourceKind::Grafana => "grafana",
            AlertSourceKind::Generic => "generic",
        }
    }
}

impl std::fmt::Display for AlertSourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AlertSourceKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!("`{text}` is not an alert source kind: alertmanager, grafana or generic")
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert as the tool last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The tool's stable id for the alert (Alertmanager's `fingerprint`,
    /// the generic `dedup_key`).
    pub fingerprint: String,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// When it resolved; `None` while firing (Alertmanager's zero time
    /// `0001-01-01T00:00:00Z` reads as `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Where to look: the rule's graph, a dashboard, a runbook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

impl Alert {
    /// What people call it: the `alertname` label, else the summary.
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .or_else(|| self.annotations.get("summary"))
            .map(String::as_str)
            .unwrap_or(&self.fingerprint)
    }
}

/// One delivery from a source: a group of alerts the tool sent together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertBatch {
    /// The configured source's name (`[alerts.sources.NAME]`), set by the
    /// receiver once the delivery is verified.
    #[serde(default)]
    pub source: String,
    pub kind: AlertSourceKind,
    /// What the tool groups by (Alertmanager's `groupKey`, the generic
    /// `dedup_key`); the engine may regroup by configured labels.
    pub group_key: String,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_annotations: BTreeMap<String, String>,
    /// A title the tool wrote for the whole group (Grafana, generic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A longer text the tool wrote for the whole group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The tool's own address (Alertmanager's `externalURL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    pub alerts: Vec<Alert>,
}

/// Why a delivery could not be read; the text is the 400's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertParseError {
    #[error("the body is not JSON of the expected shape: {0}")]
    Shape(String),
    #[error("`{field}` is missing or empty")]
    Missing { field: &'static str },
    #[error("`{field}` is not valid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// Most alerts one delivery may carry; Alertmanager's own default limit
/// for a webhook is unlimited, but a delivery of thousands is a storm
/// better sent again grouped than stored whole.
pub const MAX_ALERTS: usize = 1000;

/// Parses a delivery of `kind`.
pub fn parse(kind: AlertSourceKind, body: &[u8]) -> Result<AlertBatch, AlertParseError> {
    let batch = match kind {
        AlertSourceKind::Alertmanager => alertmanager::parse(body)?,
        AlertSourceKind::Grafana => grafana::parse(body)?,
        AlertSourceKind::Generic => generic::parse(body)?,
    };
    if batch.alerts.is_empty() {
        return Err(AlertParseError::Missing { field: "alerts" });
    }
    if batch.alerts.len() > MAX_ALERTS {
        return Err(AlertParseError::Invalid {
            field: "alerts",
            reason: format!(
                "{} alerts in one delivery; at most {MAX_ALERTS}",
                batch.alerts.len()
            ),
        });
    }
    Ok(batch)
}
