//! `/metrics` in the Prometheus text exposition format.

use super::{errors::ApiError, AppState};
use actix_web::{web, HttpResponse};
use firebreak_actors::engine::PendingCount;
use firebreak_actors::metrics::EngineMetrics;
use std::fmt::Write;

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let counts = state.core.store.incident_counts().await?;
    let backlog = state.core.store.inbox_backlog().await?;
    // A stopped wheel is reported as no timers rather than failing the scrape.
    let timers = state.core.timers.send(PendingCount).await.unwrap_or(0);
    let mut body = render(&state.core.metrics, &counts, backlog);
    body.push_str(&format!(
        "# HELP firebreak_pending_timers Reminders waiting to fall due in this process.\n\
         # TYPE firebreak_pending_timers gauge\nfirebreak_pending_timers {timers}\n"
    ));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

fn render(metrics: &EngineMetrics, counts: &[(String, i16, i64)], backlog: u64) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# HELP firebreak_incidents Incidents by status and severity."
    );
    let _ = writeln!(out, "# TYPE firebreak_incidents gauge");
    for (status, severity, count) in counts {
        let _ = writeln!(
            out,
            "firebreak_incidents{{status=\"{status}\",severity=\"{severity}\"}} {count}"
        );
    }
    let counters = [
        (
            "firebreak_events_appended_total",
            "Domain events appended to incident logs.",
            &metrics.events_appended,
        ),
        (
            "firebreak_commands_accepted_total",
            "Commands that changed an incident.",
            &metrics.commands_accepted,
        ),
        (
            "firebreak_commands_rejected_total",
            "Commands the incident's rules refused.",
            &metrics.commands_rejected,
        ),
        (
            "firebreak_inbox_processed_total",
            "Inbound platform events processed.",
            &metrics.inbox_processed,
        ),
        (
            "firebreak_inbox_failures_total",
            "Failed attempts at processing an inbound event.",
            &metrics.inbox_failures,
        ),
        (
            "firebreak_effect_failures_total",
            "Chat calls that failed after retries.",
            &metrics.effect_failures,
        ),
        (
            "firebreak_actor_restarts_total",
            "Incident actors restarted after a failure.",
            &metrics.actor_restarts,
        ),
        (
            "firebreak_alerts_received_total",
            "Alerts received from monitoring tools.",
            &metrics.alerts_received,
        ),
        (
            "firebreak_alerts_grouped_total",
            "Alerts that joined an incident already open.",
            &metrics.alerts_grouped,
        ),
        (
            "firebreak_alerts_recorded_total",
            "Alerts recorded without an incident.",
            &metrics.alerts_recorded,
        ),
        (
            "firebreak_incidents_opened_by_alerts_total",
            "Incidents that alerts opened.",
            &metrics.incidents_opened_by_alerts,
        ),
    ];
    for (name, help, counter) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            EngineMetrics::read(counter)
        );
    }
    let _ = writeln!(
        out,
        "# HELP firebreak_live_incidents Incident actors running in this process.\n# TYPE firebreak_live_incidents gauge\nfirebreak_live_incidents {}",
        EngineMetrics::read(&metrics.live_incidents)
    );
    let _ = writeln!(
        out,
        "# HELP firebreak_inbox_backlog Inbound events waiting to be processed.\n# TYPE firebreak_inbox_backlog gauge\nfirebreak_inbox_backlog {backlog}"
    );
    let latency = metrics.command_latency();
    let name = "firebreak_command_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time from a command's arrival at its incident to its events being stored."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, count) in &latency.cumulative {
        let le = if bound.is_infinite() {
            "+Inf".to_owned()
        } else {
            bound.to_string()
        };
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_sum {}", latency.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", latency.count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_prometheus_text() {
        let metrics = EngineMetrics::default();
        metrics.observe_command(Duration::from_millis(3));
        EngineMetrics::add(&metrics.events_appended, 4);
        let text = render(&metrics, &[("triage".into(), 2, 5)], 1);
        assert!(text.contains("firebreak_incidents{status=\"triage\",severity=\"2\"} 5\n"));
        assert!(text.contains("firebreak_events_appended_total 4\n"));
        assert!(text.contains("firebreak_inbox_backlog 1\n"));
        assert!(text.contains("firebreak_command_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("firebreak_command_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("firebreak_command_duration_seconds_count 1\n"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "bad sample line: {line}");
        }
    }
}
