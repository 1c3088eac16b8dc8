//! Building raw statements that touch many rows at once (the engine writes
//! whole batches in one statement): numbered or positional parameters, and
//! `CASE id WHEN … THEN … END` columns.

use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

/// Rows per batched statement: with a dozen parameters a row this stays far
/// below both backends' limits (SQLite 32766, PostgreSQL 65535).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

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

    /// `CASE id WHEN <id> THEN <value> … END`: a per-row value.
    pub fn case<T>(&mut self, rows: &[T], id: impl Fn(&T) -> Uuid, value: impl Fn(&T) -> Value) -> String {
        let mut sql = String::from("CASE id");
        for row in rows {
            let when = self.bind(id(row));
            let then = self.bind(value(row));
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
