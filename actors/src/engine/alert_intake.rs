//! Where a delivery of alerts goes: into the open incident of its group,
//! into the incident a storm of related groups opened first, into a new
//! incident when its severity may open one, or onto the record only.
//!
//! Deliveries are handed over one at a time, in arrival order (the inbox
//! worker keeps alerts in one lane), so two groups of one storm never both
//! find no incident and open two.

use super::messages::{ApplyCommand, DeclareRequest, Handled, Source};
use super::{EngineCore, EngineError};
use crate::incident::{AlertDelivery, Command, DomainEvent, IncidentId, Severity};
use crate::metrics::EngineMetrics;
use chrono::Duration;
use firebreak_adapters::alerts::silences::SilenceApi;
use firebreak_adapters::alerts::{AlertBatch, AlertSourceKind, AlertStatus};
use firebreak_adapters::{ConversationRef, Platform, UserRef};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a source's alerts do, from `[alerts.sources.NAME]`.
#[derive(Clone)]
pub struct AlertRules {
    pub kind: AlertSourceKind,
    /// The label that holds an alert's severity.
    pub severity_label: String,
    /// That label's values and the severities they mean
    /// (`critical → 1`); compared without case.
    pub severities: BTreeMap<String, Severity>,
    /// The severity of an alert whose label is missing or unknown.
    pub default_severity: Severity,
    /// Alerts this severe or more may open an incident; others only join
    /// an open one, or are recorded.
    pub open_up_to: Severity,
    /// Title and summary of an incident alerts open, with `{{labels.x}}`,
    /// `{{annotations.x}}`, `{{title}}`, `{{message}}`, `{{count}}` and
    /// `{{source}}` filled in; `None` for the built-in wording.
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Where its incidents live; the only configured platform when `None`.
    pub platform: Option<Platform>,
    /// Where its incidents are announced; the platform's announcement
    /// conversation when `None`.
    pub announce: Option<String>,
    /// The first route whose labels all match overrides platform and
    /// announcement (`team=payments` → the payments channel).
    pub routes: Vec<AlertRoute>,
    /// Group by these labels instead of the tool's own group key.
    pub group_by: Vec<String>,
    /// How long after an incident opens new groups sharing the storm
    /// labels' values fold into it.
    pub group_window: Duration,
    pub storm_labels: Vec<String>,
    /// Whether the last firing alert resolving moves the incident to
    /// mitigated (otherwise the bot suggests it in chat).
    pub mitigate_when_resolved: bool,
    /// Alertmanager's API, for `silence`.
    pub silences: Option<Arc<SilenceApi>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRoute {
    pub labels: BTreeMap<String, String>,
    pub platform: Option<Platform>,
    pub announce: Option<String>,
}

/// Where a delivery belongs.
#[derive(Debug)]
pub(super) enum Placement {
    Join(IncidentId, Box<AlertDelivery>),
    Open {
        request: Box<DeclareRequest>,
        then: Vec<DomainEvent>,
    },
    /// Nothing may open and nothing is open: recorded, then done.
    Record,
}

/// Who acts for a source on the timeline.
pub(super) fn source_user(source: &str) -> UserRef {
    let mut user = UserRef::new(Platform::Api, format!("alerts:{source}"));
    user.name = Some(source.to_owned());
    user
}

/// Decides where `batch` goes, reading the store; nothing is written.
pub(super) async fn place(core: &EngineCore, batch: &AlertBatch) -> Result<Placement, EngineError> {
    let Some(rules) = core.alert_sources.get(&batch.source) else {
        tracing::warn!(source = %batch.source, "alerts from a source no longer configured are recorded only");
        return Ok(Placement::Record);
    };
    let group_key = group_key(rules, batch);
    let storm_key = storm_key(&rules.storm_labels, batch);
    let delivery = |group_key: String| {
        Box::new(AlertDelivery {
            batch: batch.clone(),
            group_key,
            storm_key: storm_key.clone(),
            mitigate_when_resolved: rules.mitigate_when_resolved,
        })
    };
    let known = core
        .store
        .alert_group_incidents(&batch.source, &group_key)
        .await?;
    if let Some(id) = known.open {
        return Ok(Placement::Join(id, delivery(group_key)));
    }
    if let Some(storm) = &storm_key {
        let since = core.clock.now() - rules.group_window;
        if let Some(id) = core.store.storm_incident(storm, since).await? {
            return Ok(Placement::Join(id, delivery(group_key)));
        }
    }
    let severity = severity_of(rules, batch);
    let firing = batch.alerts.iter().any(|a| a.status == AlertStatus::Firing);
    if !firing || severity.level() > rules.open_up_to.level() {
        return Ok(Placement::Record);
    }
    let labels = labels_of(batch);
    let (platform, announce) = destination(core, rules, &labels)?;
    let request = DeclareRequest {
        title: title(rules, batch),
        severity: Some(severity),
        summary: rules
            .summary
            .as_deref()
            .map(|template| fill(template, batch))
            .filter(|text| !text.is_empty()),
        impact: None,
        reporter: source_user(&batch.source),
        lead: None,
        platform,
        private: false,
        report: None,
        labels,
        announce: announce.map(|id| ConversationRef::new(platform, id)),
    };
    let mut then = Vec::new();
    if let Some(previous) = known.closed {
        then.push(DomainEvent::FollowsIncident { previous });
    }
    let delivery = delivery(group_key);
    then.push(delivery.received(delivery.batch.alerts.clone()));
    Ok(Placement::Open {
        request: Box::new(request),
        then,
    })
}

/// The group a delivery is filed under: the tool's own, or the values of
/// the configured labels (read from what all its alerts share).
fn group_key(rules: &AlertRules, batch: &AlertBatch) -> String {
    if rules.group_by.is_empty() {
        return batch.group_key.clone();
    }
    let shared = labels_of(batch);
    let values: Vec<String> = rules
        .group_by
        .iter()
        .map(|name| format!("{name}={}", shared.get(name).map_or("", String::as_str)))
        .collect();
    format!("by:{}", values.join(","))
}

/// `service=db` when every storm label has one value across the delivery;
/// `None` when any is missing, so unrelated alerts never fold together.
fn storm_key(storm_labels: &[String], batch: &AlertBatch) -> Option<String> {
    if storm_labels.is_empty() {
        return None;
    }
    let shared = labels_of(batch);
    let values: Option<Vec<String>> = storm_labels
        .iter()
        .map(|name| shared.get(name).map(|value| format!("{name}={value}")))
        .collect();
    values.map(|values| values.join(","))
}

/// The labels every alert of the delivery shares, as the tool said
/// (Alertmanager's `commonLabels`) or as computed from the alerts.
fn labels_of(batch: &AlertBatch) -> BTreeMap<String, String> {
    if !batch.common_labels.is_empty() {
        return batch.common_labels.clone();
    }
    let mut alerts = batch.alerts.iter();
    let mut shared = alerts.next().map(|a| a.labels.clone()).unwrap_or_default();
    for alert in alerts {
        shared.retain(|name, value| alert.labels.get(name) == Some(value));
    }
    shared
}

/// The most severe severity among the firing alerts (all alerts if none
/// fire).
fn severity_of(rules: &AlertRules, batch: &AlertBatch) -> Severity {
    let firing: Vec<_> = batch
        .alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .collect();
    let considered: Vec<_> = if firing.is_empty() {
        batch.alerts.iter().collect()
    } else {
        firing
    };
    considered
        .into_iter()
        .map(|alert| {
            alert
                .labels
                .get(&rules.severity_label)
                .and_then(|value| {
                    rules
                        .severities
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(value))
                        .map(|(_, severity)| *severity)
                })
                .unwrap_or(rules.default_severity)
        })
        .min_by_key(|severity| severity.level())
        .unwrap_or(rules.default_severity)
}

/// The platform and announcement conversation for an incident with
/// `labels`: the first matching route's, else the source's.
fn destination(
    core: &EngineCore,
    rules: &AlertRules,
    labels: &BTreeMap<String, String>,
) -> Result<(Platform, Option<String>), EngineError> {
    let route = rules.routes.iter().find(|route| {
        route
            .labels
            .iter()
            .all(|(name, value)| labels.get(name) == Some(value))
    });
    let platform = route
        .and_then(|route| route.platform)
        .or(rules.platform)
        .or_else(|| core.platforms.default_platform())
        .unwrap_or(Platform::Api);
    let announce = route
        .and_then(|route| route.announce.clone())
        .or_else(|| rules.announce.clone());
    Ok((platform, announce))
}

fn title(rules: &AlertRules, batch: &AlertBatch) -> String {
    let written = rules
        .title
        .as_deref()
        .map(|template| fill(template, batch))
        .filter(|title| !title.is_empty());
    let title = written.unwrap_or_else(|| default_title(batch));
    truncate(&title, crate::incident::MAX_TITLE_CHARS)
}

/// `HighLatency: p99 over 2s` (name and summary), or the tool's title.
fn default_title(batch: &AlertBatch) -> String {
    if let Some(title) = batch.title.as_deref().filter(|t| !t.trim().is_empty()) {
        return title.trim().to_owned();
    }
    let first = batch
        .alerts
        .iter()
        .find(|a| a.status == AlertStatus::Firing)
        .or(batch.alerts.first());
    let name = first.map_or("Alert", |alert| alert.name());
    let summary = batch
        .common_annotations
        .get("summary")
        .or_else(|| first.and_then(|alert| alert.annotations.get("summary")))
        .filter(|summary| summary.as_str() != name);
    match summary {
        Some(summary) => format!("{name}: {summary}"),
        None => name.to_owned(),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Fills `{{labels.x}}`, `{{annotations.x}}`, `{{title}}`, `{{message}}`,
/// `{{count}}` and `{{source}}` from the delivery (labels and annotations
/// from what its alerts share, else from its first alert); anything
/// unknown becomes empty. Whitespace runs collapse, so a missing value
/// leaves no gap.
pub(super) fn fill(template: &str, batch: &AlertBatch) -> String {
    let labels = labels_of(batch);
    let first = batch.alerts.first();
    let value = |name: &str| -> String {
        let name = name.trim();
        if let Some(label) = name.strip_prefix("labels.") {
            return labels
                .get(label)
                .or_else(|| first.and_then(|a| a.labels.get(label)))
                .cloned()
                .unwrap_or_default();
        }
        if let Some(annotation) = name.strip_prefix("annotations.") {
            return batch
                .common_annotations
                .get(annotation)
                .or_else(|| first.and_then(|a| a.annotations.get(annotation)))
                .cloned()
                .unwrap_or_default();
        }
        match name {
            "title" => batch.title.clone().unwrap_or_default(),
            "message" => batch.message.clone().unwrap_or_default(),
            "count" => batch.alerts.len().to_string(),
            "source" => batch.source.clone(),
            _ => String::new(),
        }
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                out.push_str(&value(&after[..close]));
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Counts a delivery's outcome.
pub(super) fn count(core: &EngineCore, placement: &Placement, batch: &AlertBatch) {
    let metrics = &core.metrics;
    EngineMetrics::add(&metrics.alerts_received, batch.alerts.len() as u64);
    match placement {
        Placement::Join(..) => {
            EngineMetrics::add(&metrics.alerts_grouped, batch.alerts.len() as u64)
        }
        Placement::Open { .. } => EngineMetrics::add(&metrics.incidents_opened_by_alerts, 1),
        Placement::Record => {
            EngineMetrics::add(&metrics.alerts_recorded, batch.alerts.len() as u64)
        }
    }
}

/// The command that files a delivery with its incident.
pub(super) fn join(delivery: Box<AlertDelivery>, origin: i64) -> ApplyCommand {
    ApplyCommand {
        user: source_user(&delivery.batch.source),
        command: Command::ReceiveAlerts(delivery),
        source: Source::Api,
        origin: Some(origin),
    }
}

/// What the inbox worker hears back.
pub(super) fn handled_joined(
    result: Result<super::Reply, EngineError>,
) -> Result<Handled, EngineError> {
    match result {
        Ok(_) => Ok(Handled::Applied),
        // Every alert of it was detached: nothing to do, and done.
        Err(EngineError::Rejected(_)) => Ok(Handled::Answered),
        Err(error) => Err(error),
    }
}
