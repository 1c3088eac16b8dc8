//! Per-post platform settings (`overrides.<integrationId>.settings`) as
//! form fields generated from the platform's settings JSON Schema, and the
//! way back: submitted strings to the settings object the API takes.
//!
//! Values the form cannot show (keys outside the schema, shapes it has no
//! input for) travel in a hidden field, so saving through the form never
//! drops settings made through the API.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// How one schema property is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Whole numbers, typed as text so nothing typed is lost: a value that
    /// is not a number is sent as typed and the platform's check explains.
    Number,
    Checkbox,
    Select,
    /// A list of strings (or ids), typed comma-separated.
    List,
}

/// What the template needs to draw one settings input.
#[derive(Debug, Clone)]
pub struct SettingField {
    pub name: String,
    pub label: String,
    pub hint: String,
    pub kind: Kind,
    /// `url` for URI properties, `text` otherwise.
    pub input_type: &'static str,
    pub value: String,
    pub checked: bool,
    /// A checkbox whose platform default is "on": unchecking sends `false`.
    pub default_on: bool,
    /// Select options; the empty option (platform default) comes first.
    pub options: Vec<SelectOption>,
    /// Label of the empty select option.
    pub default_label: String,
    pub max_length: Option<u64>,
    /// Whole numbers typed here are sent as numbers (ids that may also be
    /// names, like a Lemmy community or WordPress categories).
    pub numbers: bool,
}

impl SettingField {
    /// `data-kind` for `composer.js`, which builds the same object.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Checkbox => "checkbox",
            Kind::Select => "select",
            Kind::List => "list",
        }
    }
}

/// The raw, as-typed values of one account's settings form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsDraft {
    pub values: BTreeMap<String, String>,
    /// Stored settings the form has no input for, kept as they are.
    pub extra: Map<String, Value>,
}

impl SettingsDraft {
    /// The form as a saved settings object shows it; with no saved object,
    /// as the platform's defaults.
    pub fn from_settings(schema: &Value, settings: &Value) -> Self {
        let mut draft = Self::default();
        let empty = Map::new();
        let saved = settings.as_object().unwrap_or(&empty);
        for (key, value) in saved {
            match property(schema, key).and_then(|p| text_of(p, value)) {
                Some(text) => {
                    // An unchecked box is an absent value.
                    if !text.is_empty() {
                        draft.values.insert(key.clone(), text);
                    }
                }
                None => {
                    draft.extra.insert(key.clone(), value.clone());
                }
            }
        }
        for (name, prop) in properties(schema) {
            if !saved.contains_key(name) && kind_of(prop) == Some(Kind::Checkbox) && default_on(prop) {
                draft.values.insert(name.clone(), "true".into());
            }
        }
        draft
    }

    /// The settings object to send, `None` when there is nothing to set.
    pub fn to_settings(&self, schema: &Value) -> Option<Value> {
        let mut out = self.extra.clone();
        for (name, prop) in properties(schema) {
            let Some(kind) = kind_of(prop) else { continue };
            let raw = self.values.get(name).map(|v| v.trim()).unwrap_or_default();
            let value = match kind {
                // Only what differs from the platform's default is sent.
                Kind::Checkbox => {
                    let on = matches!(raw, "true" | "on");
                    (on != default_on(prop)).then_some(Value::Bool(on))
                }
                _ if raw.is_empty() => None,
                Kind::Text | Kind::Select => Some(scalar(raw, allows_integer(prop))),
                Kind::Number => Some(scalar(raw, true)),
                Kind::List => {
                    let integers = prop.get("items").is_some_and(allows_integer);
                    let items: Vec<Value> = raw
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(|item| scalar(item, integers))
                        .collect();
                    (!items.is_empty()).then_some(Value::Array(items))
                }
            };
            // Left empty, a stored value the form could not show stays as it was.
            if let Some(value) = value {
                out.insert(name.clone(), value);
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// The hidden field that carries `extra`.
    pub fn extra_json(&self) -> String {
        serde_json::to_string(&self.extra).unwrap_or_else(|_| "{}".into())
    }
}

/// One option of a select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
}

/// One input per property the form knows how to edit, by name, with the
/// checkboxes together at the end.
pub fn fields(schema: &Value, draft: &SettingsDraft) -> Vec<SettingField> {
    let mut fields: Vec<SettingField> = properties(schema)
        .filter_map(|(name, prop)| {
            let kind = kind_of(prop)?;
            let text = |key: &str| prop.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
            let value = draft.values.get(name).cloned().unwrap_or_default();
            let mut hint = text("description");
            if kind == Kind::List {
                hint = format!("{hint} Separate them with commas.").trim().to_string();
            }
            let default = prop.get("default").and_then(Value::as_str);
            Some(SettingField {
                name: name.clone(),
                label: Some(text("title")).filter(|t| !t.is_empty()).unwrap_or_else(|| humanize(name)),
                hint,
                kind,
                input_type: if text("format") == "uri" { "url" } else { "text" },
                checked: matches!(value.as_str(), "true" | "on"),
                value,
                default_on: default_on(prop),
                options: options_of(prop),
                default_label: default.map_or_else(|| "Default".to_string(), |d| format!("Default ({d})")),
                max_length: prop.get("maxLength").and_then(Value::as_u64),
                numbers: allows_integer(prop.get("items").unwrap_or(prop)),
            })
        })
        .collect();
    fields.sort_by_key(|f| f.kind == Kind::Checkbox);
    fields
}

/// A select's options: the `enum` values, shown by their `x-labels` where
/// the account gave some (a Pinterest board's name for its id).
fn options_of(prop: &Value) -> Vec<SelectOption> {
    let labels = prop.get("x-labels").and_then(Value::as_array);
    let values = prop.get("enum").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    values
        .enumerate()
        .map(|(at, value)| SelectOption {
            value: value.to_string(),
            label: labels.and_then(|l| l.get(at)).and_then(Value::as_str).unwrap_or(value).to_string(),
        })
        .collect()
}

/// An account's own choices for a setting (integration settings
/// `choices.<name>`: `[{value, label}]`, e.g. its Pinterest boards) made
/// into the select of that setting in its copy of the schema.
pub fn with_account_choices(mut schema: Value, integration_settings: &Value) -> Value {
    let Some(choices) = integration_settings.get("choices").and_then(Value::as_object) else { return schema };
    for (name, list) in choices {
        let Some(prop) = schema.get_mut("properties").and_then(|p| p.get_mut(name)).and_then(Value::as_object_mut)
        else {
            continue;
        };
        let items = list.as_array().into_iter().flatten();
        let (values, labels): (Vec<Value>, Vec<Value>) =
            items.filter_map(|c| Some((c.get("value")?.clone(), c.get("label")?.clone()))).unzip();
        if !values.is_empty() && values.iter().all(Value::is_string) {
            prop.insert("enum".into(), Value::Array(values));
            prop.insert("x-labels".into(), Value::Array(labels));
        }
    }
    schema
}

fn properties(schema: &Value) -> impl Iterator<Item = (&String, &Value)> {
    schema.get("properties").and_then(Value::as_object).into_iter().flatten()
}

fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}

fn kind_of(prop: &Value) -> Option<Kind> {
    if prop.get("enum").and_then(Value::as_array).is_some_and(|e| e.iter().all(Value::is_string)) {
        return Some(Kind::Select);
    }
    match prop.get("type").and_then(Value::as_str) {
        Some("boolean") => Some(Kind::Checkbox),
        Some("integer" | "number") => Some(Kind::Number),
        Some("string") => Some(Kind::Text),
        Some("array") => prop.get("items").is_some_and(is_scalar).then_some(Kind::List),
        // `oneOf` of an id or a name (a Lemmy community): one text input.
        None if is_scalar(prop) => Some(Kind::Text),
        _ => None,
    }
}

/// A string, a number, or a choice between them.
fn is_scalar(schema: &Value) -> bool {
    let simple = |s: &Value| matches!(s.get("type").and_then(Value::as_str), Some("string" | "integer" | "number"));
    simple(schema) || variants(schema).is_some_and(|v| !v.is_empty() && v.iter().all(simple))
}

fn variants(schema: &Value) -> Option<&Vec<Value>> {
    schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array)
}

fn allows_integer(schema: &Value) -> bool {
    let integer = |s: &Value| matches!(s.get("type").and_then(Value::as_str), Some("integer" | "number"));
    integer(schema) || variants(schema).is_some_and(|v| v.iter().any(integer))
}

fn default_on(prop: &Value) -> bool {
    prop.get("default").and_then(Value::as_bool).unwrap_or(false)
}

/// `42` as a number where numbers are allowed, anything else as text.
fn scalar(raw: &str, integers: bool) -> Value {
    match raw.parse::<i64>() {
        Ok(n) if integers => Value::from(n),
        _ => Value::String(raw.to_string()),
    }
}

/// A stored value as the input shows it; `None` when the form cannot show it.
fn text_of(prop: &Value, value: &Value) -> Option<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match (kind_of(prop)?, value) {
        (Kind::Checkbox, Value::Bool(on)) => Some(if *on { "true".into() } else { String::new() }),
        (Kind::Checkbox, _) => None,
        (Kind::List, Value::Array(items)) => items.iter().map(one).collect::<Option<Vec<_>>>().map(|v| v.join(", ")),
        (Kind::List, _) => None,
        (_, v) => one(v),
    }
}

/// `spoilerText` → "Spoiler text", `canonicalUrl` → "Canonical URL".
fn humanize(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(word) = words.last_mut() {
            word.push(c.to_ascii_lowercase());
        }
    }
    let words: Vec<String> = words
        .into_iter()
        .enumerate()
        .map(|(i, word)| match word.as_str() {
            "url" | "id" => word.to_uppercase(),
            _ if i == 0 => word[..1].to_uppercase() + &word[1..],
            _ => word,
        })
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({ "type": "object", "properties": {
            "visibility": { "type": "string", "enum": ["public", "unlisted"], "default": "public" },
            "spoilerText": { "type": "string", "maxLength": 500, "description": "Content warning." },
            "sensitive": { "type": "boolean" },
            "published": { "type": "boolean", "default": true },
            "tags": { "type": "array", "items": { "type": "string" } },
            "categories": { "type": "array", "items": { "oneOf": [{ "type": "integer" }, { "type": "string" }] } },
            "organizationId": { "type": "integer" },
            "communityId": { "oneOf": [{ "type": "integer" }, { "type": "string" }] },
            "canonicalUrl": { "type": "string", "format": "uri" },
            "meta": { "type": "object" }
        } })
    }

    #[test]
    fn each_property_gets_the_input_its_type_calls_for() {
        let fields = fields(&schema(), &SettingsDraft::from_settings(&schema(), &json!({})));
        let kinds: Vec<(&str, Kind)> = fields.iter().map(|f| (f.name.as_str(), f.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("canonicalUrl", Kind::Text),
                ("categories", Kind::List),
                ("communityId", Kind::Text),
                ("organizationId", Kind::Number),
                ("spoilerText", Kind::Text),
                ("tags", Kind::List),
                ("visibility", Kind::Select),
                ("published", Kind::Checkbox),
                ("sensitive", Kind::Checkbox),
            ]
        );
        let by = |name: &str| fields.iter().find(|f| f.name == name).unwrap();
        assert_eq!((by("canonicalUrl").label.as_str(), by("canonicalUrl").input_type), ("Canonical URL", "url"));
        assert_eq!(by("organizationId").label, "Organization ID");
        assert_eq!((by("spoilerText").max_length, by("spoilerText").hint.as_str()), (Some(500), "Content warning."));
        let values: Vec<&str> = by("visibility").options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, vec!["public", "unlisted"]);
        assert_eq!(by("visibility").default_label, "Default (public)");
        assert!(by("published").checked, "a box that defaults to on starts checked");
        assert!(!by("sensitive").checked);
        assert!(by("tags").hint.contains("commas"));
        assert!(by("communityId").numbers && by("categories").numbers && !by("tags").numbers);
    }

    #[test]
    fn typed_values_become_the_settings_object() {
        let mut draft = SettingsDraft::default();
        for (k, v) in [
            ("visibility", "unlisted"),
            ("spoilerText", " launch "),
            ("sensitive", "true"),
            ("tags", "rust, web ,,"),
            ("categories", "3, news"),
            ("organizationId", "12"),
            ("communityId", "rust"),
            ("canonicalUrl", ""),
        ] {
            draft.values.insert(k.into(), v.into());
        }
        let settings = draft.to_settings(&schema()).unwrap();
        assert_eq!(
            settings,
            json!({
                "visibility": "unlisted", "spoilerText": "launch", "sensitive": true, "published": false,
                "tags": ["rust", "web"], "categories": [3, "news"], "organizationId": 12, "communityId": "rust"
            })
        );
        // A number that is not one is sent as typed: the platform's check names the problem.
        draft.values.insert("organizationId".into(), "twelve".into());
        assert_eq!(draft.to_settings(&schema()).unwrap()["organizationId"], "twelve");
        // Nothing set (and the default-on box left on): nothing to send.
        let defaults = SettingsDraft::from_settings(&schema(), &json!({}));
        assert_eq!(defaults.to_settings(&schema()), None);
    }

    #[test]
    fn saved_settings_round_trip_and_unknown_ones_are_kept() {
        let saved = json!({
            "visibility": "unlisted", "published": false, "tags": ["a", "b"], "categories": [3, "news"],
            "communityId": 7, "meta": { "x": 1 }, "fromTheApi": "kept"
        });
        let draft = SettingsDraft::from_settings(&schema(), &saved);
        assert_eq!(draft.values.get("tags").map(String::as_str), Some("a, b"));
        assert_eq!(draft.values.get("communityId").map(String::as_str), Some("7"));
        assert_eq!(draft.values.get("published"), None, "unchecked");
        assert_eq!(Value::Object(draft.extra.clone()), json!({ "meta": { "x": 1 }, "fromTheApi": "kept" }));
        assert_eq!(draft.to_settings(&schema()), Some(saved));
    }

    #[test]
    fn an_account_s_own_choices_become_a_labelled_select() {
        let schema = json!({ "type": "object", "properties": { "boardId": { "type": "string" } } });
        let boards = json!({ "choices": { "boardId": [{"value": "11", "label": "Recipes"}, {"value": "12", "label": "Garden"}] } });
        let schema = with_account_choices(schema, &boards);
        let field = fields(&schema, &SettingsDraft::default()).remove(0);
        assert_eq!(field.kind, Kind::Select);
        assert_eq!(field.options[1], SelectOption { value: "12".into(), label: "Garden".into() });
        let untouched = with_account_choices(json!({"properties": {}}), &boards);
        assert_eq!(untouched, json!({"properties": {}}));
    }
}
