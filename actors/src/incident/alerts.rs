//! The alerts attached to an incident: what each monitoring tool last said
//! about each alert, which alerts people split out, and the silences made
//! from the incident.
//!
//! Alerts arrive grouped (a delivery is one group of one source); an
//! incident may hold several groups, folded in by the storm window.

use chrono::{DateTime, Utc};
use firebreak_adapters::alerts::{Alert, AlertStatus};
use std::collections::{BTreeMap, BTreeSet};

/// An alert as the incident knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedAlert {
    pub source: String,
    pub group_key: String,
    pub alert: Alert,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// A group of alerts the incident took in: enough to silence it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    pub source: String,
    pub group_key: String,
    /// The labels every alert of the group shares, which is what a
    /// silence of the group matches on.
    pub labels: BTreeMap<String, String>,
}

/// A silence made with `silence <duration>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub source: String,
    pub id: String,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentAlerts {
    /// By source, then fingerprint.
    attached: BTreeMap<(String, String), AttachedAlert>,
    detached: BTreeSet<(String, String)>,
    groups: Vec<AlertGroup>,
    silences: Vec<Silence>,
}

impl IncidentAlerts {
    pub fn receive(
        &mut self,
        source: &str,
        group_key: &str,
        labels: &BTreeMap<String, String>,
        alerts: &[Alert],
        at: DateTime<Utc>,
    ) {
        if !self
            .groups
            .iter()
            .any(|group| group.source == source && group.group_key == group_key)
        {
            self.groups.push(AlertGroup {
                source: source.to_owned(),
                group_key: group_key.to_owned(),
                labels: labels.clone(),
            });
        }
        for alert in alerts {
            let key = (source.to_owned(), alert.fingerprint.clone());
            if self.detached.contains(&key) {
                continue;
            }
            self.attached
                .entry(key)
                .and_modify(|known| {
                    known.alert = alert.clone();
                    known.last_seen = at;
                })
                .or_insert_with(|| AttachedAlert {
                    source: source.to_owned(),
                    group_key: group_key.to_owned(),
                    alert: alert.clone(),
                    first_seen: at,
                    last_seen: at,
                });
        }
    }

    pub fn detach(&mut self, source: &str, fingerprint: &str) {
        let key = (source.to_owned(), fingerprint.to_owned());
        self.attached.remove(&key);
        self.detached.insert(key);
    }

    pub fn silenced(&mut self, silence: Silence) {
        self.silences.push(silence);
    }

    /// Attached alerts, firing first, then by name.
    pub fn attached(&self) -> Vec<&AttachedAlert> {
        let mut alerts: Vec<&AttachedAlert> = self.attached.values().collect();
        alerts.sort_by(|a, b| {
            (a.alert.status, a.alert.name(), &a.alert.fingerprint).cmp(&(
                b.alert.status,
                b.alert.name(),
                &b.alert.fingerprint,
            ))
        });
        alerts
    }

    pub fn is_empty(&self) -> bool {
        self.attached.is_empty()
    }

    pub fn firing(&self) -> usize {
        self.attached
            .values()
            .filter(|known| known.alert.status == AlertStatus::Firing)
            .count()
    }

    pub fn resolved(&self) -> usize {
        self.attached.len() - self.firing()
    }

    pub fn is_detached(&self, source: &str, fingerprint: &str) -> bool {
        self.detached
            .contains(&(source.to_owned(), fingerprint.to_owned()))
    }

    pub fn groups(&self) -> &[AlertGroup] {
        &self.groups
    }

    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }

    /// The attached alert `given` names: its whole fingerprint, or a
    /// prefix of it that fits no other alert. `Err` lists how many fit.
    pub fn find(&self, given: &str) -> Result<&AttachedAlert, usize> {
        let given = given.trim().to_lowercase();
        if given.is_empty() {
            return Err(0);
        }
        if let Some(exact) = self
            .attached
            .values()
            .find(|known| known.alert.fingerprint.to_lowercase() == given)
        {
            return Ok(exact);
        }
        let fits: Vec<&AttachedAlert> = self
            .attached
            .values()
            .filter(|known| known.alert.fingerprint.to_lowercase().starts_with(&given))
            .collect();
        match fits.as_slice() {
            [only] => Ok(only),
            other => Err(other.len()),
        }
    }
}

/// `3 alerts firing: HighLatency, DiskFull and 1 more`, for the timeline.
pub fn describe_received(alerts: &[Alert]) -> String {
    let mut parts = Vec::new();
    for status in [AlertStatus::Firing, AlertStatus::Resolved] {
        let names: Vec<&str> = alerts
            .iter()
            .filter(|alert| alert.status == status)
            .map(Alert::name)
            .collect();
        if names.is_empty() {
            continue;
        }
        let noun = if names.len() == 1 { "alert" } else { "alerts" };
        parts.push(format!(
            "{} {noun} {status}: {}",
            names.len(),
            list_some(&names, 5)
        ));
    }
    parts.join("; ")
}

/// The first `most` names and how many more.
fn list_some(names: &[&str], most: usize) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        let count = counts.entry(name).or_default();
        if *count == 0 {
            distinct.push(name);
        }
        *count += 1;
    }
    let shown: Vec<String> = distinct
        .iter()
        .take(most)
        .map(|name| match counts.get(name) {
            Some(&n) if n > 1 => format!("{name} ×{n}"),
            _ => (*name).to_owned(),
        })
        .collect();
    let hidden: usize = distinct
        .iter()
        .skip(most)
        .map(|name| counts.get(name).copied().unwrap_or(1))
        .sum();
    if hidden == 0 {
        shown.join(", ")
    } else {
        format!("{} and {hidden} more", shown.join(", "))
    }
}

/// The labels worth showing next to an alert's name: all but its name.
pub fn label_text(alert: &Alert) -> String {
    alert
        .labels
        .iter()
        .filter(|(name, _)| name.as_str() != "alertname")
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(fingerprint: &str, name: &str, status: AlertStatus) -> Alert {
        Alert {
            fingerprint: fingerprint.to_owned(),
            status,
            labels: BTreeMap::from([("alertname".to_owned(), name.to_owned())]),
            annotations: BTreeMap::new(),
            starts_at: None,
            ends_at: None,
            links: Vec::new(),
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 10, minute, 0)
            .single()
            .expect("a valid time")
    }

    #[test]
    fn a_later_delivery_updates_the_alerts_it_names_and_keeps_the_others() {
        let mut alerts = IncidentAlerts::default();
        let labels = BTreeMap::new();
        alerts.receive(
            "prod",
            "g1",
            &labels,
            &[
                alert("aa11", "HighLatency", AlertStatus::Firing),
                alert("bb22", "DiskFull", AlertStatus::Firing),
            ],
            at(0),
        );
        alerts.receive(
            "prod",
            "g1",
            &labels,
            &[alert("aa11", "HighLatency", AlertStatus::Resolved)],
            at(5),
        );
        assert_eq!((alerts.firing(), alerts.resolved()), (1, 1));
        let latency = alerts.find("aa11").expect("attached");
        assert_eq!((latency.first_seen, latency.last_seen), (at(0), at(5)));
        assert_eq!(alerts.groups().len(), 1);
    }

    #[test]
    fn a_detached_alert_stays_out_when_it_fires_again() {
        let mut alerts = IncidentAlerts::default();
        let labels = BTreeMap::new();
        let disk = alert("bb22", "DiskFull", AlertStatus::Firing);
        alerts.receive("prod", "g1", &labels, std::slice::from_ref(&disk), at(0));
        alerts.detach("prod", "bb22");
        alerts.receive("prod", "g1", &labels, &[disk], at(1));
        assert!(alerts.is_empty());
        assert!(alerts.is_detached("prod", "bb22"));
    }

    #[test]
    fn alerts_are_found_by_an_unambiguous_prefix() {
        let mut alerts = IncidentAlerts::default();
        alerts.receive(
            "prod",
            "g1",
            &BTreeMap::new(),
            &[
                alert("abc123", "A", AlertStatus::Firing),
                alert("abd456", "B", AlertStatus::Firing),
            ],
            at(0),
        );
        assert_eq!(alerts.find("ABD").map(|known| known.alert.name()), Ok("B"));
        assert_eq!(alerts.find("ab").err(), Some(2));
        assert_eq!(alerts.find("zz").err(), Some(0));
        assert_eq!(alerts.find("").err(), Some(0));
    }

    #[test]
    fn received_alerts_read_as_counts_and_names() {
        let firing: Vec<Alert> = (0..7)
            .map(|n| {
                alert(
                    &format!("f{n}"),
                    &format!("Alert{}", n % 6),
                    AlertStatus::Firing,
                )
            })
            .chain([alert("r", "DiskFull", AlertStatus::Resolved)])
            .collect();
        assert_eq!(
            describe_received(&firing),
            "7 alerts firing: Alert0 ×2, Alert1, Alert2, Alert3, Alert4 and 1 more; 1 alert resolved: DiskFull"
        );
    }
}
