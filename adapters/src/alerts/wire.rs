//! The Alertmanager-shaped JSON that Alertmanager and Grafana both send.

use super::{Alert, AlertBatch, AlertParseError, AlertSourceKind, AlertStatus};
use chrono::{DateTime, Datelike, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Delivery {
    pub version: Option<String>,
    pub group_key: Option<String>,
    pub status: AlertStatus,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    pub alerts: Vec<WireAlert>,
    /// Grafana's own fields.
    pub title: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireAlert {
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    pub fingerprint: Option<String>,
    #[serde(default, rename = "dashboardURL")]
    pub dashboard_url: Option<String>,
    #[serde(default, rename = "panelURL")]
    pub panel_url: Option<String>,
    pub value_string: Option<String>,
}

/// Parses JSON, with serde's reason (field and position) when it is not
/// the shape.
pub(super) fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, AlertParseError> {
    serde_json::from_slice(body).map_err(|error| AlertParseError::Shape(error.to_string()))
}

/// The batch a delivery is; `more` adds a format's own bits to each alert.
pub(super) fn batch(
    kind: AlertSourceKind,
    delivery: Delivery,
    more: impl Fn(&WireAlert, &mut Alert),
) -> Result<AlertBatch, AlertParseError> {
    let group_key = delivery
        .group_key
        .filter(|key| !key.trim().is_empty())
        .ok_or(AlertParseError::Missing { field: "groupKey" })?;
    let alerts = delivery
        .alerts
        .iter()
        .map(|wire| {
            let mut alert = Alert {
                fingerprint: wire
                    .fingerprint
                    .clone()
                    .filter(|fingerprint| !fingerprint.is_empty())
                    .unwrap_or_else(|| fingerprint_of(&wire.labels)),
                status: wire.status,
                labels: wire.labels.clone(),
                annotations: wire.annotations.clone(),
                starts_at: wire.starts_at.filter(is_set),
                ends_at: wire.ends_at.filter(is_set),
                links: wire
                    .generator_url
                    .iter()
                    .filter(|url| !url.is_empty())
                    .cloned()
                    .collect(),
            };
            more(wire, &mut alert);
            alert
        })
        .collect();
    Ok(AlertBatch {
        source: String::new(),
        kind,
        group_key,
        status: delivery.status,
        group_labels: delivery.group_labels,
        common_labels: delivery.common_labels,
        common_annotations: delivery.common_annotations,
        title: delivery.title.filter(|title| !title.is_empty()),
        message: delivery.message.filter(|message| !message.is_empty()),
        external_url: delivery.external_url.filter(|url| !url.is_empty()),
        alerts,
    })
}

/// Go's zero time (`0001-01-01T00:00:00Z`) means "not set".
fn is_set(at: &DateTime<Utc>) -> bool {
    at.year() > 1
}

/// A stable id from an alert's labels, as Alertmanager derives its own:
/// the same labels in any order give the same id.
pub(super) fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    let mut hash = Sha256::new();
    for (name, value) in labels {
        hash.update(name.as_bytes());
        hash.update(b"=");
        hash.update(value.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())[..16].to_owned()
}
