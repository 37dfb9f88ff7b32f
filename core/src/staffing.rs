//! Who staffs which counter of a service point now: the officers whose live browser session
//! chose that counter as their desk, and who made the last call there today. Staff user
//! names only (never a citizen's data), for a supervisor or an admin of the service point.

use sopflow_store::{Counter, CounterSession, QueueCall};
use time::OffsetDateTime;

use crate::Runtime;
use crate::offices::ServicePoint;
use crate::queries::QueryError;
use crate::session::{Sessions, desk_of};

/// A counter, who works it now, and the last call made there today (with its caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterStaff {
    pub counter: Counter,
    /// The users with a live session at this counter, by name.
    pub officers: Vec<String>,
    pub last_call: Option<QueueCall>,
}

impl CounterStaff {
    /// Who made the last call (`None`: no call today, or one recorded before callers were).
    pub fn last_caller(&self) -> Option<&str> {
        self.last_call.as_ref()?.called_by.as_deref()
    }
}

/// The counters of `point` with the sessions at them and the last call at each: `sessions`
/// as [`sopflow_store::Store::counter_sessions`] gives them (any service point), `last` as
/// [`sopflow_store::Store::last_calls`] does (this one's).
pub fn staff_of(
    point: &ServicePoint,
    sessions: &[CounterSession],
    last: &[QueueCall],
) -> Vec<CounterStaff> {
    point
        .counters
        .iter()
        .map(|c| {
            let mut officers: Vec<String> = sessions
                .iter()
                .filter(|s| desk_of(&s.counter) == Some((point.id.as_str(), c.id.as_str())))
                .map(|s| s.user_name.clone())
                .collect();
            officers.sort();
            officers.dedup();
            CounterStaff {
                counter: c.clone(),
                officers,
                last_call: last
                    .iter()
                    .find(|call| call.counter.as_deref() == Some(c.id.as_str()))
                    .cloned(),
            }
        })
        .collect()
}

/// Who staffs each counter of service point `id` at `now` (a session is live while not idle
/// longer than `sessions.idle`), for a supervisor or an admin there.
pub async fn staffing(
    runtime: &Runtime,
    user: &crate::auth::User,
    id: &str,
    sessions: &Sessions,
    now: OffsetDateTime,
) -> Result<Vec<CounterStaff>, QueryError> {
    if !crate::supervision::supervises(user, id) {
        return Err(QueryError::Forbidden(format!(
            "{} does not supervise `{id}`",
            user.name
        )));
    }
    let point = crate::counters::point(runtime, id).await?;
    let live = runtime.store.counter_sessions(now - sessions.idle).await?;
    let last = runtime.store.last_calls(id, point.day_start(now)).await?;
    Ok(staff_of(&point, &live, &last))
}

/// How many cases are open at service point `id` (at any step).
pub async fn open_cases(
    runtime: &Runtime,
    id: &str,
    now: OffsetDateTime,
) -> Result<i64, QueryError> {
    Ok(runtime
        .store
        .open_cases_by_step(id, now)
        .await?
        .iter()
        .map(|row| row.open)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sopflow_store::{CallKind, PointSource};
    use time::UtcOffset;
    use time::macros::datetime;

    #[test]
    fn each_counter_gets_its_officers_and_last_caller() {
        let counter = |id: &str| Counter {
            id: id.into(),
            name: id.to_uppercase(),
        };
        let point = ServicePoint {
            id: "kantor".into(),
            name: "Kantor".into(),
            timezone: "WIB".into(),
            utc_offset: UtcOffset::from_hms(7, 0, 0).unwrap(),
            calendar: None,
            counters: vec![counter("loket_1"), counter("loket_2"), counter("loket_3")],
            source: PointSource::Api,
        };
        let at = datetime!(2026-08-18 03:00 UTC);
        let session = |user: &str, desk: &str| CounterSession {
            user_name: user.into(),
            counter: desk.into(),
            last_seen_at: at,
        };
        let sessions = [
            session("budi", "kantor/loket_2"),
            session("ani", "kantor/loket_2"),
            // The same counter id at another service point is another counter.
            session("citra", "mpp/loket_1"),
            session("dedi", "kantor/loket_9"),
        ];
        let call = |counter: &str, by: Option<&str>| QueueCall {
            id: 1,
            service_point: "kantor".into(),
            sop_id: "sop".into(),
            queue: "q".into(),
            number: "A-001".into(),
            counter: Some(counter.into()),
            kind: CallKind::Call,
            case_id: "c1".into(),
            seq: 2,
            at,
            called_by: by.map(str::to_owned),
        };
        let last = [call("loket_1", Some("ani")), call("loket_3", None)];
        let staff = staff_of(&point, &sessions, &last);
        let rows: Vec<(&str, Vec<&str>, Option<&str>)> = staff
            .iter()
            .map(|s| {
                (
                    s.counter.id.as_str(),
                    s.officers.iter().map(String::as_str).collect(),
                    s.last_caller(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("loket_1", vec![], Some("ani")),
                ("loket_2", vec!["ani", "budi"], None),
                ("loket_3", vec![], None),
            ]
        );
        assert!(staff[2].last_call.is_some(), "an older call has no caller");
    }
}
