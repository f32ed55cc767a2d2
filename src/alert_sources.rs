//! `[alerts.sources.NAME]` turned into what the receivers check (who may
//! deliver, in which format) and what the engine does with the alerts.

use crate::config::{AlertSourceSettings, Settings, SettingsError};
use firebreak_actors::engine::{AlertRoute, AlertRules, Platforms};
use firebreak_actors::incident::{parse_duration, Severity};
use firebreak_adapters::alerts::silences::SilenceApi;
use firebreak_adapters::alerts::verify::Credential;
use firebreak_adapters::alerts::AlertSourceKind;
use firebreak_adapters::Platform;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Who may deliver to a receiver, and as which source.
#[derive(Debug)]
pub struct AlertReceiver {
    pub name: String,
    pub kind: AlertSourceKind,
    pub credential: Credential,
}

/// Every configured source, checked.
pub struct AlertSources {
    pub receivers: Vec<AlertReceiver>,
    pub rules: HashMap<String, AlertRules>,
}

impl AlertSources {
    pub fn from_settings(settings: &Settings) -> Result<Self, SettingsError> {
        let mut receivers = Vec::new();
        let mut rules = HashMap::new();
        for (name, source) in &settings.alerts.sources {
            let invalid =
                |what: String| SettingsError::Invalid(format!("[alerts.sources.{name}] {what}"));
            if name.is_empty() || name.len() > 64 {
                return Err(invalid("needs a name of 1 to 64 characters".into()));
            }
            let kind: AlertSourceKind = source.kind.parse().map_err(invalid)?;
            receivers.push(AlertReceiver {
                name: name.clone(),
                kind,
                credential: credential(kind, source).map_err(invalid)?,
            });
            rules.insert(name.clone(), source_rules(source).map_err(invalid)?);
        }
        Ok(Self { receivers, rules })
    }
}

impl AlertSources {
    /// Refuses a source whose incidents would have nowhere to go: a
    /// platform (its own or a route's) that is not configured, or none
    /// named while several are.
    pub fn check_platforms(&self, platforms: &Platforms) -> Result<(), SettingsError> {
        for (name, rules) in &self.rules {
            let named = std::iter::once(rules.platform)
                .chain(rules.routes.iter().map(|route| route.platform))
                .flatten();
            for platform in named {
                if platform != Platform::Api && platforms.get(platform).is_none() {
                    return Err(SettingsError::Invalid(format!(
                        "[alerts.sources.{name}] sends incidents to {platform}, which is not configured"
                    )));
                }
            }
            if rules.platform.is_none() && platforms.default_platform().is_none() {
                return Err(SettingsError::Invalid(format!(
                    "[alerts.sources.{name}] needs `platform`: several chat platforms are configured"
                )));
            }
        }
        Ok(())
    }
}

fn credential(kind: AlertSourceKind, source: &AlertSourceSettings) -> Result<Credential, String> {
    match (&source.token, &source.hmac_secret) {
        (Some(token), None) if !token.expose().is_empty() => {
            Ok(Credential::Bearer(token.expose().to_owned()))
        }
        (None, Some(secret)) if !secret.expose().is_empty() => Ok(Credential::Hmac {
            secret: secret.expose().to_owned(),
            header: source.signature_header.clone().unwrap_or_else(|| {
                match kind {
                    AlertSourceKind::Grafana => "X-Grafana-Alerting-Signature",
                    _ => "X-Firebreak-Signature",
                }
                .to_owned()
            }),
            timestamp_header: source.timestamp_header.clone(),
        }),
        (Some(_), Some(_)) => Err("has both `token` and `hmac_secret`: choose one".into()),
        _ => Err("needs `token` or `hmac_secret`: deliveries must prove who sent them".into()),
    }
}

fn severity(what: &str, level: u8) -> Result<Severity, String> {
    Severity::new(i64::from(level)).map_err(|error| format!("{what}: {error}"))
}

fn platform(text: &Option<String>) -> Result<Option<Platform>, String> {
    text.as_deref()
        .map(|name| name.parse::<Platform>().map_err(|error| error.to_string()))
        .transpose()
}

fn source_rules(source: &AlertSourceSettings) -> Result<AlertRules, String> {
    let severities = source
        .severities
        .iter()
        .map(|(value, level)| {
            Ok((
                value.clone(),
                severity(&format!("severities.{value}"), *level)?,
            ))
        })
        .collect::<Result<BTreeMap<_, _>, String>>()?;
    let routes = source
        .routes
        .iter()
        .map(|route| {
            if route.labels.is_empty() {
                return Err("has a route without labels, which would match every alert".to_owned());
            }
            Ok(AlertRoute {
                labels: route.labels.clone(),
                platform: platform(&route.platform)?,
                announce: route.announce.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mitigate_when_resolved = match source.on_resolved.as_str() {
        "suggest" => false,
        "mitigate" => true,
        other => {
            return Err(format!(
                "on_resolved is `{other}`: write `suggest` or `mitigate`"
            ))
        }
    };
    let silences = source
        .alertmanager_url
        .as_deref()
        .map(|url| {
            SilenceApi::new(url, reqwest::Client::new())
                .map(Arc::new)
                .map_err(|error| format!("alertmanager_url: {error}"))
        })
        .transpose()?;
    Ok(AlertRules {
        severity_label: source.severity_label.clone(),
        severities,
        default_severity: severity("default_severity", source.default_severity)?,
        open_up_to: severity("open_up_to", source.open_up_to)?,
        title: source.title.clone(),
        summary: source.summary.clone(),
        platform: platform(&source.platform)?,
        announce: source.announce.clone(),
        routes,
        group_by: source.group_by.clone(),
        group_window: parse_duration(&source.group_window)
            .map_err(|error| format!("group_window: {error}"))?,
        storm_labels: source.storm_labels.clone(),
        mitigate_when_resolved,
        silences,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<AlertSources, SettingsError> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("firebreak.toml");
        std::fs::write(&path, toml).expect("write the settings");
        let settings = Settings::load(&path, BTreeMap::new())?;
        AlertSources::from_settings(&settings)
    }

    #[test]
    fn a_source_reads_its_rules_and_credential() {
        let sources = load(
            "[alerts.sources.prod]\nkind = \"alertmanager\"\ntoken = \"t0ken\"\nopen_up_to = 1\n\
             group_window = \"5m\"\nstorm_labels = [\"service\"]\non_resolved = \"mitigate\"\n\
             alertmanager_url = \"http://127.0.0.1:9093\"\n\
             [[alerts.sources.prod.routes]]\nlabels = { team = \"payments\" }\nannounce = \"C_PAY\"\n",
        )
        .expect("valid settings");
        let rules = &sources.rules["prod"];
        assert_eq!(rules.open_up_to.level(), 1);
        assert_eq!(rules.group_window, chrono::Duration::minutes(5));
        assert!(rules.mitigate_when_resolved);
        assert!(rules.silences.is_some());
        assert_eq!(rules.severities["critical"].level(), 1);
        assert_eq!(rules.routes[0].announce.as_deref(), Some("C_PAY"));
        assert!(matches!(
            sources.receivers[0].credential,
            Credential::Bearer(_)
        ));
        assert_eq!(sources.receivers[0].kind, AlertSourceKind::Alertmanager);
    }

    #[test]
    fn a_source_must_send_its_incidents_to_a_configured_platform() {
        let memory = || {
            Platforms::new().with(
                std::sync::Arc::new(firebreak_adapters::memory::MemoryAdapter::new()),
                None,
            )
        };
        let source = |extra: &str| {
            load(&format!(
                "[alerts.sources.prod]\nkind = \"generic\"\ntoken = \"t\"\n{extra}"
            ))
            .expect("valid settings")
        };
        assert!(source("").check_platforms(&memory()).is_ok());
        assert!(
            source("").check_platforms(&Platforms::new()).is_ok(),
            "the API alone"
        );
        let error = source("platform = \"slack\"\n")
            .check_platforms(&memory())
            .expect_err("slack is not configured");
        assert!(
            error.to_string().contains("slack, which is not configured"),
            "{error}"
        );
        let routed = source(
            "[[alerts.sources.prod.routes]]\nlabels = { team = \"a\" }\nplatform = \"teams\"\n",
        );
        assert!(routed.check_platforms(&memory()).is_err());
    }

    #[test]
    fn a_source_without_a_credential_or_with_a_bad_rule_is_refused() {
        let cases = [
            (
                "kind = \"alertmanager\"\n",
                "needs `token` or `hmac_secret`",
            ),
            (
                "kind = \"nagios\"\ntoken = \"t\"\n",
                "not an alert source kind",
            ),
            (
                "kind = \"generic\"\ntoken = \"t\"\nhmac_secret = \"s\"\n",
                "both",
            ),
            (
                "kind = \"generic\"\ntoken = \"t\"\nopen_up_to = 7\n",
                "open_up_to",
            ),
            (
                "kind = \"generic\"\ntoken = \"t\"\non_resolved = \"close\"\n",
                "on_resolved",
            ),
            (
                "kind = \"generic\"\ntoken = \"t\"\ngroup_window = \"soon\"\n",
                "group_window",
            ),
        ];
        for (body, expected) in cases {
            let error = load(&format!("[alerts.sources.prod]\n{body}"))
                .err()
                .unwrap_or_else(|| panic!("{body} was accepted"));
            assert!(error.to_string().contains(expected), "{body}: {error}");
        }
    }
}
