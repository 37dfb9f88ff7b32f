//! Offices: the service points and their counters, the calls made from counters, and the
//! notifications that carry a call to the other processes on the same database.

use sqlx::types::Json;
use time::OffsetDateTime;

use crate::dialect::sql;
use crate::error::Result;
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::Ts;
use crate::types::{NewCall, QueueCall, ServicePoint};

impl Store {
    /// Creates or replaces a service point (its `created_at` is kept when it exists).
    pub async fn put_service_point(&self, point: &ServicePoint) -> Result<()> {
        on_backend!(Store, self, |s| {
            sqlx::query(
                "INSERT INTO service_points (id, name, timezone, calendar, counters, source,
                                             created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE
                 SET name = excluded.name, timezone = excluded.timezone,
                     calendar = excluded.calendar, counters = excluded.counters,
                     source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(point.id.as_str())
            .bind(point.name.as_str())
            .bind(point.timezone.as_str())
            .bind(point.calendar.as_deref())
            .bind(Json(&point.counters))
            .bind(point.source.as_str())
            .bind(Ts(point.created_at))
            .bind(Ts(point.updated_at))
            .execute(&s.write)
            .await?;
            Ok(())
        })
    }

    /// Every service point, by id.
    pub async fn service_points(&self) -> Result<Vec<ServicePoint>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " point_columns " FROM service_points ORDER BY id"
            ))
            .fetch_all(&s.read)
            .await?)
        })
    }

    pub async fn service_point(&self, id: &str) -> Result<Option<ServicePoint>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " point_columns " FROM service_points WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// The calls made at `service_point` since `since` (inclusive), oldest first.
    pub async fn calls_since(
        &self,
        service_point: &str,
        since: OffsetDateTime,
    ) -> Result<Vec<QueueCall>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " call_columns " FROM queue_calls
                 WHERE service_point = $1 AND at >= $2
                 ORDER BY at, id"
            ))
            .bind(service_point)
            .bind(Ts(since))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The latest `limit` calls at `service_point` since `since`, newest first: what a board
    /// shows after each call, read from the end of the day's calls rather than all of them.
    pub async fn recent_calls(
        &self,
        service_point: &str,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueueCall>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " call_columns " FROM queue_calls
                 WHERE service_point = $1 AND at >= $2
                 ORDER BY at DESC, id DESC
                 LIMIT $3"
            ))
            .bind(service_point)
            .bind(Ts(since))
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The last call made at each counter of `service_point` since `since`, by counter (a
    /// call made without a counter counts as its own counter, last).
    pub async fn last_calls(
        &self,
        service_point: &str,
        since: OffsetDateTime,
    ) -> Result<Vec<QueueCall>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " call_columns " FROM queue_calls
                 WHERE id IN (SELECT MAX(id) FROM queue_calls
                              WHERE service_point = $1 AND at >= $2
                              GROUP BY counter)
                 ORDER BY counter IS NULL, counter"
            ))
            .bind(service_point)
            .bind(Ts(since))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// Listens for the notifications sent on `channel` with [`Tx::notify`] by any process on
    /// this database, as they commit. `None` on SQLite, where one process serves the file.
    /// The listener holds a connection of the store's pool: once the store is closing, its
    /// `recv` fails with an error that [`crate::Error::is_closed`], and it must be dropped for
    /// the close to finish.
    pub async fn listen(&self, channel: &str) -> Result<Option<Notifications>> {
        match self {
            Store::Sqlite(_) => Ok(None),
            Store::Postgres(s) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(&s.read).await?;
                listener.listen(&channel_name(&s.schema, channel)).await?;
                Ok(Some(Notifications { listener }))
            }
        }
    }
}

impl Tx {
    /// Records a call, in the transaction of the command whose events make it; with
    /// `notice` (channel, payload), also sends it as [`Tx::notify`] does, in the same
    /// statement (one round trip to the server).
    pub async fn record_call(
        &mut self,
        call: &NewCall,
        notice: Option<(&str, &str)>,
    ) -> Result<i64> {
        let seq = crate::seq::bound(call.seq)?;
        // One text for both statements (a literal, so that `concat!` can wrap it).
        macro_rules! insert_call {
            () => {
                "INSERT INTO queue_calls (service_point, sop_id, queue, number, counter, kind,
                                          case_id, seq, at, called_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 RETURNING id"
            };
        }
        macro_rules! bind_call {
            ($query:expr) => {
                $query
                    .bind(call.service_point.as_str())
                    .bind(call.sop_id.as_str())
                    .bind(call.queue.as_str())
                    .bind(call.number.as_str())
                    .bind(call.counter.as_deref())
                    .bind(call.kind.as_str())
                    .bind(call.case_id.as_str())
                    .bind(seq)
                    .bind(Ts(call.at))
                    .bind(call.called_by.as_deref())
            };
        }
        match (self, notice) {
            (Tx::Postgres(t), Some((channel, payload))) => {
                let (id, _): (i64, Option<String>) = bind_call!(sqlx::query_as(concat!(
                    "WITH called AS (",
                    insert_call!(),
                    ") SELECT id, pg_notify($11, $12)::text FROM called"
                )))
                .bind(channel_name(&t.schema, channel))
                .bind(payload)
                .fetch_one(&mut *t.conn)
                .await?;
                Ok(id)
            }
            (tx, _) => on_backend!(Tx, tx, |t| {
                Ok(bind_call!(sqlx::query_scalar(insert_call!()))
                    .fetch_one(&mut *t.conn)
                    .await?)
            }),
        }
    }

    /// Sends `payload` to the listeners of `channel` (see [`Store::listen`]) when, and only
    /// if, this transaction commits. A no-op on SQLite.
    pub async fn notify(&mut self, channel: &str, payload: &str) -> Result<()> {
        if let Tx::Postgres(t) = self {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(channel_name(&t.schema, channel))
                .bind(payload)
                .execute(&mut *t.conn)
                .await?;
        }
        Ok(())
    }
}

/// A channel's name on the server: notifications are per database, not per schema, so the
/// schema the tables live in (one per deployment, or per test) is part of it.
fn channel_name(schema: &str, channel: &str) -> String {
    format!("{channel}.{schema}")
}

/// Notifications from [`Store::listen`], as they commit.
pub struct Notifications {
    listener: sqlx::postgres::PgListener,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").finish_non_exhaustive()
    }
}

/// What [`Notifications::recv`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// One notification's payload.
    Payload(String),
    /// The connection was lost and has been made again: what was sent meanwhile is lost, so
    /// a listener that keeps state should read it again from the store.
    Reconnected,
}

impl Notifications {
    /// The next notification; waits for it.
    pub async fn recv(&mut self) -> Result<Notified> {
        // try_recv says when the connection was lost (Ok(None)); the next call reconnects.
        match self.listener.try_recv().await? {
            Some(n) => Ok(Notified::Payload(n.payload().to_owned())),
            None => Ok(Notified::Reconnected),
        }
    }
}
