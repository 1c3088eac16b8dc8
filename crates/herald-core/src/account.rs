//! Accounts: e-mail addresses, passwords, roles and time zones.

use crate::ValidationError;
use crate::string_enum::string_enum;

/// A syntactically plausible, lower-cased e-mail address. Uniqueness is
/// case-insensitive because the stored form is always lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let invalid = |why: &str| ValidationError::new("email", why.to_string());
        if email.is_empty() {
            return Err(invalid("is required"));
        }
        if email.len() > Self::MAX_LEN {
            return Err(invalid("must be at most 254 characters"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("must look like name@example.com"));
        };
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || !domain_ok || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must look like name@example.com"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy. `Debug` never prints it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    /// Long inputs would make argon2 a denial-of-service lever.
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {} characters (got {chars})", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(ValidationError::new("password", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if raw.trim().is_empty() {
            return Err(ValidationError::new("password", "must not be only spaces"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

/// A display name: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        if name.chars().count() > 100 {
            return Err(ValidationError::new(field, "must be at most 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(field, "must not contain control characters"));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| ValidationError::new(field, format!("`{raw}` is not an IANA time zone such as Europe/Paris")))
    }

    pub fn utc() -> Self {
        Self(chrono_tz::UTC)
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

string_enum!(
    /// Instance-wide role: the first registered user is the admin.
    UserRole { Admin => "ADMIN", User => "USER" }
);

string_enum!(
    /// A member's role in a workspace. A contributor may only draft; a
    /// viewer may only read.
    WorkspaceRole { Owner => "OWNER", Editor => "EDITOR", Contributor => "CONTRIBUTOR", Viewer => "VIEWER" }
);

impl WorkspaceRole {
    pub fn can_write(self) -> bool {
        !matches!(self, Self::Viewer)
    }

    pub fn can_publish(self) -> bool {
        matches!(self, Self::Owner | Self::Editor)
    }

    pub fn can_manage(self) -> bool {
        matches!(self, Self::Owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "@example.com", "ada@", "ada@.com", "ada@example.", "a da@example.com", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn passwords_need_twelve_characters_counted_as_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("elevenchars").is_err());
        assert!(Password::parse("twelve chars").is_ok());
        // Twelve characters of four bytes each: length is counted in characters.
        assert!(Password::parse(&"🔒".repeat(12)).is_ok());
        assert!(Password::parse(&"🔒".repeat(11)).is_err());
        assert!(Password::parse(&" ".repeat(20)).is_err());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
        assert_eq!(format!("{:?}", Password::parse("a very secret one").unwrap()), "Password(**redacted**)");
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZone::parse("timezone", "Europe/Paris").unwrap().name(), "Europe/Paris");
        assert!(TimeZone::parse("timezone", "Mars/Olympus").is_err());
    }

    #[test]
    fn roles_round_trip_and_grant_the_right_things() {
        for role in WorkspaceRole::ALL {
            assert_eq!(WorkspaceRole::parse(role.as_str()), Some(*role));
        }
        assert!(!WorkspaceRole::Contributor.can_publish());
        assert!(WorkspaceRole::Contributor.can_write());
        assert!(!WorkspaceRole::Viewer.can_write());
        assert_eq!(UserRole::parse("ADMIN"), Some(UserRole::Admin));
        assert_eq!(UserRole::parse("admin"), None);
    }
}
