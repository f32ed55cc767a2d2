//! Grafana unified alerting's webhook contact point: Alertmanager's shape
//! plus `title`, `message`, `orgId`, `state`, and per alert its dashboard
//! and panel links and the values that fired it
//! (<https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/>).

use super::wire::{self, Delivery};
use super::{AlertBatch, AlertParseError, AlertSourceKind};

pub(super) fn parse(body: &[u8]) -> Result<AlertBatch, AlertParseError> {
    // Grafana sends its own version ("1"); any is taken.
    let delivery: Delivery = wire::read(body)?;
    wire::batch(AlertSourceKind::Grafana, delivery, |wire, alert| {
        for url in [&wire.dashboard_url, &wire.panel_url].into_iter().flatten() {
            if !url.is_empty() {
                alert.links.push(url.clone());
            }
        }
        if let Some(value) = wire.value_string.as_ref().filter(|value| !value.is_empty()) {
            alert.annotations.insert("value".to_owned(), value.clone());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertStatus;

    /// The example in Grafana's webhook documentation: two alerts, each
    /// with `values` (the current docs) and `valueString` (the docs up to
    /// 9.x; Grafana sends both).
    const DOCUMENTED: &str = r#"{
      "receiver": "My Super Webhook",
      "status": "firing",
      "orgId": 1,
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
          "annotations": {
            "description": "The system has high memory usage",
            "runbook_url": "https://myrunbook.com/runbook/1234",
            "summary": "This alert was triggered for zone us-1"
          },
          "startsAt": "2021-10-12T09:51:03.157076+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
          "fingerprint": "c6eadffa33fcdf37",
          "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
          "dashboardURL": "",
          "panelURL": "",
          "values": {"B": 44.23943737541908, "C": 1},
          "valueString": "[ metric='' labels={} value=14151.331895396988 ]"
        },
        {
          "status": "firing",
          "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
          "annotations": {
            "description": "The system has high CPU usage",
            "runbook_url": "https://myrunbook.com/runbook/1234",
            "summary": "This alert was triggered for zone eu-1"
          },
          "startsAt": "2021-10-12T09:56:03.157076+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
          "fingerprint": "bc97ff14869b13e3",
          "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
          "dashboardURL": "",
          "panelURL": "",
          "values": {"B": 44.23943737541908, "C": 1},
          "valueString": "[ metric='' labels={} value=47043.702386305304 ]"
        }
      ],
      "groupLabels": {},
      "commonLabels": {"team": "blue"},
      "commonAnnotations": {},
      "externalURL": "https://play.grafana.org/",
      "version": "1",
      "groupKey": "{}:{}",
      "truncatedAlerts": 0,
      "title": "[FIRING:2]  (blue)",
      "state": "alerting",
      "message": "**Firing**\n\nValue: B=44.23943737541908, C=1\nLabels:\n - alertname = T2\n..."
    }"#;

    #[test]
    fn the_documented_payload_keeps_grafanas_title_message_and_links() {
        let batch = parse(DOCUMENTED.as_bytes()).expect("valid");
        assert_eq!(batch.kind, AlertSourceKind::Grafana);
        assert_eq!(batch.source, "", "the receiver names the source");
        assert_eq!(batch.title.as_deref(), Some("[FIRING:2]  (blue)"));
        assert!(batch
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("**Firing**\n\nValue: B=44.23943737541908")));
        assert_eq!(batch.group_key, "{}:{}");
        assert_eq!(batch.status, AlertStatus::Firing);
        assert!(batch.group_labels.is_empty());
        assert_eq!(batch.common_labels["team"], "blue");
        assert_eq!(
            batch.external_url.as_deref(),
            Some("https://play.grafana.org/")
        );
        let [memory, cpu] = batch.alerts.as_slice() else {
            panic!("two alerts: {:?}", batch.alerts);
        };
        assert_eq!(memory.status, AlertStatus::Firing);
        assert_eq!(memory.fingerprint, "c6eadffa33fcdf37");
        assert_eq!(memory.name(), "High memory usage");
        assert_eq!(
            memory.starts_at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2021-10-12T07:51:03.157076+00:00")
        );
        assert_eq!(memory.ends_at, None);
        assert_eq!(
            memory.links,
            ["https://play.grafana.org/alerting/1afz29v7z/edit"],
            "empty dashboard and panel URLs are no links"
        );
        assert_eq!(
            memory.annotations["value"],
            "[ metric='' labels={} value=14151.331895396988 ]"
        );
        assert_eq!(
            memory.annotations["runbook_url"],
            "https://myrunbook.com/runbook/1234"
        );
        assert_eq!(cpu.fingerprint, "bc97ff14869b13e3");
        assert_eq!(cpu.name(), "High CPU usage");
        assert!(cpu.annotations["value"].contains("47043.70"));
    }

    #[test]
    fn without_a_value_string_there_is_no_value_annotation() {
        let body = DOCUMENTED.replace(
            r#""valueString": "[ metric='' labels={} value=14151.331895396988 ]""#,
            r#""valueString": """#,
        );
        let batch = parse(body.as_bytes()).expect("valid");
        assert!(!batch.alerts[0].annotations.contains_key("value"));
        assert!(batch.alerts[1].annotations.contains_key("value"));
    }

    #[test]
    fn any_version_is_taken() {
        for version in [r#""version": "2","#, ""] {
            let body = DOCUMENTED.replace(r#""version": "1","#, version);
            assert_eq!(
                parse(body.as_bytes()).expect("valid").alerts.len(),
                2,
                "{version}"
            );
        }
    }

    #[test]
    fn dashboard_and_panel_links_follow_the_rule_link() {
        let body = DOCUMENTED
            .replace(
                r#""dashboardURL": """#,
                r#""dashboardURL": "https://g/d/1""#,
            )
            .replace(
                r#""panelURL": """#,
                r#""panelURL": "https://g/d/1?viewPanel=2""#,
            );
        let batch = parse(body.as_bytes()).expect("valid");
        assert_eq!(
            batch.alerts[0].links,
            [
                "https://play.grafana.org/alerting/1afz29v7z/edit",
                "https://g/d/1",
                "https://g/d/1?viewPanel=2"
            ]
        );
    }

    #[test]
    fn a_grafana_payload_needs_its_group_key() {
        let body = DOCUMENTED.replace(r#""groupKey""#, r#""group""#);
        assert_eq!(
            parse(body.as_bytes()),
            Err(AlertParseError::Missing { field: "groupKey" })
        );
    }
}
