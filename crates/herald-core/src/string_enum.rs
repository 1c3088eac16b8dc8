//! The one way Herald declares a closed set of words stored and sent as
//! text (statuses, roles, event kinds): each variant's text is written once,
//! here in its declaration, and every other place uses the variant. With the
//! `sea-orm` feature the store reads and writes them as typed columns; with
//! `schemars` they are JSON Schema enums (MCP's tool arguments).

/// Declares an enum whose variants travel as the given texts in JSON, in
/// the database and in the OpenAPI document:
///
/// ```text
/// string_enum!(
///     /// Docs.
///     PostStatus { Draft => "DRAFT", Published => "PUBLISHED" }
/// );
/// ```
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[cfg_attr(feature = "sea-orm", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
        #[cfg_attr(feature = "sea-orm", sea_orm(rs_type = "String", db_type = "Text"))]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[serde(rename = $text)]
                #[cfg_attr(feature = "sea-orm", sea_orm(string_value = $text))]
                $variant
            ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;
