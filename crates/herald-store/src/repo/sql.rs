//! Building raw statements that touch many rows at once (the engine writes
//! whole batches in one statement): numbered or positional parameters, and
//! batches of rows bound as one JSON parameter.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

/// Rows per batched statement: with a dozen parameters a row this stays far
/// below both backends' limits (SQLite 32766, PostgreSQL 65535).
pub(crate) const ROWS_PER_STATEMENT: usize = 512;

/// `rows` padded to the next power of two by repeating the last one, so that
/// batched statements come in a handful of shapes: PostgreSQL then parses
/// and plans each shape once per connection (sqlx caches prepared
/// statements) instead of once per batch size. Repeating a row is harmless
/// in `IN (…)` lists.
pub(crate) fn padded<T: Clone>(rows: &[T]) -> Vec<T> {
    let mut padded = rows.to_vec();
    if let Some(last) = rows.last() {
        padded.resize(rows.len().next_power_of_two(), last.clone());
    }
    padded
}

/// A status filter beside an id lookup that the database must not use an
/// index for. Without fresh statistics — a backlog inserted faster than
/// they are gathered, as when 100,000 posts fall due at once — both SQLite
/// and PostgreSQL take `status = ?` as selective and read every row of that
/// status through `idx_targets_due` (the whole backlog, at every claim)
/// instead of looking the ids up: measured on PostgreSQL, 300 ms instead of
/// 2 ms for a claim of 128. An expression over the column is unusable for
/// an index: a unary `+` on SQLite, `|| ''` on PostgreSQL (which has no
/// unary `+` for text).
pub(crate) fn status_filter(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("({column} || '')"),
        _ => format!("+{column}"),
    }
}

pub(crate) struct Params {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Params {
    pub fn new(backend: DbBackend) -> Self {
        Self { backend, values: Vec::new() }
    }

    /// Binds a value; returns its placeholder. Placeholders are numbered in
    /// binding order, so build a statement front to back.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }

    /// `<p1>, <p2>, …` for an `IN (…)` list.
    pub fn list<T>(&mut self, rows: &[T], id: impl Fn(&T) -> Uuid) -> String {
        rows.iter().map(|row| self.bind(id(row))).collect::<Vec<_>>().join(", ")
    }

    pub fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}

/// Values of a batch written to SQLite as one JSON parameter — an array
/// of rows, each an array read back with `json_each(?)` and `value->>N`
/// (PostgreSQL has `jsonb_to_recordset` for the same). The statement has
/// one shape whatever the batch size, so it is prepared once, and a row
/// costs the same however large the batch: with `CASE id WHEN … END`
/// columns SQLite compared every row's id with every arm.
///
/// The values must reach the table exactly as sqlx binds them, since other
/// statements compare with what these write (`updated_at` is a version).
pub(crate) mod sqlite_json {
    use super::*;

    /// An id as hex: read it with `unhex(value->>N)`, a 16-byte BLOB like
    /// the ones sqlx binds.
    pub fn uuid(id: Uuid) -> serde_json::Value {
        id.simple().to_string().into()
    }

    pub fn opt_uuid(id: Option<Uuid>) -> serde_json::Value {
        id.map_or(serde_json::Value::Null, uuid)
    }

    /// A timestamp in sqlx's text form for SQLite (RFC 3339, `+00:00`, as
    /// many fraction digits as it has).
    pub fn time(at: DateTime<Utc>) -> serde_json::Value {
        at.to_rfc3339_opts(SecondsFormat::AutoSi, false).into()
    }

    pub fn opt_time(at: Option<DateTime<Utc>>) -> serde_json::Value {
        at.map_or(serde_json::Value::Null, time)
    }

    /// A JSON column's value as the text sqlx stores (`->>` yields it as is).
    pub fn json(value: &serde_json::Value) -> serde_json::Value {
        value.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_in_power_of_two_shapes() {
        assert_eq!(padded(&[1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(padded(&[1, 2]), vec![1, 2]);
        assert!(padded::<u8>(&[]).is_empty());
    }

    #[test]
    fn json_rows_hold_values_as_sqlx_binds_them() {
        let id = Uuid::parse_str("0193a0c4-7f1e-7c3a-9b2d-5e6f7a8b9c0d").unwrap();
        assert_eq!(sqlite_json::uuid(id), "0193a0c47f1e7c3a9b2d5e6f7a8b9c0d");
        let at = DateTime::parse_from_rfc3339("2026-11-27T07:17:43.120500Z").unwrap().to_utc();
        assert_eq!(sqlite_json::time(at), "2026-11-27T07:17:43.120500+00:00");
        assert_eq!(sqlite_json::opt_time(None), serde_json::Value::Null);
        assert_eq!(sqlite_json::json(&serde_json::json!(["a", 1])), r#"["a",1]"#);
    }

    /// What a JSON row writes must equal what sqlx binds for the same value:
    /// later statements compare them (`updated_at` as a version, due times).
    #[tokio::test]
    async fn json_rows_equal_what_sqlx_binds_in_sqlite() {
        use chrono::SubsecRound;
        use sea_orm::{ConnectionTrait, Database};
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let id = Uuid::now_v7();
        let data = serde_json::json!({"ids": ["a", "b"], "n": 1});
        let now = herald_core::clock::Clock::system().now();
        for at in [now, DateTime::from_timestamp(1_795_763_863, 0).unwrap(), now.trunc_subsecs(3)] {
            let row = serde_json::json!([[
                sqlite_json::uuid(id),
                sqlite_json::time(at),
                sqlite_json::json(&data),
                sqlite_json::opt_uuid(None)
            ]]);
            let sql = "SELECT unhex(value->>0) = ?, value->>1 = ?, value->>2 = ?, unhex(value->>3) IS NULL \
                       FROM json_each(?)";
            let values: [Value; 4] = [id.into(), at.into(), data.clone().into(), row.to_string().into()];
            let result =
                db.query_one_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await.unwrap();
            let result = result.unwrap();
            for column in 0..4 {
                assert!(result.try_get_by_index::<bool>(column).unwrap(), "column {column} at {at}");
            }
        }
    }
}
