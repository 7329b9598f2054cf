//! The CRM's vocabulary: teams, roles, stages, entry kinds, user names, alert targets, money.
//!
//! Every value here is parsed at the edge (CLI, import, a document read back) and is valid once
//! constructed.

use std::fmt;
use std::str::FromStr;

use crate::error::InvalidInput;

/// Declares a closed set of lowercase words, parsed and printed as those words.
macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word that names this value in documents, on the command line and in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = InvalidInput;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($word => Ok($name::$variant),)+
                    _ => Err(InvalidInput::Word {
                        what: $what,
                        text: text.to_owned(),
                        expected: [$($word),+].join(", "),
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

word_enum!(
    /// The team a member works in; every timeline entry is marked with its author's team.
    Team, "team" {
        /// Sales.
        Sales = "sales",
        /// Marketing.
        Marketing = "marketing",
        /// Support.
        Support = "support",
    }
);

word_enum!(
    /// Where an account's value score falls.
    ValueTier, "value tier" {
        /// Below [`crate::value::MEDIUM_FROM`].
        Low = "low",
        /// From [`crate::value::MEDIUM_FROM`] to below [`crate::value::HIGH_FROM`].
        Medium = "medium",
        /// From [`crate::value::HIGH_FROM`].
        High = "high",
    }
);

word_enum!(
    /// What a member may do in a workspace.
    Role, "role" {
        /// Manages members and settings, and edits everything.
        Admin = "admin",
        /// Edits customer records.
        Member = "member",
        /// Reads only.
        Viewer = "viewer",
    }
);

word_enum!(
    /// Where an account stands in its lifecycle.
    Stage, "stage" {
        /// Not yet qualified.
        Lead = "lead",
        /// Qualified, being worked on.
        Prospect = "prospect",
        /// Paying.
        Customer = "customer",
        /// Was a customer, left.
        Churned = "churned",
    }
);

word_enum!(
    /// What kind of interaction a timeline entry records.
    EntryKind, "entry kind" {
        /// A free note.
        Note = "note",
        /// A phone call.
        Call = "call",
        /// An email.
        Email = "email",
        /// A meeting.
        Meeting = "meeting",
        /// A support ticket.
        Ticket = "ticket",
        /// A marketing campaign touch.
        Campaign = "campaign",
    }
);

/// A member's user name: non-empty, at most 64 characters, letters, digits, `.`, `_` and `-`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserName(String);

impl UserName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UserName {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.chars().count() > 64 || !text.chars().all(valid_char) {
            return Err(InvalidInput::UserName {
                text: text.to_owned(),
            });
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

impl serde::Serialize for UserName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Who an alert on a timeline entry is for: a whole team, or one user.
///
/// Written `sales` or `@alice`, on the command line and in documents alike.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertTarget {
    /// Every member of the team.
    Team(Team),
    /// One member.
    User(UserName),
}

impl AlertTarget {
    /// Whether this target names `user` or `team`.
    pub fn includes(&self, user: &UserName, team: Team) -> bool {
        match self {
            AlertTarget::Team(t) => *t == team,
            AlertTarget::User(u) => u == user,
        }
    }
}

impl FromStr for AlertTarget {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix('@') {
            Some(user) => Ok(AlertTarget::User(user.parse()?)),
            None => text
                .parse()
                .map(AlertTarget::Team)
                .map_err(|_| InvalidInput::AlertTarget {
                    text: text.to_owned(),
                }),
        }
    }
}

impl fmt::Display for AlertTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertTarget::Team(team) => write!(f, "{team}"),
            AlertTarget::User(user) => write!(f, "@{user}"),
        }
    }
}

impl serde::Serialize for AlertTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An ISO 4217 currency code: three uppercase ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The currency used when none is given.
    pub const DEFAULT: Currency = Currency(*b"EUR");

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII uppercase letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// How many decimal digits its minor unit has (2 for most, 0 for yen and won).
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"TND" | b"JOD" => 3,
            _ => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(code) if code.iter().all(u8::is_ascii_uppercase) => Ok(Currency(code)),
            _ => Err(InvalidInput::Currency {
                text: text.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An amount of money, in minor units (cents) of its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    /// Minor units: 1250 EUR-cents is 12.50 EUR.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Parses a decimal amount in major units ("12000", "99.95") in `currency`.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, InvalidInput> {
        let invalid = || InvalidInput::Amount {
            text: text.to_owned(),
            currency: currency.to_string(),
        };
        let digits = currency.minor_digits();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > digits as usize
        {
            return Err(invalid());
        }
        let scale = 10i64.pow(digits);
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction: i64 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<width$}", width = digits as usize)
                .parse()
                .map_err(|_| invalid())?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|m| m.checked_add(fraction))
            .ok_or_else(invalid)?;
        Ok(Money { minor, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10i64.pow(digits);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let (whole, frac) = (abs / scale as u64, abs % scale as u64);
        write!(
            f,
            "{sign}{whole}.{frac:0width$} {}",
            self.currency,
            width = digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_print_the_same() -> Result<(), Box<dyn std::error::Error>> {
        for team in Team::ALL {
            assert_eq!(team.as_str().parse::<Team>()?, *team);
        }
        let err = "finance"
            .parse::<Team>()
            .err()
            .ok_or("finance should be refused")?
            .to_string();
        assert!(
            err.contains("finance") && err.contains("sales, marketing, support"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn alert_targets_are_teams_or_users() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            "sales".parse::<AlertTarget>()?,
            AlertTarget::Team(Team::Sales)
        );
        let user: AlertTarget = "@ana".parse()?;
        assert_eq!(user.to_string(), "@ana");
        assert!(user.includes(&"ana".parse()?, Team::Support));
        assert!(!user.includes(&"bo".parse()?, Team::Support));
        assert!("@".parse::<AlertTarget>().is_err());
        assert!("finance".parse::<AlertTarget>().is_err());
        Ok(())
    }

    #[test]
    fn user_names_reject_spaces_and_empty() {
        assert!("ana.lopez".parse::<UserName>().is_ok());
        assert!("".parse::<UserName>().is_err());
        assert!("ana lopez".parse::<UserName>().is_err());
        assert!("@ana".parse::<UserName>().is_err());
    }

    #[test]
    fn money_parses_major_units_into_minor() -> Result<(), Box<dyn std::error::Error>> {
        let eur = Currency::DEFAULT;
        assert_eq!(Money::parse("12000", eur)?.minor, 1_200_000);
        assert_eq!(Money::parse("99.5", eur)?.minor, 9_950);
        assert_eq!(Money::parse("0.05", eur)?.minor, 5);
        assert_eq!(Money::parse("1500", "jpy".parse()?)?.minor, 1500);
        for bad in [
            "",
            "1.234",
            "-5",
            "1e3",
            "12,00",
            ".5",
            "99999999999999999999",
        ] {
            assert!(Money::parse(bad, eur).is_err(), "{bad} should be rejected");
        }
        assert_eq!(Money::parse("99.5", eur)?.to_string(), "99.50 EUR");
        Ok(())
    }

    #[test]
    fn currency_codes_are_three_letters() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!("usd".parse::<Currency>()?.as_str(), "USD");
        assert!("US".parse::<Currency>().is_err());
        assert!("US1".parse::<Currency>().is_err());
        Ok(())
    }
}
