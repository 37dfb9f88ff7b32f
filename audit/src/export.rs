//! Exports of case histories for a time range (the cases started in it), as JSON Lines (one
//! case per line, with its events) or CSV (one event per row), produced a chunk at a time so
//! that the HTTP answer and the CLI stream them (the events of a page of cases are read at
//! once). Personal values are masked unless revealed.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use serde_json::{Value, json};
use sopflow_store::{CaseRecord, Store};
use time::OffsetDateTime;

use super::{AuditError, CaseWalk, Personal, SopCache, mask_json};

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        match text {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(AuditError::Invalid(format!(
                "unknown format {other:?}: use jsonl or csv"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "application/jsonl",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// What to export: cases started at or after `from` and before `to`.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub format: ExportFormat,
    pub personal: Personal,
    /// Only the cases of these service points; `None`: every one.
    pub service_points: Option<Vec<String>>,
}

impl ExportRequest {
    pub fn check(&self) -> Result<(), AuditError> {
        if self.from >= self.to {
            return Err(AuditError::Invalid("`from` must be before `to`".into()));
        }
        Ok(())
    }

    /// How the access is recorded in `audit_access`.
    pub fn scope(&self) -> String {
        let rfc = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let at = match &self.service_points {
            Some(points) => format!(" at {}", points.join(", ")),
            None => String::new(),
        };
        format!(
            "cases started from {} to {}{at} as {}",
            rfc(self.from),
            rfc(self.to),
            self.format.as_str()
        )
    }
}

/// The CSV columns, one row per event.
pub const CSV_HEADER: &str =
    "case_id,sop_id,sop_version,case_status,seq,at,user,role,type,step,prev_hash,hash,event\r\n";

/// Produces an export chunk by chunk (a chunk is one case).
pub struct Exporter {
    store: Store,
    request: ExportRequest,
    walk: CaseWalk,
    /// The cases of the page read last, with their events (read for the page at once), in
    /// the walk's order.
    pending: VecDeque<(CaseRecord, Vec<sopflow_store::Event>)>,
    sops: SopCache,
    header_sent: bool,
}

impl Exporter {
    /// Checks the request; the caller records the access before reading the first chunk.
    pub fn new(store: Store, request: ExportRequest) -> Result<Self, AuditError> {
        request.check()?;
        let walk = CaseWalk::filtered(sopflow_store::CaseFilter {
            service_points: request.service_points.clone(),
            ..sopflow_store::CaseFilter::default()
        });
        Ok(Self {
            store,
            request,
            walk,
            pending: VecDeque::new(),
            sops: SopCache::default(),
            header_sent: false,
        })
    }

    /// The next piece of the export, `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<String>, AuditError> {
        if !self.header_sent {
            self.header_sent = true;
            if self.request.format == ExportFormat::Csv {
                return Ok(Some(CSV_HEADER.to_owned()));
            }
        }
        let Some((record, stored)) = self.next_case().await? else {
            return Ok(None);
        };
        // Exported as stored, even a history that no longer verifies: that is for
        // `audit verify` to say, and the export is the evidence.
        let personal = match self
            .sops
            .get(&self.store, &record.sop_id, record.sop_version)
            .await?
        {
            Ok(sop) => sop.sop.personal_fields().to_vec(),
            // Without its SOP the personal fields are unknown: mask every data value.
            Err(_) => all_data_fields(&stored),
        };
        let rows: Vec<ExportEvent> = stored
            .iter()
            .map(|s| {
                let mut event = s.payload.clone();
                if !self.request.personal.is_revealed() {
                    mask_json(&mut event, &personal);
                }
                ExportEvent {
                    seq: s.seq,
                    at: rfc3339(s.recorded_at),
                    user: s.user_name.clone(),
                    role: s.role.clone(),
                    kind: s.kind.clone(),
                    prev_hash: s.prev_hash.clone(),
                    hash: s.hash.clone(),
                    event,
                }
            })
            .collect();
        let chunk = match self.request.format {
            ExportFormat::Jsonl => {
                let line = json!({
                    "case_id": record.case_id,
                    "sop_id": record.sop_id,
                    "sop_version": record.sop_version,
                    "status": record.status,
                    "created_at": rfc3339(record.created_at),
                    "head_hash": record.head_hash,
                    "events": rows,
                });
                format!("{line}\n")
            }
            ExportFormat::Csv => {
                let mut out = String::new();
                for r in &rows {
                    let step = r.event.get("step").or_else(|| r.event.get("from"));
                    let fields = [
                        record.case_id.clone(),
                        record.sop_id.clone(),
                        record.sop_version.to_string(),
                        record.status.clone(),
                        r.seq.to_string(),
                        r.at.clone(),
                        r.user.clone(),
                        r.role.clone(),
                        r.kind.clone(),
                        step.and_then(Value::as_str).unwrap_or_default().to_owned(),
                        r.prev_hash.clone(),
                        r.hash.clone(),
                        r.event.to_string(),
                    ];
                    let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                    out.push_str(&quoted.join(","));
                    out.push_str("\r\n");
                }
                out
            }
        };
        Ok(Some(chunk))
    }
}

impl Exporter {
    /// The next case of the period and its events: a page of cases at a time, their events
    /// read in one statement for the page.
    async fn next_case(
        &mut self,
    ) -> Result<Option<(CaseRecord, Vec<sopflow_store::Event>)>, AuditError> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                return Ok(Some(next));
            }
            let Some(page) = self.walk.next_page(&self.store).await? else {
                return Ok(None);
            };
            let (from, to) = (self.request.from, self.request.to);
            let page: Vec<CaseRecord> = page
                .into_iter()
                .filter(|r| r.created_at >= from && r.created_at < to)
                .collect();
            let ids: Vec<String> = page.iter().map(|r| r.case_id.clone()).collect();
            let mut events: HashMap<String, Vec<sopflow_store::Event>> =
                HashMap::with_capacity(ids.len());
            for event in self.store.events_of_cases(&ids).await? {
                events.entry(event.case_id.clone()).or_default().push(event);
            }
            self.pending.extend(page.into_iter().map(|record| {
                let stored = events.remove(&record.case_id).unwrap_or_default();
                (record, stored)
            }));
        }
    }
}

#[derive(Debug, Serialize)]
struct ExportEvent {
    seq: u64,
    at: String,
    user: String,
    role: String,
    #[serde(rename = "type")]
    kind: String,
    prev_hash: String,
    hash: String,
    event: Value,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Every data field the history sets: the fallback mask when the SOP cannot be read.
fn all_data_fields(stored: &[sopflow_store::Event]) -> Vec<String> {
    let mut fields = Vec::new();
    for e in stored {
        if let Some(data) = e.payload.get("data").and_then(Value::as_object) {
            fields.extend(data.keys().cloned());
        }
    }
    fields
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with
/// quotes doubled. A field starting with `=`, `+`, `-` or `@` is prefixed with `'` so that a
/// spreadsheet does not run it as a formula.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field(""), "");
    }
}
