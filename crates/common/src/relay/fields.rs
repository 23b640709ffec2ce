//! The plain JSON fields of the rows that a SQL migration writes too (blocks, met edges): SQL
//! can write ids and RFC 3339 times, not protobuf, so these rows hold fields, and their sinks
//! read them here, each naming the field at fault.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::OutboxRow;

/// The fields of a row's payload.
pub(super) fn object(row: &OutboxRow) -> Result<&Map<String, Value>, String> {
    row.payload
        .as_object()
        .ok_or_else(|| "payload is not a json object".to_owned())
}

/// The id in `field`.
pub(super) fn uuid(payload: &Map<String, Value>, field: &str) -> Result<String, String> {
    payload
        .get(field)
        .and_then(Value::as_str)
        .filter(|id| Uuid::try_parse(id).is_ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("{field} is missing or not a uuid"))
}

/// The time in `field`, RFC 3339 with any offset (what [`rfc3339`] writes, and what each
/// backend's SQL writes).
pub(super) fn time(payload: &Map<String, Value>, field: &str) -> Result<DateTime<Utc>, String> {
    let at = payload
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field} is missing"))?;
    DateTime::parse_from_rfc3339(at)
        .map(|at| at.to_utc())
        .map_err(|error| format!("{field} is not an RFC 3339 time: {error}"))
}

/// `at` as a row holds it: RFC 3339 in UTC, to the microsecond (what PostgreSQL keeps).
pub(super) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}
