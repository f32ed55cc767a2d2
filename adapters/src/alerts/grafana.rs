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

    /// Shaped as the example in Grafana's webhook documentation.
    const DOCUMENTED: &str = r#"{
      "receiver": "My Super Webhook",
      "status": "firing",
      "orgId": 1,
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
          "annotations": {"description": "The system has high memory usage", "runbook_url": "https://myrunbook.com/runbook/1234", "summary": "This alert was triggered for zone us-1"},
          "startsAt": "2021-10-12T09:51:03.157076+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
          "fingerprint": "c6eadffa33fcdf37",
          "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
          "dashboardURL": "",
          "panelURL": "",
          "values": {"B": 44.23943737541908, "C": 1},
          "valueString": "[ var='B' labels={__name__=go_memstats_alloc_bytes} value=44.23943737541908 ]"
        }
      ],
      "groupLabels": {},
      "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
      "commonAnnotations": {},
      "externalURL": "https://play.grafana.org/",
      "version": "1",
      "groupKey": "{}:{alertname=\"High memory usage\"}",
      "truncatedAlerts": 0,
      "title": "[FIRING:1] High memory usage (blue us-1)",
      "state": "alerting",
      "message": "**Firing**\n\nLabels:\n - alertname = T2"
    }"#;

    #[test]
    fn the_documented_payload_keeps_grafanas_title_message_and_links() {
        let batch = parse(DOCUMENTED.as_bytes()).expect("valid");
        assert_eq!(batch.kind, AlertSourceKind::Grafana);
        assert_eq!(
            batch.title.as_deref(),
            Some("[FIRING:1] High memory usage (blue us-1)")
        );
        assert!(batch
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("**Firing**")));
        assert_eq!(batch.group_key, r#"{}:{alertname="High memory usage"}"#);
        let alert = &batch.alerts[0];
        assert_eq!(alert.status, AlertStatus::Firing);
        assert_eq!(alert.fingerprint, "c6eadffa33fcdf37");
        assert_eq!(alert.name(), "High memory usage");
        assert_eq!(alert.ends_at, None);
        assert_eq!(
            alert.links,
            ["https://play.grafana.org/alerting/1afz29v7z/edit"]
        );
        assert!(alert.annotations["value"].contains("44.239"));
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
