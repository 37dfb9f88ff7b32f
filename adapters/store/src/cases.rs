//! Cases: the projections, the append-only events, the per-case salts and the uploaded files.

use sqlx::FromRow;
use sqlx::types::Json;
use time::{Duration, OffsetDateTime};

use crate::codec;
use crate::dialect::sql;
use crate::error::{Error, Result, is_unique_violation};
use crate::log::NewLeaf;
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::{Ts, lease_end};
use crate::types::{
    CaseFilter, CaseProjection, CaseRecord, Event, NewEvent, NewOutbox, Page, QueuePlace, SearchKey,
};

/// Events per multi-row `INSERT`: 10 parameters each, well under SQLite's (32,766) and
/// PostgreSQL's (65,535) limits on parameters per statement.
const EVENTS_PER_INSERT: usize = 500;

/// Parameters per statement of search entries (see [`Tx::write_search`]).
const SEARCH_PARAMS: usize = 30_000;

/// An event row's columns, as [`events_insert`] writes them and [`bind_events!`] binds them.
const EVENT_COLUMNS: &str =
    "case_id, seq, kind, recorded_at, user_name, role, codec, payload, prev_hash, hash";

/// Binds the 9 parameters after the case id of each of `rows` ([`StoredEvent`]s), in
/// [`EVENT_COLUMNS`]' order. A macro: each backend's query has its own type.
macro_rules! bind_events {
    ($query:expr, $rows:expr) => {
        $rows.iter().fold($query, |query, r| {
            query
                .bind(r.bound)
                .bind(r.event.kind.as_str())
                .bind(Ts(r.event.recorded_at))
                .bind(r.event.user_name.as_str())
                .bind(r.event.role.as_str())
                .bind(r.event.payload.codec)
                .bind(r.event.payload.bytes.as_slice())
                .bind(r.prev_hash.as_deref())
                .bind(r.hash.as_slice())
        })
    };
}

/// The conflict of an append whose events' insert met events already stored beyond the
/// case row's version (written around the store): at the last one stored, read in the
/// transaction or, where the failed insert aborted it, from the committed state. A macro: the
/// body is each backend's (`t`: its transaction).
macro_rules! events_conflict {
    ($t:ident, $case_id:expr) => {{
        let last =
            sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE case_id = $1").bind($case_id);
        let last: Option<i64> = match &$t.committed {
            Some(pool) => last.fetch_one(pool).await?,
            None => last.fetch_one(&mut *$t.conn).await?,
        };
        Error::Conflict {
            case_id: $case_id.to_owned(),
            current_version: crate::seq::read(last.unwrap_or(0))?,
        }
    }};
}

/// An event row as stored (see `codec.rs`): what [`Event`] is read from.
#[derive(FromRow)]
pub(crate) struct EventRow {
    case_id: String,
    seq: i64,
    kind: String,
    recorded_at: Ts,
    user_name: String,
    role: String,
    codec: i16,
    payload: Vec<u8>,
    /// The stored one where there is one, else the previous row's hash; `None` for a first
    /// row without one: the genesis hash.
    prev_hash: Option<Vec<u8>>,
    hash: Vec<u8>,
}

impl TryFrom<EventRow> for Event {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Event> {
        let text = codec::decode(row.codec, &row.payload)?;
        let payload = serde_json::from_str(&text).map_err(|e| {
            Error::Invalid(format!(
                "the payload of event {} of case {}: {e}",
                row.seq, row.case_id
            ))
        })?;
        Ok(Event {
            payload,
            prev_hash: match row.prev_hash {
                Some(bytes) => codec::hash_hex(&bytes),
                None => codec::GENESIS.to_owned(),
            },
            hash: codec::hash_hex(&row.hash),
            recorded_at: row.recorded_at.into(),
            case_id: row.case_id,
            seq: crate::seq::read(row.seq)?,
            kind: row.kind,
            user_name: row.user_name,
            role: row.role,
        })
    }
}

/// Stored event rows as events.
pub(crate) fn events_of(rows: Vec<EventRow>) -> Result<Vec<Event>> {
    rows.into_iter().map(Event::try_from).collect()
}

/// What [`Tx::case_and_salt`] reads: the case row and, beside it, its salt.
#[derive(FromRow)]
pub(crate) struct CaseAndSalt {
    #[sqlx(flatten)]
    pub(crate) case: CaseRecord,
    pub(crate) salt: Option<String>,
}

impl Store {
    pub async fn case(&self, case_id: &str) -> Result<Option<CaseRecord>> {
        on_backend!(Store, self, |s| {
            Ok(
                sqlx::query_as(sql!(DB: "SELECT " case_columns " FROM cases WHERE case_id = $1"))
                    .bind(case_id)
                    .fetch_optional(&s.read)
                    .await?,
            )
        })
    }

    /// All events of a case, by seq.
    pub async fn events(&self, case_id: &str) -> Result<Vec<Event>> {
        self.events_since(case_id, 0).await
    }

    /// All events of the cases `case_ids`, by case and seq, in one statement: an auditor's
    /// walk reads a page of cases at once, not one statement per case.
    pub async fn events_of_cases(&self, case_ids: &[String]) -> Result<Vec<Event>> {
        let ids = ids_json(case_ids)?;
        let rows: Vec<EventRow> = on_backend!(Store, self, |s| {
            sqlx::query_as(sql!(DB:
                "SELECT " event_columns " FROM events e WHERE e.case_id IN " json_array("$1") "
                 ORDER BY e.case_id, e.seq"
            ))
            .bind(&ids)
            .fetch_all(&s.read)
            .await?
        });
        events_of(rows)
    }

    /// The salts of the cases `case_ids` that have one, as (case, salt), in one statement.
    pub async fn salts_of_cases(&self, case_ids: &[String]) -> Result<Vec<(String, String)>> {
        let ids = ids_json(case_ids)?;
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT case_id, salt FROM case_salts WHERE case_id IN " json_array("$1")
            ))
            .bind(&ids)
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The events after `seq` (exclusive), by seq.
    pub async fn events_since(&self, case_id: &str, seq: u64) -> Result<Vec<Event>> {
        let seq = crate::seq::bound(seq)?;
        let rows: Vec<EventRow> = on_backend!(Store, self, |s| {
            sqlx::query_as(sql!(DB:
                "SELECT " event_columns " FROM events e WHERE e.case_id = $1 AND e.seq > $2
                 ORDER BY e.seq"
            ))
            .bind(case_id)
            .bind(seq)
            .fetch_all(&s.read)
            .await?
        });
        events_of(rows)
    }

    /// Cases matching every given filter, by case_id, one page at a time: pass the last
    /// case_id of a page as `page.after` to get the next.
    pub async fn list_cases(&self, filter: &CaseFilter, page: &Page) -> Result<Vec<CaseRecord>> {
        let statuses = json_list(filter.statuses.as_ref())?;
        let current_steps = json_list(filter.current_steps.as_ref())?;
        let sop_ids = json_list(filter.sop_ids.as_ref())?;
        let service_points = json_list(filter.service_points.as_ref())?;
        let (field, value_hash) = match &filter.search {
            Some(key) => (Some(key.field.as_str()), Some(key.value_hash.as_str())),
            None => (None, None),
        };
        // case_id orders bytewise on both (PostgreSQL: COLLATE "C"): pages are the same.
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " case_columns " FROM cases
                 WHERE ($1 IS NULL OR sop_id = $1)
                   AND ($2 IS NULL OR status IN " json_array("$2") ")
                   AND ($3 IS NULL OR current_step IN " json_array("$3") ")
                   AND ($4 IS NULL OR overdue OR due_at <= $4)
                   AND ($5 IS NULL OR case_id > $5)
                   AND ($7 IS NULL OR sop_id IN " json_array("$7") ")
                   AND ($8 IS NULL OR service_point IN " json_array("$8") ")
                   AND ($9 IS NULL OR case_id IN (
                       SELECT case_id FROM case_search WHERE field = $9 AND value_hash = $10))
                   AND ($11 IS NULL OR created_at >= $11)
                   AND ($12 IS NULL OR created_at < $12)
                 ORDER BY case_id
                 LIMIT $6"
            ))
            .bind(filter.sop_id.as_deref())
            .bind(statuses.as_deref())
            .bind(current_steps.as_deref())
            .bind(filter.overdue_at.map(Ts))
            .bind(page.after.as_deref())
            .bind(i64::from(page.limit))
            .bind(sop_ids.as_deref())
            .bind(service_points.as_deref())
            .bind(field)
            .bind(value_hash)
            .bind(filter.created_from.map(Ts))
            .bind(filter.created_before.map(Ts))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// Assigns the cases that have no service point (opened before there were any) to
    /// `service_point`; returns how many. Their histories say nothing of a service point,
    /// which reads as the default one: this makes the projection say the same.
    pub async fn assign_service_point(&self, service_point: &str) -> Result<u64> {
        on_backend!(Store, self, |s| {
            Ok(
                sqlx::query("UPDATE cases SET service_point = $1 WHERE service_point IS NULL")
                    .bind(service_point)
                    .execute(&s.write)
                    .await?
                    .rows_affected(),
            )
        })
    }

    /// Claims up to `limit` cases whose `due_at` has passed and that no live lease holds, for
    /// `lease`, for the time-budget ticker. The ticker then appends as any command does (the
    /// version check still applies); an append clears the lease, and a case it left due is
    /// claimable again once the lease runs out. Oldest `due_at` first.
    pub async fn claim_due_cases(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        let until = lease_end(now, lease)?;
        // The choice and the claim in one statement.
        let mut cases: Vec<CaseRecord> = on_backend!(Store, self, |s| {
            sqlx::query_as(sql!(DB:
                "UPDATE cases SET timer_claimed_by = $1, timer_lease_until = $3
                 WHERE case_id IN (
                     SELECT case_id FROM cases
                     WHERE due_at IS NOT NULL AND due_at <= $2
                       AND (timer_lease_until IS NULL OR timer_lease_until <= $2)
                     ORDER BY due_at, case_id
                     LIMIT $4" skip_locked ")
                 RETURNING " case_columns
            ))
            .bind(worker)
            .bind(Ts(now))
            .bind(Ts(until))
            .bind(i64::from(limit))
            .fetch_all(&s.write)
            .await?
        });
        cases.sort_by(|a, b| (a.due_at, &a.case_id).cmp(&(b.due_at, &b.case_id)));
        Ok(cases)
    }

    /// Open cases at one of `current_steps` without a queue place, by case_id, a page at a
    /// time (`after`: the last case_id of the page before): the ones to project
    /// ([`Store::set_queue_place`]) when the projection did not have it yet.
    pub async fn cases_without_queue_place(
        &self,
        current_steps: &[String],
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        let steps = json_list(Some(&current_steps.to_vec()))?;
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " case_columns " FROM cases
                 WHERE status = 'open' AND queue_id IS NULL
                   AND current_step IN " json_array("$1") "
                   AND ($2 IS NULL OR case_id > $2)
                 ORDER BY case_id
                 LIMIT $3"
            ))
            .bind(steps.as_deref())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// Sets where case `case_id` waits in a queue, if it is still at `version` (for cases
    /// stored before the projection had it); returns whether it was.
    pub async fn set_queue_place(
        &self,
        case_id: &str,
        version: u64,
        place: Option<&QueuePlace>,
    ) -> Result<bool> {
        let version = crate::seq::bound(version)?;
        on_backend!(Store, self, |s| {
            Ok(sqlx::query(
                "UPDATE cases SET queue_id = $3, queue_entered_at = $4, queue_sequence = $5
                 WHERE case_id = $1 AND version = $2",
            )
            .bind(case_id)
            .bind(version)
            .bind(place.map(|q| q.queue.as_str()))
            .bind(place.map(|q| Ts(q.entered_at)))
            .bind(place.map(|q| q.sequence))
            .execute(&s.write)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// How many cases each SOP has in each status, by sop_id then status (for metrics).
    pub async fn count_cases_by_status(&self) -> Result<Vec<(String, String, i64)>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT sop_id, status, COUNT(*) FROM cases GROUP BY sop_id, status
                 ORDER BY sop_id, status",
            )
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// How many cases of `sop_id` run on each of its versions (versions without cases left
    /// out), by version.
    pub async fn count_cases_by_version(&self, sop_id: &str) -> Result<Vec<(u32, i64)>> {
        let rows: Vec<(i64, i64)> = on_backend!(Store, self, |s| {
            sqlx::query_as(
                "SELECT sop_version, COUNT(*) FROM cases WHERE sop_id = $1
                 GROUP BY sop_version ORDER BY sop_version",
            )
            .bind(sop_id)
            .fetch_all(&s.read)
            .await?
        });
        rows.into_iter()
            .map(|(v, n)| Ok((crate::sop_versions::version_of(v)?, n)))
            .collect()
    }

    /// The salt of a case's personal-data hashes (see [`Tx::put_case_salt`]).
    pub async fn case_salt(&self, case_id: &str) -> Result<Option<String>> {
        on_backend!(Store, self, |s| {
            Ok(
                sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                    .bind(case_id)
                    .fetch_optional(&s.read)
                    .await?,
            )
        })
    }

    /// A stored file's bytes, by the SHA-256 (hex) of its content.
    pub async fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        on_backend!(Store, self, |s| {
            Ok(
                sqlx::query_scalar("SELECT bytes FROM files WHERE sha256 = $1")
                    .bind(sha256)
                    .fetch_optional(&s.read)
                    .await?,
            )
        })
    }
}

impl Tx {
    /// The case, locked until this transaction ends (see the crate doc).
    pub async fn case(&mut self, case_id: &str) -> Result<Option<CaseRecord>> {
        on_backend!(Tx, self, |t| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " case_columns " FROM cases WHERE case_id = $1" for_update
            ))
            .bind(case_id)
            .fetch_optional(&mut *t.conn)
            .await?)
        })
    }

    /// All events of a case, by seq, as this transaction sees them.
    pub async fn events(&mut self, case_id: &str) -> Result<Vec<Event>> {
        let rows: Vec<EventRow> = on_backend!(Tx, self, |t| {
            sqlx::query_as(sql!(DB:
                "SELECT " event_columns " FROM events e WHERE e.case_id = $1 ORDER BY e.seq"
            ))
            .bind(case_id)
            .fetch_all(&mut *t.conn)
            .await?
        });
        events_of(rows)
    }

    /// Reads the rows and salts of `case_ids` in one statement, ahead of the commands of a
    /// batch that will read them one by one: [`Tx::case_and_salt`] then answers each case's
    /// first read from here (each statement is a round trip to the connection's thread).
    /// Only where the dialect allows it ([`crate::dialect::Dialect::READS_AHEAD`]: SQLite's
    /// one writer, where nothing but this transaction's own appends changes a row, and an
    /// append drops its case's row read ahead); elsewhere it reads nothing.
    pub async fn read_ahead(&mut self, case_ids: &[&str]) -> Result<()> {
        let ids = serde_json::to_string(case_ids).map_err(|e| Error::Invalid(e.to_string()))?;
        on_backend!(Tx, self, |t| {
            if !<DB as crate::dialect::Dialect>::READS_AHEAD {
                return Ok(());
            }
            let rows: Vec<CaseAndSalt> = sqlx::query_as(sql!(DB:
                "SELECT " case_columns ",
                        (SELECT s.salt FROM case_salts s WHERE s.case_id = cases.case_id) AS salt
                 FROM cases WHERE case_id IN " json_array("$1")
            ))
            .bind(ids)
            .fetch_all(&mut *t.conn)
            .await?;
            for row in rows {
                t.read_ahead
                    .insert(row.case.case_id.clone(), (row.case, row.salt));
            }
            Ok(())
        })
    }

    /// [`Tx::case`] and [`Tx::case_salt`] in one statement: what a command on a case reads.
    pub async fn case_and_salt(
        &mut self,
        case_id: &str,
    ) -> Result<Option<(CaseRecord, Option<String>)>> {
        // Read ahead and not appended to since: as the statement below would read it.
        if let Some(row) = on_backend!(Tx, self, |t| t.read_ahead.remove(case_id)) {
            return Ok(Some(row));
        }
        let row: Option<CaseAndSalt> = on_backend!(Tx, self, |t| {
            sqlx::query_as(sql!(DB:
                "SELECT " case_columns ", (SELECT salt FROM case_salts WHERE case_id = $1) AS salt
                 FROM cases WHERE case_id = $1" for_update
            ))
            .bind(case_id)
            .fetch_optional(&mut *t.conn)
            .await?
        });
        Ok(row.map(|row| (row.case, row.salt)))
    }

    /// The salt of a case's personal-data hashes, as this transaction sees it.
    pub async fn case_salt(&mut self, case_id: &str) -> Result<Option<String>> {
        on_backend!(Tx, self, |t| {
            Ok(
                sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                    .bind(case_id)
                    .fetch_optional(&mut *t.conn)
                    .await?,
            )
        })
    }

    /// Stores the salt of a new case, in the transaction that creates it (before or after the
    /// append: the case must exist at commit). [`Error::AlreadyExists`] if it has one.
    pub async fn put_case_salt(&mut self, case_id: &str, salt: &str) -> Result<()> {
        on_backend!(Tx, self, |t| {
            sqlx::query("INSERT INTO case_salts (case_id, salt) VALUES ($1, $2)")
                .bind(case_id)
                .bind(salt)
                .execute(&mut *t.conn)
                .await
                .map_err(|e| match is_unique_violation(&e) {
                    true => Error::AlreadyExists(format!("the salt of case {case_id}")),
                    false => e.into(),
                })?;
            Ok(())
        })
    }

    /// Stores a file under the SHA-256 (hex) of its content, which the caller computed; storing
    /// the same hash again is a no-op.
    pub async fn put_file(&mut self, sha256: &str, bytes: &[u8]) -> Result<()> {
        // Content-addressed: the same hash is the same file, already stored.
        on_backend!(Tx, self, |t| {
            sqlx::query(
                "INSERT INTO files (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
            )
            .bind(sha256)
            .bind(bytes)
            .execute(&mut *t.conn)
            .await?;
            Ok(())
        })
    }

    /// Replaces the search entries of a case (its searchable fields, each as the hash of its
    /// value, see [`crate::SearchKey`]), in the transaction of the command that set them: at
    /// once, or with the batch's commit (see [`Tx::defer_to_commit`]).
    pub async fn index_case(&mut self, case_id: &str, entries: &[SearchKey]) -> Result<()> {
        if let Some(deferred) = on_backend!(Tx, self, |t| t.deferred.as_mut()) {
            deferred.search.push((case_id.to_owned(), entries.to_vec()));
            return Ok(());
        }
        self.write_search([(case_id, entries)]).await
    }

    /// Replaces the search entries of each case of `cases` (a case given twice: its last).
    /// In one call per chunk of cases where the dialect takes several statements in one.
    pub(crate) async fn write_search<'a>(
        &mut self,
        cases: impl IntoIterator<Item = (&'a str, &'a [SearchKey])>,
    ) -> Result<()> {
        // The last entries of each case, in the order the cases were first indexed.
        let mut latest: Vec<(&str, &[SearchKey])> = Vec::new();
        for (case_id, entries) in cases {
            match latest.iter_mut().find(|(c, _)| *c == case_id) {
                Some(found) => found.1 = entries,
                None => latest.push((case_id, entries)),
            }
        }
        // Chunks of cases whose parameters (a case id each, three an entry) stay under
        // SQLite's 32,766. (Lists, not iterators: nothing a closure borrows is held across an
        // await.)
        let (mut chunks, mut chunk) = (Vec::new(), SearchChunk::default());
        for (case_id, entries) in latest {
            let more = 1 + 3 * entries.len();
            if chunk.params + more > SEARCH_PARAMS && !chunk.ids.is_empty() {
                chunks.push(std::mem::take(&mut chunk));
            }
            chunk.params += more;
            chunk.ids.push(case_id);
            chunk.entries.extend(entries.iter().map(|e| (case_id, e)));
        }
        if !chunk.ids.is_empty() {
            chunks.push(chunk);
        }
        on_backend!(Tx, self, |t| {
            let one_call = <DB as crate::dialect::Dialect>::STATEMENTS_IN_ONE_CALL;
            for SearchChunk { ids, entries, .. } in &chunks {
                // Each statement, and whether it inserts the entries (after the ids, if the
                // ids are its parameters too).
                let statements = match search_sql(ids.len(), entries.len(), one_call) {
                    (delete, Some(insert)) if one_call => {
                        vec![(format!("{delete};\n{insert}"), true)]
                    }
                    (delete, Some(insert)) => vec![(delete, false), (insert, true)],
                    (delete, None) => vec![(delete, false)],
                };
                for (i, (text, inserts)) in statements.iter().enumerate() {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(text.as_str()));
                    for id in ids.iter().filter(|_| i == 0) {
                        query = query.bind(*id);
                    }
                    for (case_id, e) in entries.iter().filter(|_| *inserts) {
                        query = query
                            .bind(*case_id)
                            .bind(e.field.as_str())
                            .bind(e.value_hash.as_str());
                    }
                    query.execute(&mut *t.conn).await?;
                }
            }
            Ok(())
        })
    }

    /// Appends `events` to the case as seq `expected_version + 1 ..`, sets its projection and
    /// queues `outbox` rows (each tied to the last event appended here; a row whose
    /// idempotency key is already queued is not queued twice, except that a row given up as an
    /// `incident` is queued again, attempts reset: the command that asks again is the human's
    /// retry, so it re-arms the delivery in its own transaction).
    ///
    /// `expected_version == 0` creates the case (`projection` then also gives its SOP and
    /// version; later appends keep those and `created_at`). `projection.updated_at` is the
    /// command's time and stamps the outbox rows.
    ///
    /// [`Error::Conflict`] if the case has moved past `expected_version` (or already exists,
    /// for a creation); [`Error::NotFound`] if the case does not exist; [`Error::Invalid`] if
    /// the events and projection do not chain. After an error, drop the transaction.
    pub async fn append(
        &mut self,
        case_id: &str,
        expected_version: u64,
        events: &[NewEvent],
        projection: &CaseProjection,
        outbox: &[NewOutbox],
    ) -> Result<()> {
        // The row read ahead no longer is the case's.
        on_backend!(Tx, self, |t| t.read_ahead.remove(case_id));
        // First: once the versions fit the database, no seq computed below overflows.
        let version = crate::seq::bound(projection.version)?;
        let expected = crate::seq::bound(expected_version)?;
        check_append(expected_version, events, projection)?;
        let updated_at = Ts(projection.updated_at);
        let due_at = projection.due_at.map(Ts);
        let queue = projection.queue.as_ref();
        // The events as stored (`codec.rs`): the JSON text (the hash chain covers it)
        // compressed (by whoever made the event), the hashes as bytes. A prev_hash is stored only where it is not the hash
        // before it: within the batch it is (checked above), and the first event's is the
        // case's head (the update below checks it) or, for a new case, the genesis hash.
        let rows = (expected_version + 1..)
            .zip(events)
            .enumerate()
            .map(|(i, (seq, e))| {
                let prev_hash = match i == 0 && expected_version == 0 {
                    true if e.prev_hash != codec::GENESIS => Some(codec::hash_bytes(&e.prev_hash)?),
                    _ => None,
                };
                let hash = codec::hash_bytes(&e.hash)?;
                Ok(StoredEvent {
                    seq,
                    bound: crate::seq::bound(seq)?,
                    event: e,
                    prev_hash,
                    hash,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        on_backend!(Tx, self, |t| {
            let create = expected_version == 0;
            let statement = if create {
                "INSERT INTO cases (case_id, status, current_step, version, head_hash, created_at,
                                    updated_at, due_at, overdue, queue_id, queue_entered_at,
                                    queue_sequence, sop_id, sop_version, service_point)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (case_id) DO NOTHING"
            } else {
                // The version check and the chain check in one conditional update. On
                // PostgreSQL it waits for a concurrent append's row lock, then re-checks the
                // version: the loser updates nothing and reports the conflict.
                "UPDATE cases
                 SET status = $2, current_step = $3, version = $4, head_hash = $5,
                     updated_at = $6, due_at = $7, overdue = $8, queue_id = $9,
                     queue_entered_at = $10, queue_sequence = $11,
                     timer_claimed_by = NULL, timer_lease_until = NULL
                 WHERE case_id = $1 AND version = $12 AND head_hash = $13"
            };
            // SQLite: the events' insert goes with the row's statement, in the same call, and
            // inserts only where that statement changed the row (`changes()` is the last
            // finished statement's count): no more is written than the two calls would write.
            let one_call = <DB as crate::dialect::Dialect>::STATEMENTS_IN_ONE_CALL
                && rows.len() <= EVENTS_PER_INSERT;
            let case_params = if create { 14 } else { 13 };
            let text;
            let query = if one_call {
                text = format!(
                    "{statement};\n{}",
                    events_insert(case_params, rows.len(), true)
                );
                sqlx::query(sqlx::AssertSqlSafe(text.as_str()))
            } else {
                sqlx::query(statement)
            };
            let query = query
                .bind(case_id)
                .bind(projection.status.as_str())
                .bind(projection.current_step.as_deref())
                .bind(version)
                .bind(projection.head_hash.as_str())
                .bind(updated_at)
                .bind(due_at)
                .bind(projection.overdue)
                .bind(queue.map(|q| q.queue.as_str()))
                .bind(queue.map(|q| Ts(q.entered_at)))
                .bind(queue.map(|q| q.sequence));
            // $12 and $13 (and $14): the SOP version and service point of a new case, or the
            // version and head an existing one must be at.
            let query = if create {
                query
                    .bind(projection.sop_id.as_str())
                    .bind(i64::from(projection.sop_version))
                    .bind(projection.service_point.as_str())
            } else {
                query.bind(expected).bind(events[0].prev_hash.as_str())
            };
            let query = match one_call {
                true => bind_events!(query, &rows),
                false => query,
            };
            let written = match query.execute(&mut *t.conn).await {
                Err(err) if one_call && is_unique_violation(&err) => {
                    return Err(events_conflict!(t, case_id));
                }
                written => written?,
            };
            if one_call
                && written.rows_affected() != 0
                && written.rows_affected() != 1 + rows.len() as u64
            {
                return Err(Error::Invalid(format!(
                    "the append to case {case_id} wrote {} rows, not its row and {} events",
                    written.rows_affected(),
                    rows.len()
                )));
            }
            if written.rows_affected() == 0 {
                // What is the case now? A new statement sees what a concurrent append
                // committed (PostgreSQL: READ COMMITTED; SQLite: nobody else writes meanwhile).
                let current: Option<(i64, String)> =
                    sqlx::query_as("SELECT version, head_hash FROM cases WHERE case_id = $1")
                        .bind(case_id)
                        .fetch_optional(&mut *t.conn)
                        .await?;
                return Err(match current {
                    None => Error::NotFound(format!("case {case_id}")),
                    Some((current, _)) if current != expected => Error::Conflict {
                        case_id: case_id.to_owned(),
                        current_version: crate::seq::read(current)?,
                    },
                    Some(_) => Error::Invalid(format!(
                        "the first event does not chain to the head of case {case_id}"
                    )),
                });
            }
            // One statement for the command's events (a command makes a handful): each
            // statement is a round trip to the connection's thread or to the server.
            for chunk in rows.chunks(EVENTS_PER_INSERT).filter(|_| !one_call) {
                let text = events_insert(1, chunk.len(), false);
                let insert = sqlx::query(sqlx::AssertSqlSafe(text.as_str())).bind(case_id);
                let insert = bind_events!(insert, chunk);
                match insert.execute(&mut *t.conn).await {
                    // Events beyond the projection's version: someone wrote them around the
                    // store. A conflict at the last one stored, read in the transaction or,
                    // where the failed insert aborted it, from the committed state.
                    Err(err) if is_unique_violation(&err) => {
                        return Err(events_conflict!(t, case_id));
                    }
                    other => other?,
                };
            }
            for o in outbox {
                sqlx::query(
                    "INSERT INTO outbox (case_id, seq, idempotency_key, adapter, payload, status,
                                         attempts, next_attempt_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $7)
                     ON CONFLICT (idempotency_key) DO UPDATE
                     SET status = 'pending', attempts = 0, seq = excluded.seq,
                         next_attempt_at = excluded.next_attempt_at, claimed_by = NULL,
                         lease_until = NULL, updated_at = excluded.updated_at
                     WHERE outbox.status = 'incident'",
                )
                .bind(case_id)
                .bind(version)
                .bind(o.idempotency_key.as_str())
                .bind(o.adapter.as_str())
                .bind(Json(&o.payload))
                .bind(Ts(o.next_attempt_at))
                .bind(updated_at)
                .execute(&mut *t.conn)
                .await?;
            }
        });
        // Last: the leaves lock the log's size until commit (see `log.rs`).
        let leaves = rows
            .iter()
            .map(|r| NewLeaf::event(case_id, r.seq, &r.event.hash));
        let deferred = on_backend!(Tx, self, |t| t.deferred.as_mut());
        match deferred {
            Some(deferred) => deferred.leaves.extend(leaves),
            None => {
                self.add_leaves(&leaves.collect::<Vec<_>>()).await?;
            }
        }
        Ok(())
    }
}

/// The insert of `events` event rows: the case id is `$1`, each row's other 9 parameters are
/// numbered on from `$first` (bound by [`bind_events!`], in [`EVENT_COLUMNS`]' order).
/// `guarded` (SQLite's append in one call, see [`crate::dialect::Dialect::STATEMENTS_IN_ONE_CALL`]):
/// the rows are inserted only if the statement before it changed one row (`changes()` is the
/// last finished statement's count).
fn events_insert(first: usize, events: usize, guarded: bool) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(200 + events * 60);
    // Writing to a String cannot fail.
    let _ = write!(sql, "INSERT INTO events ({EVENT_COLUMNS}) ");
    sql.push_str(match guarded {
        true => {
            "SELECT column1, column2, column3, column4, column5, column6, column7, column8, \
             column9, column10 FROM (VALUES "
        }
        false => "VALUES ",
    });
    for i in 0..events {
        let p = first + 9 * i;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}($1");
        for n in p + 1..=p + 9 {
            let _ = write!(sql, ", ${n}");
        }
        sql.push(')');
    }
    if guarded {
        sql.push_str(") WHERE changes() = 1");
    }
    sql
}

/// The delete of the search entries of `cases` cases (their ids `$1..=$cases`) and the insert
/// of `entries` new ones (none if there are none): three parameters an entry, numbered on from
/// `$cases` if the two go `in_one_call`, else from `$1`.
fn search_sql(cases: usize, entries: usize, in_one_call: bool) -> (String, Option<String>) {
    use std::fmt::Write as _;
    let mut delete = String::from("DELETE FROM case_search WHERE case_id IN (");
    for i in 1..=cases {
        let sep = if i == 1 { "" } else { ", " };
        // Writing to a String cannot fail.
        let _ = write!(delete, "{sep}${i}");
    }
    delete.push(')');
    if entries == 0 {
        return (delete, None);
    }
    let first = if in_one_call { cases } else { 0 };
    let mut insert = String::from("INSERT INTO case_search (case_id, field, value_hash) VALUES ");
    for i in 0..entries {
        let sep = if i == 0 { "" } else { ", " };
        let p = first + 3 * i;
        let _ = write!(insert, "{sep}(${}, ${}, ${})", p + 1, p + 2, p + 3);
    }
    (delete, Some(insert))
}

/// Cases whose search entries are written by the same statements (see [`Tx::write_search`]).
#[derive(Default)]
struct SearchChunk<'a> {
    ids: Vec<&'a str>,
    entries: Vec<(&'a str, &'a SearchKey)>,
    params: usize,
}

/// An event as its row is written.
struct StoredEvent<'a> {
    seq: u64,
    /// `seq` as the database holds it.
    bound: i64,
    event: &'a NewEvent,
    prev_hash: Option<Vec<u8>>,
    hash: Vec<u8>,
}

/// The checks that need no database: the batch must chain and end where the projection says.
/// Called with versions that fit the database (see [`crate::seq::bound`]).
fn check_append(
    expected_version: u64,
    events: &[NewEvent],
    projection: &CaseProjection,
) -> Result<()> {
    let Some(last) = events.last() else {
        return Err(Error::Invalid("an append needs at least one event".into()));
    };
    let count = u64::try_from(events.len()).unwrap_or(u64::MAX);
    if expected_version.checked_add(count) != Some(projection.version) {
        return Err(Error::Invalid(format!(
            "projection version {} is not expected version {expected_version} + {count} events",
            projection.version
        )));
    }
    for (seq, pair) in (expected_version + 2..).zip(events.windows(2)) {
        if pair[1].prev_hash != pair[0].hash {
            return Err(Error::Invalid(format!(
                "event {seq} does not chain to the event before it"
            )));
        }
    }
    if projection.head_hash != last.hash {
        return Err(Error::Invalid(
            "projection head hash is not the last event's hash".into(),
        ));
    }
    Ok(())
}

/// Strings (case ids) as the JSON array the dialect's `json_array` fragment reads.
pub(crate) fn ids_json(values: &[String]) -> Result<String> {
    serde_json::to_string(values).map_err(|e| Error::Invalid(e.to_string()))
}

/// Serialises a list filter for the dialect's `json_array` fragment.
fn json_list(values: Option<&Vec<String>>) -> Result<Option<String>> {
    values.map(|v| ids_json(v)).transpose()
}
