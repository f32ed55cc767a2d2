//! The timeline as the review sees it: entries added in the review sit at
//! the time they happened, and corrected entries read as corrected (with
//! their original text kept beside them). The event log itself is never
//! changed; the corrections stay in it as entries of their own.

use chrono::{DateTime, Utc};
use firebreak_actors::incident::{DomainEvent, Policy};
use firebreak_actors::store::TimelineRecord;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub record: &'a TimelineRecord,
    /// When it happened: the recorded time, or the time given in review.
    pub at: DateTime<Utc>,
    pub text: String,
    /// What the entry said before a correction.
    pub original: Option<String>,
}

pub fn entries<'a>(records: &'a [TimelineRecord], policy: &Policy) -> Vec<Entry<'a>> {
    let corrections: HashMap<i64, &str> = records
        .iter()
        .filter_map(|record| match &record.event {
            DomainEvent::TimelineEntryCorrected { seq, text } => {
                Some((i64::try_from(*seq).ok()?, text.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut entries: Vec<Entry<'a>> = records
        .iter()
        .map(|record| {
            let described = record.event.describe(policy);
            let at = match &record.event {
                DomainEvent::TimelineEntryAdded { occurred_at, .. } => *occurred_at,
                _ => record.occurred_at,
            };
            match corrections.get(&record.seq) {
                Some(text) => Entry {
                    record,
                    at,
                    text: (*text).to_owned(),
                    original: Some(described),
                },
                None => Entry {
                    record,
                    at,
                    text: described,
                    original: None,
                },
            }
        })
        .collect();
    // Stable: entries of the same moment keep their order in the log.
    entries.sort_by_key(|entry| entry.at);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record(seq: i64, minute: u32, event: DomainEvent) -> TimelineRecord {
        TimelineRecord {
            seq,
            event,
            actor: None,
            occurred_at: Utc
                .with_ymd_and_hms(2026, 11, 24, 10, minute, 0)
                .single()
                .expect("time"),
        }
    }

    #[test]
    fn added_entries_sit_at_their_time_and_corrections_keep_the_original() {
        let policy = Policy::default();
        let records = vec![
            record(
                1,
                0,
                DomainEvent::NoteAdded {
                    text: "db slow".into(),
                },
            ),
            record(
                2,
                30,
                DomainEvent::NoteAdded {
                    text: "rolled back".into(),
                },
            ),
            record(
                3,
                50,
                DomainEvent::TimelineEntryAdded {
                    text: "alert fired".into(),
                    occurred_at: Utc
                        .with_ymd_and_hms(2026, 11, 24, 9, 55, 0)
                        .single()
                        .expect("time"),
                },
            ),
            record(
                4,
                51,
                DomainEvent::TimelineEntryCorrected {
                    seq: 2,
                    text: "Rolled back 4.2".into(),
                },
            ),
        ];
        let entries = entries(&records, &policy);
        let seqs: Vec<i64> = entries.iter().map(|entry| entry.record.seq).collect();
        assert_eq!(seqs, [3, 1, 2, 4]);
        assert_eq!(entries[0].text, "alert fired");
        assert_eq!(entries[2].text, "Rolled back 4.2");
        assert_eq!(entries[2].original.as_deref(), Some("Note: rolled back"));
        assert_eq!(entries[3].text, "Entry 2 corrected to: Rolled back 4.2");
    }
}
