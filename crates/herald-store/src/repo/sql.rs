//! Building raw statements that touch many rows at once (the engine writes
//! whole batches in one statement): numbered or positional parameters, and
//! `CASE id WHEN … THEN … END` columns.

use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

/// Rows per batched statement: with a dozen parameters a row this stays far
/// below both backends' limits (SQLite 32766, PostgreSQL 65535).
pub(crate) const ROWS_PER_STATEMENT: usize = 512;

/// `rows` padded to the next power of two by repeating the last one, so that
/// batched statements come in a handful of shapes: PostgreSQL then parses
/// and plans each shape once per connection (sqlx caches prepared
/// statements) instead of once per batch size. Repeating a row is harmless
/// in `IN (…)` lists and `CASE` arms.
pub(crate) fn padded<T: Clone>(rows: &[T]) -> Vec<T> {
    let mut padded = rows.to_vec();
    if let Some(last) = rows.last() {
        padded.resize(rows.len().next_power_of_two(), last.clone());
    }
    padded
}

/// Splits `len` rows into power-of-two chunks of at most `max` (a power of
/// two), for inserts, where rows cannot be repeated.
pub(crate) fn pow2_chunks(len: usize, max: usize) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < len {
        let left = len - start;
        let size = if left >= max { max } else { 1 << (usize::BITS - 1 - left.leading_zeros()) };
        chunks.push(start..start + size);
        start += size;
    }
    chunks
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

    /// `CASE id WHEN <id> THEN <value> … END`: a per-row value; a single
    /// parameter when every row has the same (a batch of outcomes mostly
    /// shares its status and its empty lease and error columns, and SQLite
    /// would otherwise compare each row's id with every arm of each column).
    /// The statement's `WHERE id IN (…)` must list the same rows.
    pub fn case<T>(&mut self, rows: &[T], id: impl Fn(&T) -> Uuid, value: impl Fn(&T) -> Value) -> String {
        let values: Vec<Value> = rows.iter().map(value).collect();
        if let Some(first) = values.first()
            && values.iter().all(|v| v == first)
        {
            return self.bind(first.clone());
        }
        let mut sql = String::from("CASE id");
        for (row, value) in rows.iter().zip(values) {
            let when = self.bind(id(row));
            let then = self.bind(value);
            sql.push_str(&format!(" WHEN {when} THEN {then}"));
        }
        sql.push_str(" END");
        sql
    }

    /// `<p1>, <p2>, …` for an `IN (…)` list.
    pub fn list<T>(&mut self, rows: &[T], id: impl Fn(&T) -> Uuid) -> String {
        rows.iter().map(|row| self.bind(id(row))).collect::<Vec<_>>().join(", ")
    }

    pub fn statement(self, sql: String) -> Statement {
        Statement::from_sql_and_values(self.backend, sql, self.values)
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
        assert_eq!(pow2_chunks(37, 16), vec![0..16, 16..32, 32..36, 36..37]);
        assert_eq!(pow2_chunks(8, 16), vec![0..8]);
        assert!(pow2_chunks(0, 16).is_empty());
    }

    #[test]
    fn a_column_every_row_shares_is_one_parameter() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut p = Params::new(DbBackend::Sqlite);
        assert_eq!(p.case(&[(a, "x"), (b, "x")], |r| r.0, |r| r.1.into()), "?");
        assert_eq!(p.case(&[(a, "x"), (b, "y")], |r| r.0, |r| r.1.into()), "CASE id WHEN ? THEN ? WHEN ? THEN ? END");
        assert_eq!(p.values.len(), 5);
        assert_eq!(p.values[0], Value::from("x"));
    }
}
