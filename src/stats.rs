//! Incident statistics over a period, and the SVG charts of the stats
//! page, drawn here so no chart service or script is needed.
//!
//! Times to acknowledge, mitigate and resolve are measured from the
//! incident's start, like the report's. Quantiles are nearest-rank: the
//! median of 1, 2, 3, 4 is 2, and every value is one that happened.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use firebreak_actors::incident::{Policy, Severity};
use firebreak_actors::store::IncidentRecord;
use maud::{html, Markup};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Quantiles {
    pub count: usize,
    pub median_seconds: i64,
    pub p90_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeverityTimes {
    pub severity: u8,
    pub name: String,
    pub acknowledge: Option<Quantiles>,
    pub mitigate: Option<Quantiles>,
    pub resolve: Option<Quantiles>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Week {
    /// The Monday the week starts on.
    pub start: NaiveDate,
    /// Incidents declared that week, by severity 1 to 4.
    pub by_severity: [u64; 4],
    /// Median time to resolve of the week's resolved incidents.
    pub median_resolve_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub total: usize,
    pub by_severity: BTreeMap<u8, usize>,
    pub by_status: BTreeMap<String, usize>,
    pub times: Vec<SeverityTimes>,
    /// Where incidents were run, busiest first.
    pub by_platform: Vec<(String, usize)>,
    /// The labels (`service=payments`) incidents had most often, busiest
    /// first, at most ten.
    pub busiest_labels: Vec<(String, usize)>,
    pub weeks: Vec<Week>,
}

/// Nearest-rank quantile `q` (0–1] of sorted `values`.
pub fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn quantiles(mut values: Vec<i64>) -> Option<Quantiles> {
    values.sort_unstable();
    Some(Quantiles {
        count: values.len(),
        median_seconds: quantile(&values, 0.5)?,
        p90_seconds: quantile(&values, 0.9)?,
    })
}

fn seconds(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<i64> {
    to.map(|to| (to - from).num_seconds().max(0))
}

pub fn compute(
    records: &[IncidentRecord],
    policy: &Policy,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Stats {
    let mut by_severity = BTreeMap::new();
    let mut by_status = BTreeMap::new();
    let mut by_platform: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_label: BTreeMap<String, usize> = BTreeMap::new();
    for record in records {
        let labels: BTreeMap<String, String> = record
            .labels
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        for (key, value) in labels {
            *by_label.entry(format!("{key}={value}")).or_insert(0) += 1;
        }
        *by_severity
            .entry(record.severity.clamp(1, 4) as u8)
            .or_insert(0) += 1;
        *by_status.entry(record.status.clone()).or_insert(0) += 1;
        *by_platform.entry(record.platform.clone()).or_insert(0) += 1;
    }
    let times = (1..=4u8)
        .filter_map(|level| Severity::new(i64::from(level)).ok())
        .map(|severity| {
            let of_severity: Vec<&IncidentRecord> = records
                .iter()
                .filter(|record| record.severity == i16::from(severity.level()))
                .collect();
            let collect = |pick: fn(&IncidentRecord) -> Option<DateTime<Utc>>| {
                of_severity
                    .iter()
                    .filter_map(|record| seconds(record.started_at, pick(record)))
                    .collect::<Vec<_>>()
            };
            SeverityTimes {
                severity: severity.level(),
                name: policy.severity_name(severity).to_owned(),
                acknowledge: quantiles(collect(|record| record.acknowledged_at)),
                mitigate: quantiles(collect(|record| record.mitigated_at)),
                resolve: quantiles(collect(|record| record.resolved_at)),
            }
        })
        .collect();
    let mut weeks: BTreeMap<NaiveDate, (Week, Vec<i64>)> = BTreeMap::new();
    for record in records {
        let day = record.declared_at.date_naive();
        let start = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        let (week, resolves) = weeks.entry(start).or_insert_with(|| {
            (
                Week {
                    start,
                    by_severity: [0; 4],
                    median_resolve_seconds: None,
                },
                Vec::new(),
            )
        });
        let index = (record.severity.clamp(1, 4) - 1) as usize;
        week.by_severity[index] += 1;
        resolves.extend(seconds(record.started_at, record.resolved_at));
    }
    let weeks = weeks
        .into_values()
        .map(|(mut week, mut resolves)| {
            resolves.sort_unstable();
            week.median_resolve_seconds = quantile(&resolves, 0.5);
            week
        })
        .collect();
    let busiest = |counts: BTreeMap<String, usize>| {
        let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counts
    };
    let by_platform = busiest(by_platform);
    let mut busiest_labels = busiest(by_label);
    busiest_labels.truncate(10);
    Stats {
        since,
        until,
        total: records.len(),
        by_severity,
        by_status,
        times,
        by_platform,
        busiest_labels,
        weeks,
    }
}

const SEVERITY_COLOURS: [&str; 4] = ["#c92a2a", "#e8590c", "#f59f00", "#adb5bd"];

/// Incidents per week, stacked by severity.
pub fn weekly_chart(stats: &Stats) -> Markup {
    let (width, height, pad) = (640.0, 220.0, 30.0);
    let max = stats
        .weeks
        .iter()
        .map(|week| week.by_severity.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (width - 2.0 * pad) / stats.weeks.len().max(1) as f64;
    let bar = (slot * 0.7).max(2.0);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="Incidents per week by severity" {
            line x1=(pad) y1=(height - pad) x2=(width - pad) y2=(height - pad) stroke="#999" {}
            text x=(pad) y="14" font-size="11" { "max " (max as u64) " a week" }
            @for (index, week) in stats.weeks.iter().enumerate() {
                @let x = pad + index as f64 * slot + (slot - bar) / 2.0;
                @let mut top = height - pad;
                @for (severity, count) in week.by_severity.iter().enumerate() {
                    @if *count > 0 {
                        @let h = *count as f64 / max * (height - 2.0 * pad);
                        @let y = { top -= h; top };
                        rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) fill=(SEVERITY_COLOURS[severity]) {
                            title { (week.start) ": " (count) " of severity " (severity + 1) }
                        }
                    }
                }
                text x=(format!("{:.1}", x)) y=(height - 10.0) font-size="9" { (week.start.format("%d %b")) }
            }
        }
    }
}

/// The weekly median time to resolve, as a line.
pub fn resolve_trend_chart(stats: &Stats) -> Markup {
    let (width, height, pad) = (640.0, 200.0, 30.0);
    let points: Vec<(usize, i64)> = stats
        .weeks
        .iter()
        .enumerate()
        .filter_map(|(index, week)| Some((index, week.median_resolve_seconds?)))
        .collect();
    let max = points.iter().map(|(_, s)| *s).max().unwrap_or(0).max(1) as f64;
    let slot = (width - 2.0 * pad) / stats.weeks.len().max(1) as f64;
    let coordinates: Vec<String> = points
        .iter()
        .map(|(index, value)| {
            let x = pad + (*index as f64 + 0.5) * slot;
            let y = height - pad - *value as f64 / max * (height - 2.0 * pad);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="Median time to resolve per week" {
            line x1=(pad) y1=(height - pad) x2=(width - pad) y2=(height - pad) stroke="#999" {}
            text x=(pad) y="14" font-size="11" { "max " (firebreak_actors::incident::human_duration(Duration::seconds(max as i64))) }
            @if coordinates.len() > 1 {
                polyline points=(coordinates.join(" ")) fill="none" stroke="#e8590c" stroke-width="2" {}
            }
            @for point in &coordinates {
                @let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                circle cx=(x) cy=(y) r="3" fill="#e8590c" {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7));
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(quantile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), Some(9));
        assert_eq!(
            quantile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9),
            Some(10)
        );
    }
}
