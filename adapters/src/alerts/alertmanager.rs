//! Prometheus Alertmanager's webhook payload, version 4
//! (<https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>).

use super::wire::{self, Delivery};
use super::{AlertBatch, AlertParseError, AlertSourceKind};

pub(super) fn parse(body: &[u8]) -> Result<AlertBatch, AlertParseError> {
    let delivery: Delivery = wire::read(body)?;
    if let Some(version) = delivery.version.as_deref() {
        if version != "4" {
            return Err(AlertParseError::Invalid {
                field: "version",
                reason: format!("`{version}`; Alertmanager's webhook payload is version 4"),
            });
        }
    }
    wire::batch(AlertSourceKind::Alertmanager, delivery, |_, _| {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertStatus;

    /// Shaped as the documentation's example: one group, one alert firing
    /// and one resolved.
    const DOCUMENTED: &str = r#"{
      "version": "4",
      "groupKey": "{}:{alertname=\"DatabaseDown\", service=\"db\"}",
      "truncatedAlerts": 0,
      "status": "firing",
      "receiver": "firebreak",
      "groupLabels": {"alertname": "DatabaseDown", "service": "db"},
      "commonLabels": {"alertname": "DatabaseDown", "service": "db", "severity": "critical"},
      "commonAnnotations": {"summary": "db is not answering"},
      "externalURL": "http://alertmanager.example:9093",
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "DatabaseDown", "service": "db", "severity": "critical", "instance": "db-1"},
          "annotations": {"summary": "db is not answering"},
          "startsAt": "2026-11-25T10:00:00.123Z",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "http://prometheus.example/graph?g0.expr=up",
          "fingerprint": "a1b2c3d4e5f60718"
        },
        {
          "status": "resolved",
          "labels": {"alertname": "DatabaseDown", "service": "db", "severity": "critical", "instance": "db-2"},
          "annotations": {"summary": "db is not answering"},
          "startsAt": "2026-11-25T09:50:00Z",
          "endsAt": "2026-11-25T10:01:00Z",
          "generatorURL": "",
          "fingerprint": "0f0e0d0c0b0a0908"
        }
      ]
    }"#;

    #[test]
    fn the_documented_payload_reads_as_one_group_of_two_alerts() {
        let batch = parse(DOCUMENTED.as_bytes()).expect("valid");
        assert_eq!(batch.kind, AlertSourceKind::Alertmanager);
        assert_eq!(
            batch.group_key,
            r#"{}:{alertname="DatabaseDown", service="db"}"#
        );
        assert_eq!(batch.status, AlertStatus::Firing);
        assert_eq!(batch.group_labels["service"], "db");
        assert_eq!(batch.common_labels["severity"], "critical");
        assert_eq!(batch.common_annotations["summary"], "db is not answering");
        assert_eq!(
            batch.external_url.as_deref(),
            Some("http://alertmanager.example:9093")
        );
        let [firing, resolved] = batch.alerts.as_slice() else {
            panic!("two alerts: {:?}", batch.alerts);
        };
        assert_eq!(firing.fingerprint, "a1b2c3d4e5f60718");
        assert_eq!(firing.name(), "DatabaseDown");
        assert_eq!(firing.ends_at, None, "Go's zero time is no end");
        assert!(firing.starts_at.is_some());
        assert_eq!(firing.links, ["http://prometheus.example/graph?g0.expr=up"]);
        assert_eq!(resolved.status, AlertStatus::Resolved);
        assert!(resolved.ends_at.is_some());
        assert!(
            resolved.links.is_empty(),
            "an empty generatorURL is no link"
        );
    }

    #[test]
    fn a_payload_without_its_group_key_or_of_another_version_is_refused() {
        let without = DOCUMENTED.replace(r#""groupKey""#, r#""otherKey""#);
        assert_eq!(
            parse(without.as_bytes()),
            Err(AlertParseError::Missing { field: "groupKey" })
        );
        let version = DOCUMENTED.replace(r#""version": "4""#, r#""version": "3""#);
        assert!(matches!(
            parse(version.as_bytes()),
            Err(AlertParseError::Invalid {
                field: "version",
                ..
            })
        ));
        assert!(matches!(
            parse(b"{not json"),
            Err(AlertParseError::Shape(_))
        ));
        assert!(matches!(
            parse(br#"{"groupKey": "g", "status": "firing", "alerts": "none"}"#),
            Err(AlertParseError::Shape(_))
        ));
        let status = DOCUMENTED.replacen(r#""status": "firing""#, r#""status": "exploded""#, 1);
        assert!(matches!(
            parse(status.as_bytes()),
            Err(AlertParseError::Shape(_))
        ));
    }

    #[test]
    fn an_alert_without_a_fingerprint_gets_one_from_its_labels() {
        let body = |labels: &str| {
            format!(
                r#"{{"groupKey": "g", "status": "firing",
                    "alerts": [{{"status": "firing", "labels": {labels}}}]}}"#
            )
        };
        let one = parse(body(r#"{"a": "1", "b": "2"}"#).as_bytes()).expect("valid");
        let same = parse(body(r#"{"b": "2", "a": "1"}"#).as_bytes()).expect("valid");
        let other = parse(body(r#"{"a": "1", "b": "3"}"#).as_bytes()).expect("valid");
        assert_eq!(one.alerts[0].fingerprint.len(), 16);
        assert_eq!(one.alerts[0].fingerprint, same.alerts[0].fingerprint);
        assert_ne!(one.alerts[0].fingerprint, other.alerts[0].fingerprint);
        // Stored fingerprints outlive releases, so the derivation is pinned:
        // the first 16 hex digits of sha256("a=1\nb=2\n").
        assert_eq!(one.alerts[0].fingerprint, "4a73850fde34aad4");
        let empty = body(r#"{"a": "1", "b": "2"}"#).replace(
            r#""status": "firing", "labels""#,
            r#""status": "firing", "fingerprint": "", "labels""#,
        );
        assert_eq!(
            parse(empty.as_bytes()).expect("valid").alerts[0].fingerprint,
            "4a73850fde34aad4",
            "an empty fingerprint is no fingerprint"
        );
    }

    #[test]
    fn an_empty_group_key_is_missing_and_unknown_fields_are_ignored() {
        let empty = DOCUMENTED.replace(
            r#""groupKey": "{}:{alertname=\"DatabaseDown\", service=\"db\"}""#,
            r#""groupKey": " ""#,
        );
        assert_ne!(empty, DOCUMENTED);
        assert_eq!(
            parse(empty.as_bytes()),
            Err(AlertParseError::Missing { field: "groupKey" })
        );
        let extra = DOCUMENTED.replacen(
            r#""receiver": "firebreak","#,
            r#""receiver": "firebreak", "someday": {"new": ["field"]},"#,
            1,
        );
        assert_eq!(parse(extra.as_bytes()), parse(DOCUMENTED.as_bytes()));
    }

    #[test]
    fn zero_times_read_as_unset() {
        let batch = parse(DOCUMENTED.as_bytes()).expect("valid");
        assert_eq!(batch.alerts[0].ends_at, None);
        let resolved_at = batch.alerts[1].ends_at.expect("an end");
        assert_eq!(resolved_at.to_rfc3339(), "2026-11-25T10:01:00+00:00");
        let zero_start = DOCUMENTED.replace(
            r#""startsAt": "2026-11-25T09:50:00Z""#,
            r#""startsAt": "0001-01-01T00:00:00Z""#,
        );
        let batch = parse(zero_start.as_bytes()).expect("valid");
        assert_eq!(batch.alerts[1].starts_at, None);
    }
}
