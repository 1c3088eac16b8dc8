//! Times in tool results: in UTC as stored, and in the user's time zone,
//! so an assistant can say "tomorrow at 9:00" without doing zone math.

use serde_json::Value;

const FIELDS: &[&str] = &["scheduledFor", "publishedAt", "createdAt", "updatedAt"];

pub fn with_local_times(mut value: Value, timezone: &str) -> Value {
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    if let Some(object) = value.as_object_mut() {
        for field in FIELDS {
            let local = object
                .get(*field)
                .and_then(Value::as_str)
                .and_then(|raw| chrono::DateTime::parse_from_rfc3339(raw).ok())
                .map(|t| t.with_timezone(&tz).to_rfc3339());
            if let Some(local) = local {
                object.insert(format!("{field}Local"), Value::String(local));
            }
        }
        object.insert("timezone".into(), Value::String(tz.name().to_string()));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_local_copies_of_times() {
        let value = serde_json::json!({"scheduledFor": "2026-06-01T07:00:00Z", "publishedAt": null});
        let out = with_local_times(value, "Europe/Paris");
        assert_eq!(out["scheduledForLocal"], "2026-06-01T09:00:00+02:00");
        assert!(out.get("publishedAtLocal").is_none());
        assert_eq!(out["timezone"], "Europe/Paris");
        assert_eq!(with_local_times(serde_json::json!({}), "Nowhere/Else")["timezone"], "UTC");
    }
}
