//! Schemas of the OpenAPI document that say more than the Rust type: the
//! document must tell the whole truth, so what the server checks is stated.

use std::borrow::Cow;

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

/// An IANA time zone name (`Europe/Paris`): the list Herald knows.
pub struct TimeZoneName;

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time zone name, e.g. `Europe/Paris`."))
            .enum_values(Some(names))
            .into()
    }
}

impl utoipa::ToSchema for TimeZoneName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimeZoneName")
    }
}

/// An RFC 3339 date-time with an offset.
pub struct DateTimeText;

impl utoipa::PartialSchema for DateTimeText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl utoipa::ToSchema for DateTimeText {}

/// A field the document types as an object: anything else is refused when
/// the body is read, like any other type mismatch.
pub(crate) mod object {
    use super::Deserialize;

    pub(crate) fn option<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<serde_json::Value>, D::Error> {
        Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)
            .map(|map| map.map(serde_json::Value::Object))
    }
}

/// Lists and maps of objects. A derived `Deserialize` also takes a struct
/// written as an array (`[null, null]`), which the document does not allow:
/// these read each item as an object first.
pub(crate) mod objects {
    use std::collections::BTreeMap;

    use serde::de::{DeserializeOwned, Error};

    use super::Deserialize;

    type Object = serde_json::Map<String, serde_json::Value>;

    fn read<T: DeserializeOwned, E: Error>(object: Object) -> Result<T, E> {
        serde_json::from_value(serde_json::Value::Object(object)).map_err(E::custom)
    }

    pub(crate) fn vec<'de, D: serde::Deserializer<'de>, T: DeserializeOwned>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        Vec::<Object>::deserialize(deserializer)?.into_iter().map(read).collect()
    }

    pub(crate) fn map<'de, D: serde::Deserializer<'de>, T: DeserializeOwned>(
        deserializer: D,
    ) -> Result<BTreeMap<String, T>, D::Error> {
        BTreeMap::<String, Object>::deserialize(deserializer)?.into_iter().map(|(k, v)| Ok((k, read(v)?))).collect()
    }

    pub(crate) fn option_vec<'de, D: serde::Deserializer<'de>, T: DeserializeOwned>(
        deserializer: D,
    ) -> Result<Option<Vec<T>>, D::Error> {
        Option::<Vec<Object>>::deserialize(deserializer)?.map(|items| items.into_iter().map(read).collect()).transpose()
    }

    pub(crate) fn option_map<'de, D: serde::Deserializer<'de>, T: DeserializeOwned>(
        deserializer: D,
    ) -> Result<Option<BTreeMap<String, T>>, D::Error> {
        Option::<BTreeMap<String, Object>>::deserialize(deserializer)?
            .map(|items| items.into_iter().map(|(k, v)| Ok((k, read(v)?))).collect())
            .transpose()
    }
}

/// JSON numbers that are integers, however written: JSON Schema's
/// `integer` admits `3.0`, and so does Herald.
pub(crate) mod whole {
    use super::Deserialize;

    fn whole<E: serde::de::Error>(value: f64) -> Result<i64, E> {
        #[allow(clippy::cast_possible_truncation)]
        let as_int = value as i64;
        #[allow(clippy::cast_precision_loss)]
        let exact = value.fract() == 0.0 && value.is_finite() && (as_int as f64) == value;
        if exact { Ok(as_int) } else { Err(E::custom(format!("{value} is not a whole number"))) }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
    }

    impl Number {
        fn into_i64<E: serde::de::Error>(self) -> Result<i64, E> {
            match self {
                Self::Int(n) => Ok(n),
                Self::Float(f) => whole(f),
            }
        }
    }

    pub(crate) fn option<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Option::<Number>::deserialize(deserializer)?.map(Number::into_i64).transpose()
    }

    pub(crate) fn option_vec<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<i64>>, D::Error> {
        match Option::<Vec<Number>>::deserialize(deserializer)? {
            Some(numbers) => numbers.into_iter().map(Number::into_i64).collect::<Result<Vec<_>, _>>().map(Some),
            None => Ok(None),
        }
    }

    #[cfg(test)]
    mod tests {
        #[derive(serde::Deserialize)]
        struct Input {
            #[serde(default, deserialize_with = "super::option")]
            n: Option<i64>,
            #[serde(default, deserialize_with = "super::option_vec")]
            v: Option<Vec<i64>>,
        }

        #[test]
        fn integral_floats_are_integers_and_others_are_refused() {
            let read = |json: &str| serde_json::from_str::<Input>(json);
            let ok = read(r#"{"n": 3.0, "v": [1, 2.0, -4]}"#).unwrap();
            assert_eq!((ok.n, ok.v), (Some(3), Some(vec![1, 2, -4])));
            assert!(read(r#"{"n": 3.5}"#).is_err());
            assert!(read(r#"{"n": 1e300}"#).is_err());
            assert_eq!(read("{}").unwrap().n, None);
            assert!(read(r#"{"n": null}"#).unwrap().n.is_none());
        }
    }
}
