//! The generic shape, for anything that is neither Alertmanager nor
//! Grafana: `{"dedup_key", "title", "status": "firing"|"resolved",
//! "severity", "source", "details", "links"}`. One alert per delivery;
//! the `dedup_key` is both its fingerprint and its group.

use super::{Alert, AlertBatch, AlertParseError, AlertSourceKind, AlertStatus};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Longest title taken, in characters (an incident title's limit).
const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Deserialize)]
struct Delivery {
    dedup_key: Option<String>,
    title: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    source: Option<String>,
    #[serde(default)]
    details: Option<Value>,
    /// `null` is taken as no links: scripts often send every key.
    #[serde(default)]
    links: Option<Vec<Link>>,
}

/// A link is a bare URL or, as PagerDuty's events take them, an object
/// with an `href` (its `text` is not kept).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Link {
    Url(String),
    Described { href: String },
}

fn required(value: Option<String>, field: &'static str) -> Result<String, AlertParseError> {
    value
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .ok_or(AlertParseError::Missing { field })
}

pub(super) fn parse(body: &[u8]) -> Result<AlertBatch, AlertParseError> {
    let delivery: Delivery = super::wire::read(body)?;
    let dedup_key = required(delivery.dedup_key, "dedup_key")?;
    let title = required(delivery.title, "title")?;
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(AlertParseError::Invalid {
            field: "title",
            reason: format!("longer than {MAX_TITLE_CHARS} characters"),
        });
    }
    let status = match required(delivery.status, "status")?.as_str() {
        "firing" => AlertStatus::Firing,
        "resolved" => AlertStatus::Resolved,
        other => {
            return Err(AlertParseError::Invalid {
                field: "status",
                reason: format!("`{other}`; write `firing` or `resolved`"),
            })
        }
    };
    let mut labels = BTreeMap::from([("alertname".to_owned(), title.clone())]);
    for (name, value) in [("severity", delivery.severity), ("source", delivery.source)] {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            labels.insert(name.to_owned(), value);
        }
    }
    let details = match delivery.details {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    };
    let mut annotations = BTreeMap::from([("summary".to_owned(), title.clone())]);
    if let Some(details) = &details {
        annotations.insert("description".to_owned(), details.clone());
    }
    let links = delivery
        .links
        .unwrap_or_default()
        .into_iter()
        .map(|link| match link {
            Link::Url(url) | Link::Described { href: url } => url,
        })
        .filter(|url| !url.is_empty())
        .collect();
    Ok(AlertBatch {
        source: String::new(),
        kind: AlertSourceKind::Generic,
        group_key: dedup_key.clone(),
        status,
        group_labels: BTreeMap::new(),
        common_labels: labels.clone(),
        common_annotations: annotations.clone(),
        title: Some(title),
        message: details,
        external_url: None,
        alerts: vec![Alert {
            fingerprint: dedup_key,
            status,
            labels,
            annotations,
            starts_at: None,
            ends_at: None,
            links,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generic_alert_is_one_alert_grouped_by_its_dedup_key() {
        let batch = parse(
            br#"{"dedup_key": "backup-nightly", "title": "Nightly backup failed",
                 "status": "firing", "severity": "critical", "source": "backup-cron",
                 "details": {"exit_code": 2},
                 "links": ["https://runbooks.example/backup", {"href": "https://ci.example/1", "text": "run"}]}"#,
        )
        .expect("valid");
        assert_eq!(batch.group_key, "backup-nightly");
        assert_eq!(batch.title.as_deref(), Some("Nightly backup failed"));
        assert_eq!(batch.message.as_deref(), Some(r#"{"exit_code":2}"#));
        let alert = &batch.alerts[0];
        assert_eq!(alert.fingerprint, "backup-nightly");
        assert_eq!(alert.name(), "Nightly backup failed");
        assert_eq!(alert.labels["severity"], "critical");
        assert_eq!(alert.labels["source"], "backup-cron");
        assert_eq!(
            alert.links,
            ["https://runbooks.example/backup", "https://ci.example/1"]
        );
        assert_eq!(batch.common_labels, alert.labels);
    }

    #[test]
    fn details_may_be_text_and_most_fields_may_be_left_out() {
        let batch = parse(
            br#"{"dedup_key": "k", "title": "t", "status": "resolved", "details": "exit 2"}"#,
        )
        .expect("valid");
        assert_eq!(batch.status, AlertStatus::Resolved);
        assert_eq!(batch.alerts[0].annotations["description"], "exit 2");
        assert_eq!(batch.message.as_deref(), Some("exit 2"));
        assert!(batch.alerts[0].links.is_empty());
        assert_eq!(
            batch.alerts[0].labels,
            BTreeMap::from([("alertname".to_owned(), "t".to_owned())])
        );

        let batch = parse(
            br#"{"dedup_key": "k", "title": "t", "status": "firing",
                 "severity": null, "details": null, "links": null}"#,
        )
        .expect("nulls are absent fields");
        assert_eq!(batch.message, None);
        assert!(!batch.alerts[0].annotations.contains_key("description"));
        assert_eq!(batch.alerts[0].starts_at, None);
        assert_eq!(batch.alerts[0].ends_at, None);

        let batch = parse(
            br#"{"dedup_key": "k", "title": "t", "status": "firing", "details": [1, "two"]}"#,
        )
        .expect("valid");
        assert_eq!(batch.message.as_deref(), Some(r#"[1,"two"]"#));
    }

    #[test]
    fn links_of_the_wrong_shape_are_refused() {
        for links in [r#"[{"text": "no href"}]"#, r#"[1]"#, r#""https://one""#] {
            let body = format!(
                r#"{{"dedup_key": "k", "title": "t", "status": "firing", "links": {links}}}"#
            );
            assert!(
                matches!(parse(body.as_bytes()), Err(AlertParseError::Shape(_))),
                "{links}"
            );
        }
    }

    #[test]
    fn a_generic_alert_needs_its_key_title_and_a_known_status() {
        let cases: [(&[u8], AlertParseError); 4] = [
            (
                br#"{"title": "t", "status": "firing"}"#,
                AlertParseError::Missing { field: "dedup_key" },
            ),
            (
                br#"{"dedup_key": " ", "title": "t", "status": "firing"}"#,
                AlertParseError::Missing { field: "dedup_key" },
            ),
            (
                br#"{"dedup_key": "k", "status": "firing"}"#,
                AlertParseError::Missing { field: "title" },
            ),
            (
                br#"{"dedup_key": "k", "title": "t"}"#,
                AlertParseError::Missing { field: "status" },
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body), Err(expected));
        }
        let error = parse(br#"{"dedup_key": "k", "title": "t", "status": "exploded"}"#)
            .expect_err("unknown status");
        assert!(
            matches!(
                error,
                AlertParseError::Invalid {
                    field: "status",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("`firing` or `resolved`"),
            "{error}"
        );
        let longest = format!(
            r#"{{"dedup_key": "k", "title": "{}", "status": "firing"}}"#,
            "é".repeat(200)
        );
        assert!(
            parse(longest.as_bytes()).is_ok(),
            "200 characters are taken"
        );
        let long = format!(
            r#"{{"dedup_key": "k", "title": "{}", "status": "firing"}}"#,
            "x".repeat(201)
        );
        assert!(matches!(
            parse(long.as_bytes()),
            Err(AlertParseError::Invalid { field: "title", .. })
        ));
        assert!(matches!(parse(b"[1, 2]"), Err(AlertParseError::Shape(_))));
    }
}
