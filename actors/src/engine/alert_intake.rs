//! Where a delivery of alerts goes: into the open incident of its group,
//! into the incident a storm of related groups opened first, into a new
//! incident when its severity may open one, or onto the record only.
//!
//! Deliveries are handed over one at a time, in arrival order (the inbox
//! worker keeps alerts in one lane), so two groups of one storm never both
//! find no incident and open two.

use super::messages::{ApplyCommand, DeclareRequest, Handled, Source};
use super::{EngineCore, EngineError};
use crate::incident::{AlertDelivery, Command, DomainEvent, IncidentId, Rejection, Severity};
use crate::metrics::EngineMetrics;
use chrono::Duration;
use firebreak_adapters::alerts::silences::SilenceApi;
use firebreak_adapters::alerts::{AlertBatch, AlertStatus};
use firebreak_adapters::{ConversationRef, Platform, UserRef};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a source's alerts do, from `[alerts.sources.NAME]`.
#[derive(Clone)]
pub struct AlertRules {
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
    Record {
        group_key: String,
    },
}

/// How a delivery was filed, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Filed {
    Grouped,
    Opened,
    Recorded,
}

/// Who acts for a source on the timeline.
pub(super) fn source_user(source: &str) -> UserRef {
    let mut user = UserRef::new(Platform::Api, format!("alerts:{source}"));
    user.name = Some(format!("{source} alerts"));
    user
}

/// Decides where `batch` goes, reading the store; nothing is written.
pub(super) async fn place(core: &EngineCore, batch: &AlertBatch) -> Result<Placement, EngineError> {
    let Some(rules) = core.alert_sources.get(&batch.source) else {
        tracing::warn!(source = %batch.source, "alerts from a source no longer configured are recorded only");
        return Ok(Placement::Record {
            group_key: batch.group_key.clone(),
        });
    };
    let group_key = group_key(rules, batch);
    let storm_key = storm_key(&rules.storm_labels, batch);
    let severity = severity_of(rules, batch);
    let delivery = |group_key: String| {
        Box::new(AlertDelivery {
            batch: batch.clone(),
            group_key,
            storm_key: storm_key.clone(),
            mitigate_when_resolved: rules.mitigate_when_resolved,
            severity: Some(severity),
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
    let firing = batch.alerts.iter().any(|a| a.status == AlertStatus::Firing);
    if !firing || severity.level() > rules.open_up_to.level() {
        return Ok(Placement::Record { group_key });
    }
    let labels = labels_of(batch);
    let (platform, announce) = destination(rules, &labels, core.platforms.default_platform());
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
    rules: &AlertRules,
    labels: &BTreeMap<String, String>,
    only_platform: Option<Platform>,
) -> (Platform, Option<String>) {
    let route = rules.routes.iter().find(|route| {
        route
            .labels
            .iter()
            .all(|(name, value)| labels.get(name) == Some(value))
    });
    let platform = route
        .and_then(|route| route.platform)
        .or(rules.platform)
        .or(only_platform)
        .unwrap_or(Platform::Api);
    let announce = route
        .and_then(|route| route.announce.clone())
        .or_else(|| rules.announce.clone());
    (platform, announce)
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

/// A placed delivery, as the supervisor answers [`PlaceAlerts`].
///
/// [`PlaceAlerts`]: super::messages::PlaceAlerts
#[derive(Debug)]
pub struct Placed {
    filed: Filed,
    alerts: usize,
    step: Step,
}

#[derive(Debug)]
enum Step {
    /// Opened or recorded already.
    Done(Result<Handled, EngineError>),
    /// To be filed with this open incident.
    Join(IncidentId, ApplyCommand),
}

impl Placed {
    pub(super) fn done(filed: Filed, alerts: usize, result: Result<Handled, EngineError>) -> Self {
        Self {
            filed,
            alerts,
            step: Step::Done(result),
        }
    }

    pub(super) fn join(id: IncidentId, delivery: Box<AlertDelivery>, origin: i64) -> Self {
        Self {
            filed: Filed::Grouped,
            alerts: delivery.batch.alerts.len(),
            step: Step::Join(
                id,
                ApplyCommand {
                    user: source_user(&delivery.batch.source),
                    command: Command::ReceiveAlerts(delivery),
                    source: Source::Api,
                    origin: Some(origin),
                },
            ),
        }
    }
}

/// Files deliveries of alerts in order: each is placed once the one
/// before it is (so a storm's second group finds the incident its first
/// opened), then the deliveries for each open incident are applied as one
/// change, one incident beside the other. A burst for one incident costs
/// it one change notice and one headline update, and holds no other
/// incident's alerts behind its chat calls. Answers each delivery's
/// outcome, in order.
pub(super) async fn file_all(
    core: &EngineCore,
    supervisor: &actix::Addr<super::Supervisor>,
    deliveries: Vec<(AlertBatch, i64)>,
) -> Vec<Result<Handled, EngineError>> {
    let count_of = deliveries.len();
    let mut outcomes: Vec<Option<Result<Handled, EngineError>>> =
        (0..count_of).map(|_| None).collect();
    let mut filed = Vec::with_capacity(count_of);
    let mut joins: BTreeMap<IncidentId, Vec<(usize, ApplyCommand)>> = BTreeMap::new();
    for (index, (batch, origin)) in deliveries.into_iter().enumerate() {
        let placed = supervisor
            .send(super::messages::PlaceAlerts { batch, origin })
            .await
            .map_err(EngineError::from)
            .and_then(|placed| placed);
        match placed {
            Ok(Placed {
                filed: how,
                alerts,
                step,
            }) => {
                filed.push(Some((how, alerts)));
                match step {
                    Step::Done(result) => outcomes[index] = Some(result),
                    Step::Join(id, command) => joins.entry(id).or_default().push((index, command)),
                }
            }
            Err(error) => {
                filed.push(None);
                outcomes[index] = Some(Err(error));
            }
        }
    }
    let applied = joins.into_iter().map(|(incident, commands)| {
        let (indexes, deliveries): (Vec<usize>, Vec<ApplyCommand>) = commands.into_iter().unzip();
        let request = supervisor.send(super::messages::FileAlerts {
            incident,
            deliveries,
        });
        async move {
            let replies = match request.await {
                Ok(Ok(replies)) => replies.into_iter().map(handled_joined).collect(),
                // One failed write fails every delivery of the change.
                Ok(Err(error)) => error.shared(indexes.len()).into_iter().map(Err).collect(),
                Err(mailbox) => EngineError::from(mailbox)
                    .shared(indexes.len())
                    .into_iter()
                    .map(Err)
                    .collect::<Vec<_>>(),
            };
            indexes.into_iter().zip(replies).collect::<Vec<_>>()
        }
    });
    for (index, outcome) in futures_util::future::join_all(applied)
        .await
        .into_iter()
        .flatten()
    {
        outcomes[index] = Some(outcome);
    }
    outcomes
        .into_iter()
        .zip(filed)
        .map(|(outcome, filed)| {
            let outcome = outcome.unwrap_or_else(|| {
                Err(EngineError::Batch {
                    reason: "the delivery came back without an outcome".into(),
                    transient: true,
                })
            });
            if let (Ok(_), Some((how, alerts))) = (&outcome, filed) {
                count(core, how, alerts);
            }
            outcome
        })
        .collect()
}

/// Counts a delivery once it is filed.
fn count(core: &EngineCore, filed: Filed, alerts: usize) {
    let metrics = &core.metrics;
    let alerts = alerts as u64;
    EngineMetrics::add(&metrics.alerts_received, alerts);
    match filed {
        Filed::Grouped => EngineMetrics::add(&metrics.alerts_grouped, alerts),
        Filed::Opened => EngineMetrics::add(&metrics.incidents_opened_by_alerts, 1),
        Filed::Recorded => EngineMetrics::add(&metrics.alerts_recorded, alerts),
    }
}

/// Records a delivery that went to no incident.
pub(super) async fn record(
    core: &EngineCore,
    batch: &AlertBatch,
    group_key: &str,
) -> Result<Handled, EngineError> {
    core.store
        .record_alert_group(
            &batch.source,
            group_key,
            batch.status,
            batch.alerts.len(),
            core.clock.now(),
        )
        .await?;
    Ok(Handled::Answered)
}

/// What the inbox worker hears back.
fn handled_joined(result: Result<super::Reply, EngineError>) -> Result<Handled, EngineError> {
    match result {
        Ok(_) => Ok(Handled::Applied),
        // The incident closed between the lookup and the delivery: tried
        // again shortly, the delivery finds its group closed and opens
        // anew.
        Err(EngineError::Rejected(Rejection::Final { id, .. })) => Err(EngineError::Batch {
            reason: format!("{id} closed before its alerts arrived"),
            transient: true,
        }),
        // Every alert of it was detached: nothing to do, and done.
        Err(EngineError::Rejected(_)) => Ok(Handled::Answered),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak_adapters::alerts::{parse, AlertSourceKind};

    fn rules() -> AlertRules {
        let severity = |level| Severity::new(level).expect("a severity");
        AlertRules {
            severity_label: "severity".into(),
            severities: BTreeMap::from([
                ("critical".into(), severity(1)),
                ("warning".into(), severity(3)),
            ]),
            default_severity: severity(3),
            open_up_to: severity(2),
            title: None,
            summary: None,
            platform: None,
            announce: Some("C_INCIDENTS".into()),
            routes: vec![AlertRoute {
                labels: BTreeMap::from([("team".into(), "payments".into())]),
                platform: None,
                announce: Some("C_PAYMENTS".into()),
            }],
            group_by: Vec::new(),
            group_window: Duration::minutes(2),
            storm_labels: vec!["service".into()],
            mitigate_when_resolved: false,
            silences: None,
        }
    }

    /// Alertmanager's documented webhook shape: two alerts of one group.
    fn delivery(severities: [&str; 2], statuses: [&str; 2]) -> AlertBatch {
        let alert = |n: usize| {
            format!(
                r#"{{"status": "{}", "labels": {{"alertname": "DatabaseDown", "service": "db",
                   "instance": "db-{n}", "severity": "{}"}},
                   "annotations": {{"summary": "db is not answering", "description": "down {n}"}},
                   "startsAt": "2026-11-25T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                   "generatorURL": "http://prometheus/graph", "fingerprint": "f{n}"}}"#,
                statuses[n], severities[n]
            )
        };
        let body = format!(
            r#"{{"version": "4", "groupKey": "{{}}:{{alertname=\"DatabaseDown\"}}",
                "status": "firing", "receiver": "firebreak",
                "groupLabels": {{"alertname": "DatabaseDown"}},
                "commonLabels": {{"alertname": "DatabaseDown", "service": "db"}},
                "commonAnnotations": {{"summary": "db is not answering"}},
                "externalURL": "http://alertmanager:9093", "alerts": [{}, {}]}}"#,
            alert(0),
            alert(1)
        );
        let mut batch = parse(AlertSourceKind::Alertmanager, body.as_bytes()).expect("valid");
        batch.source = "prod".into();
        batch
    }

    #[test]
    fn the_most_severe_firing_alert_sets_the_severity() {
        let rules = rules();
        let level = |batch: &AlertBatch| severity_of(&rules, batch).level();
        assert_eq!(
            level(&delivery(["warning", "critical"], ["firing", "firing"])),
            1
        );
        // A resolved critical no longer counts while another fires.
        assert_eq!(
            level(&delivery(["warning", "critical"], ["firing", "resolved"])),
            3
        );
        // Case does not matter; an unknown value gets the default.
        assert_eq!(
            level(&delivery(["CRITICAL", "bogus"], ["firing", "firing"])),
            1
        );
        assert_eq!(
            level(&delivery(["bogus", "other"], ["firing", "firing"])),
            3
        );
    }

    #[test]
    fn groups_are_the_tools_own_or_made_from_configured_labels() {
        let mut rules = rules();
        let batch = delivery(["critical", "critical"], ["firing", "firing"]);
        assert_eq!(
            group_key(&rules, &batch),
            r#"{}:{alertname="DatabaseDown"}"#
        );
        rules.group_by = vec!["service".into(), "cluster".into()];
        assert_eq!(group_key(&rules, &batch), "by:service=db,cluster=");
    }

    #[test]
    fn the_storm_key_needs_every_storm_label_shared() {
        let batch = delivery(["critical", "critical"], ["firing", "firing"]);
        assert_eq!(
            storm_key(&["service".into()], &batch).as_deref(),
            Some("service=db")
        );
        assert_eq!(
            storm_key(&["instance".into()], &batch),
            None,
            "instances differ"
        );
        assert_eq!(storm_key(&[], &batch), None);
        let mut without_common = batch.clone();
        without_common.common_labels.clear();
        assert_eq!(
            storm_key(&["service".into()], &without_common).as_deref(),
            Some("service=db"),
            "what the alerts share counts when the tool does not say"
        );
    }

    #[test]
    fn titles_come_from_the_template_or_the_alert_and_its_summary() {
        let mut rules = rules();
        let batch = delivery(["critical", "critical"], ["firing", "firing"]);
        assert_eq!(title(&rules, &batch), "DatabaseDown: db is not answering");
        rules.title = Some(
            "{{ labels.service }} down ({{count}} alerts) {{labels.nothing}} from {{source}}"
                .into(),
        );
        assert_eq!(title(&rules, &batch), "db down (2 alerts) from prod");
        assert_eq!(
            fill(
                "{{annotations.description}} / {{ title }} / {{unclosed",
                &batch
            ),
            "down 0 / / {{unclosed"
        );
        rules.title = Some("{{labels.nothing}}".into());
        assert_eq!(
            title(&rules, &batch),
            "DatabaseDown: db is not answering",
            "empty falls back"
        );
        rules.title = Some("x".repeat(300));
        assert_eq!(
            title(&rules, &batch).chars().count(),
            crate::incident::MAX_TITLE_CHARS
        );
    }

    #[test]
    fn a_matching_route_chooses_where_the_incident_is_announced() {
        let rules = rules();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert_eq!(
            destination(
                &rules,
                &labels(&[("team", "payments")]),
                Some(Platform::Memory)
            ),
            (Platform::Memory, Some("C_PAYMENTS".into()))
        );
        assert_eq!(
            destination(
                &rules,
                &labels(&[("team", "search")]),
                Some(Platform::Memory)
            ),
            (Platform::Memory, Some("C_INCIDENTS".into()))
        );
        assert_eq!(destination(&rules, &labels(&[]), None).0, Platform::Api);
    }
}
