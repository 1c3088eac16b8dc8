//! A provider's credentials and per-post settings are declared once, as a
//! Rust struct: serde reads them, schemars derives from it the JSON Schema
//! every client sees (`GET /platforms`, the connect form, the composer, MCP),
//! and garde checks it with the same attributes the schema advertises
//! (schemars reads `#[garde(length(..))]`, `#[garde(url)]`, `#[garde(range(..))]` …).
//!
//! ```text
//! #[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
//! #[serde(rename_all = "camelCase", default, deny_unknown_fields)]
//! #[garde(allow_unvalidated)]
//! struct Settings {
//!     /// Post every item into this existing thread.
//!     #[garde(pattern(r"^[0-9]+$"))]
//!     thread_id: Option<String>,
//! }
//! ```

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// What a provider may declare: read from JSON, described, checked.
pub trait Declared: DeserializeOwned + JsonSchema + garde::Validate<Context = ()> {}

impl<T: DeserializeOwned + JsonSchema + garde::Validate<Context = ()>> Declared for T {}

/// A problem with one field, as `(field, message)`; the field is empty when
/// the value as a whole is wrong.
pub type Problem = (String, String);

/// A declaration as the [`crate::Provider`] trait hands it out.
#[derive(Clone, Copy)]
pub struct Declaration {
    /// What the platform is called in messages ("is not a Discord setting").
    platform: &'static str,
    schema: fn() -> Value,
    problems: fn(&'static str, &Value) -> Vec<Problem>,
}

impl Declaration {
    pub fn of<T: Declared>(platform: &'static str) -> Self {
        Self { platform, schema: schema_of::<T>, problems: problems_of::<T> }
    }

    /// Nothing to declare: only an empty object (or none) is accepted.
    pub fn none(platform: &'static str) -> Self {
        Self::of::<Nothing>(platform)
    }

    /// The JSON Schema, as clients read it.
    pub fn schema(&self) -> Value {
        (self.schema)()
    }

    /// Every problem with `value`; empty when it can be read. `null` is an
    /// empty object.
    pub fn problems(&self, value: &Value) -> Vec<Problem> {
        (self.problems)(self.platform, value)
    }
}

impl std::fmt::Debug for Declaration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Declaration").field("platform", &self.platform).finish_non_exhaustive()
    }
}

// The declaration of "no settings".
#[derive(Debug, Default, serde::Deserialize, JsonSchema, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// A garde rule: an absolute http(s) URL (garde's own `url` takes any scheme).
/// Pair it with `#[schemars(url)]` so clients see `"format": "uri"`.
pub fn http_url(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(raw) if !crate::article::is_http_url(raw.trim()) => Err(garde::Error::new("must be an http(s) URL")),
        _ => Ok(()),
    }
}

/// A garde rule's answer when it found several problems with one field:
/// each becomes its own `(field, message)` (see [`problems_of`]).
pub fn all(problems: Vec<String>) -> garde::Result {
    if problems.is_empty() { Ok(()) } else { Err(garde::Error::new(problems.join(SEPARATE))) }
}

/// Joins the messages [`all`] packs into one garde error.
const SEPARATE: &str = "\u{1e}";

/// Reads `value` (an object, or `null` for an empty one) as `T`; the error
/// names the platform and lists every problem.
pub fn read<T: Declared>(platform: &str, value: &Value) -> Result<T, String> {
    let problems = problems_of::<T>(platform, value);
    if !problems.is_empty() {
        let listed: Vec<String> = problems
            .into_iter()
            .map(|(field, message)| if field.is_empty() { message } else { format!("{field} {message}") })
            .collect();
        return Err(format!("invalid {platform} settings: {}", listed.join("; ")));
    }
    T::deserialize(as_object(value)).map_err(|error| format!("invalid {platform} settings: {error}"))
}

/// The JSON Schema of `T` as one self-contained object: subschemas inlined,
/// optional fields as their plain type (absent means "the default").
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        // The struct's own doc comment speaks to Rust readers; each field's
        // speaks to people filling the form.
        object.remove("title");
        object.remove("description");
        object.remove("$defs");
        let properties = object.entry("properties").or_insert_with(|| Value::Object(Map::new()));
        if let Some(properties) = properties.as_object_mut() {
            properties.values_mut().for_each(absent_is_not_null);
        }
    }
    schema
}

/// An `Option` field is one a client leaves out, not one it sets to
/// `null`: its schema is the plain type (`"string"`, not
/// `["string", "null"]`), and a `None` default is no default. Descriptions
/// are unwrapped into one line.
fn absent_is_not_null(property: &mut Value) {
    let Some(object) = property.as_object_mut() else { return };
    // A doc comment wraps where the source does; a form hint should not.
    if let Some(Value::String(description)) = object.get_mut("description") {
        *description = description.split('\n').map(str::trim).collect::<Vec<_>>().join(" ");
    }
    if object.get("default").is_some_and(Value::is_null) {
        object.remove("default");
    }
    if let Some(Value::Array(kinds)) = object.get_mut("type") {
        kinds.retain(|kind| kind != "null");
        if let [only] = kinds.as_slice() {
            let only = only.clone();
            object.insert("type".into(), only);
        }
    }
    let null = |variant: &Value| variant.get("type").is_some_and(|kind| kind == "null");
    if let Some(Value::Array(variants)) = object.get_mut("anyOf") {
        variants.retain(|variant| !null(variant));
        if let [only] = variants.as_slice() {
            let only = only.clone();
            object.remove("anyOf");
            if let Value::Object(inner) = only {
                for (key, value) in inner {
                    object.entry(key).or_insert(value);
                }
            }
        }
    }
    if let Some(Value::Array(choices)) = object.get_mut("enum") {
        choices.retain(|choice| !choice.is_null());
    }
}

/// Every problem with `value` as a `T`, sorted by field: first each field
/// is checked against its schema (a key `T` does not have, a wrong type, a
/// value outside its choices), then the fields that passed are read and
/// checked by `T`'s garde rules, so one answer lists all there is to fix.
fn problems_of<T: Declared>(platform: &str, value: &Value) -> Vec<Problem> {
    let mut object = match value {
        Value::Null => Map::new(),
        Value::Object(object) => object.clone(),
        _ => return vec![(String::new(), "must be an object".into())],
    };
    let schema = schema_of::<T>();
    let empty = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    // A declaration of a free object (webhook settings) takes any key.
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    let mut problems: Vec<Problem> = Vec::new();
    for (key, field) in &object {
        let problem = match properties.get(key) {
            None if !closed => None,
            None => Some(format!("is not a {platform} setting")),
            Some(property) => shape_problem(property, field),
        };
        problems.extend(problem.map(|message| (key.clone(), message)));
    }
    let required = schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    for name in required {
        if !object.contains_key(name) {
            problems.push((name.to_string(), "is required".into()));
        }
    }
    object.retain(|key, _| !problems.iter().any(|(field, _)| field == key));
    let shaped = problems.len();
    match T::deserialize(Value::Object(object)) {
        Ok(parsed) => {
            if let Err(report) = parsed.validate() {
                for (path, error) in report.iter() {
                    let field = camel_case_path(&path.to_string());
                    let root = field.split(['.', '[']).next().unwrap_or_default();
                    if !problems[..shaped].iter().any(|(reported, _)| reported == root) {
                        for message in error.message().split(SEPARATE) {
                            problems.push((field.clone(), message.to_string()));
                        }
                    }
                }
            }
        }
        // The schema passed but serde did not: a rule only serde knows.
        Err(error) if shaped == 0 => problems.push((String::new(), error.to_string())),
        Err(_) => {}
    }
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    problems
}

fn as_object(value: &Value) -> Value {
    if value.is_null() { Value::Object(Map::new()) } else { value.clone() }
}

/// Whether `value` has the JSON type (and, for choices, one of the values)
/// the property's schema asks for; a readable message when it has not.
fn shape_problem(property: &Value, value: &Value) -> Option<String> {
    if let Some(choices) = property.get("enum").and_then(Value::as_array) {
        if choices.contains(value) {
            return None;
        }
        let listed: Vec<String> =
            choices.iter().map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string)).collect();
        return Some(format!("must be one of {}", listed.join(", ")));
    }
    let variants = property.get("anyOf").or_else(|| property.get("oneOf")).and_then(Value::as_array);
    if let Some(variants) = variants {
        if variants.iter().any(|variant| shape_problem(variant, value).is_none()) {
            return None;
        }
        let kinds: Vec<&str> = variants.iter().filter_map(|v| v.get("type").and_then(Value::as_str)).collect();
        return Some(format!("must be {}", kinds.iter().map(|k| kind_name(k)).collect::<Vec<_>>().join(" or ")));
    }
    let kinds: Vec<&str> = match property.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if !kinds.iter().any(|kind| has_kind(value, kind)) {
        return Some(format!("must be {}", kinds.iter().map(|k| kind_name(k)).collect::<Vec<_>>().join(" or ")));
    }
    if let (Some(minimum), Some(number)) = (property.get("minimum").and_then(Value::as_f64), value.as_f64())
        && number < minimum
    {
        return Some(format!("must be at least {minimum}"));
    }
    if let (Some(items), Some(values)) = (property.get("items"), value.as_array()) {
        return values
            .iter()
            .enumerate()
            .find_map(|(i, item)| shape_problem(items, item).map(|m| format!("[{i}] {m}")));
    }
    None
}

fn has_kind(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "string" => "text",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "array" => "a list",
        "object" => "an object",
        _ => "null",
    }
}

/// garde names fields as Rust does (`thread_id`, `tags[0]`); clients know
/// them as the JSON does (`threadId`).
fn camel_case_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use garde::Validate;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
    #[serde(rename_all = "camelCase", default, deny_unknown_fields)]
    #[garde(allow_unvalidated)]
    struct Example {
        /// Shown instead of the account's name.
        #[garde(length(chars, min = 1, max = 5))]
        user_name: Option<String>,
        #[garde(range(min = 1))]
        topic_id: Option<i64>,
        quiet: bool,
        mode: Option<Mode>,
    }

    #[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Plain,
        Html,
    }

    #[test]
    fn the_schema_is_derived_flat_with_descriptions_bounds_and_choices() {
        let schema = schema_of::<Example>();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        let user = &schema["properties"]["userName"];
        assert_eq!(user["type"], "string");
        assert_eq!(user["maxLength"], 5);
        assert_eq!(user["description"], "Shown instead of the account's name.");
        assert_eq!(schema["properties"]["quiet"]["type"], "boolean");
        assert_eq!(schema["properties"]["quiet"]["default"], false);
        assert_eq!(schema["properties"]["mode"]["enum"], json!(["plain", "html"]));
        assert!(schema.get("$defs").is_none(), "{schema}");
    }

    #[test]
    fn every_problem_is_reported_by_its_json_name() {
        let example = Declaration::of::<Example>("Example");
        assert!(example.problems(&json!({"userName": "ada", "quiet": true, "mode": "html"})).is_empty());
        assert!(example.problems(&Value::Null).is_empty());
        assert_eq!(example.problems(&json!([])), [(String::new(), "must be an object".to_string())]);
        let shapes = example.problems(&json!({"colour": 1, "quiet": "yes", "mode": "rtf", "topicId": "7"}));
        let fields: Vec<&str> = shapes.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["colour", "mode", "quiet", "topicId"]);
        assert!(shapes[0].1.contains("is not a Example setting"));
        assert_eq!(shapes[1].1, "must be one of plain, html");
        assert_eq!(shapes[2].1, "must be true or false");
        let rules = example.problems(&json!({"userName": "far too long", "topicId": 0}));
        let fields: Vec<&str> = rules.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["topicId", "userName"]);
    }

    #[test]
    fn reading_gives_the_struct_or_every_problem() {
        let example: Example = read("Example", &json!({"userName": "ada"})).unwrap();
        assert_eq!(example.user_name.as_deref(), Some("ada"));
        assert!(!example.quiet);
        let error = read::<Example>("Example", &json!({"quiet": 1, "x": 2})).unwrap_err();
        assert!(error.starts_with("invalid Example settings: "), "{error}");
        assert!(
            error.contains("quiet must be true or false") && error.contains("x is not a Example setting"),
            "{error}"
        );
    }
}
