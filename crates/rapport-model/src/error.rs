//! The model's errors: input that does not parse, documents of an unexpected shape, and edits
//! that cannot apply.

/// A value given by a person or a file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// Not one of a closed set of words.
    #[error("invalid {what} '{text}': expected one of {expected}")]
    Word {
        /// What was being parsed ("team", "stage", ...).
        what: &'static str,
        /// The text given.
        text: String,
        /// The accepted words, comma separated.
        expected: String,
    },
    /// Not an automerge-repo document id.
    #[error(
        "invalid document id '{text}': expected a base58check id such as 4NMNnkMhL8jXrdJ9jamS58PAVdXu"
    )]
    DocumentId {
        /// The text given.
        text: String,
    },
    /// Not an item id.
    #[error("invalid {what} id '{text}': expected a 26-character ULID")]
    ItemId {
        /// Which kind of item.
        what: &'static str,
        /// The text given.
        text: String,
    },
    /// Not a user name.
    #[error("invalid user name '{text}': use 1 to 64 letters, digits, '.', '_' or '-'")]
    UserName {
        /// The text given.
        text: String,
    },
    /// Neither a team nor `@user`.
    #[error("invalid alert target '{text}': expected sales, marketing, support or @user")]
    AlertTarget {
        /// The text given.
        text: String,
    },
    /// Not a currency code.
    #[error("invalid currency '{text}': expected a three-letter code such as EUR")]
    Currency {
        /// The text given.
        text: String,
    },
    /// Not an amount of money.
    #[error(
        "invalid amount '{text}' for {currency}: expected a decimal amount such as 1200 or 99.50"
    )]
    Amount {
        /// The text given.
        text: String,
        /// The currency it was read in.
        currency: String,
    },
    /// Not a calendar date.
    #[error("invalid date '{text}': expected YYYY-MM-DD")]
    Date {
        /// The text given.
        text: String,
    },
    /// Not a follow-up: neither `Nd` nor a date from today on.
    #[error(
        "invalid follow-up '{text}': expected a number of days such as 3d (0d to 3650d) or a date YYYY-MM-DD from today on"
    )]
    FollowUp {
        /// The text given.
        text: String,
    },
    /// A required text is empty.
    #[error("{what} must not be empty")]
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// An email address without an `@` or a domain.
    #[error("invalid email '{text}': expected name@domain")]
    Email {
        /// The text given.
        text: String,
    },
    /// Not a field an account has.
    #[error("unknown field '{field}': expected one of {expected}, or custom.NAME")]
    UnknownField {
        /// The field named.
        field: String,
        /// The known fields.
        expected: String,
    },
    /// Not a rule name.
    #[error("invalid rule name '{text}': use 1 to 64 letters, digits, '.', '_' or '-'")]
    RuleName {
        /// The text given.
        text: String,
    },
    /// Not a rule target.
    #[error(
        "invalid rule target '{text}': expected owner, followers, sales, marketing, support or @user"
    )]
    RuleTarget {
        /// The text given.
        text: String,
    },
    /// A rule with no condition, which would alert on every entry of every account.
    #[error(
        "rule '{name}' has no condition: give at least one of --when-kind, --when-tier, --when-stage, --when-team"
    )]
    RuleWithoutCondition {
        /// The rule's name.
        name: String,
    },
    /// Not a custom field name.
    #[error("invalid custom field name '{text}': use 1 to 64 letters, digits, '_' or '-'")]
    FieldName {
        /// The text given.
        text: String,
    },
    /// A custom field label that is too long.
    #[error(
        "invalid custom field label '{text}': use at most {max} characters",
        max = crate::custom_field::MAX_LABEL
    )]
    FieldLabel {
        /// The label given.
        text: String,
    },
    /// Options a custom field cannot have.
    #[error("invalid custom field options: {reason}")]
    FieldOptions {
        /// What is wrong with them.
        reason: String,
    },
    /// A value that does not fit its custom field's definition.
    #[error("invalid value '{text}' for custom.{field}: expected {expected}")]
    FieldValue {
        /// The field's name.
        field: Box<str>,
        /// The value given.
        text: String,
        /// What the field takes.
        expected: Box<str>,
    },
    /// Not of the form FIELD=VALUE.
    #[error("invalid assignment '{text}': expected FIELD=VALUE")]
    Assignment {
        /// The text given.
        text: String,
    },
}

/// A document whose content does not have the shape Rapport writes: written by a foreign peer,
/// or damaged. Reading stops with this error instead of guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A value of the wrong type at a known place.
    #[error("document field {path} holds {found}, expected {expected}")]
    WrongType {
        /// Where in the document, like `timeline.01J..text`.
        path: String,
        /// The type Rapport writes there.
        expected: &'static str,
        /// What was found instead.
        found: String,
    },
    /// A required field is absent.
    #[error("document field {path} is missing")]
    Missing {
        /// Where in the document.
        path: String,
    },
    /// A value that does not parse (an unknown team, a bad id as a map key, ...).
    #[error("document field {path} is invalid: {source}")]
    Invalid {
        /// Where in the document.
        path: String,
        /// Why it does not parse.
        source: InvalidInput,
    },
    /// Not the kind of document expected (an account where a workspace should be, or a foreign one).
    #[error("document is not a rapport {expected} document (type is {found})")]
    WrongKind {
        /// The kind expected.
        expected: &'static str,
        /// The `type` the document has, or `missing`.
        found: String,
    },
}

/// An edit that cannot be applied to a document.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The item to edit does not exist in the document.
    #[error("no {what} {id} in this account")]
    UnknownItem {
        /// Which kind of item.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A contact merge that cannot be made as asked (into itself, into a merged contact).
    #[error("cannot merge contact {other} into {keep}: {reason}")]
    CannotMergeContact {
        /// The contact to merge away.
        other: crate::id::ContactId,
        /// The contact to keep.
        keep: crate::id::ContactId,
        /// Why not.
        reason: String,
    },
    /// The workspace has no alert rule of that name.
    #[error("no alert rule named '{name}' in this workspace")]
    UnknownRule {
        /// The name given.
        name: String,
    },
    /// The workspace defines no custom field of that name.
    #[error("no custom field named '{name}' is defined in this workspace")]
    UnknownFieldDefinition {
        /// The name given.
        name: String,
    },
    /// The document does not have the shape the edit expects.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// Automerge refused the operation.
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
}

impl From<automerge::AutomergeError> for EditError {
    fn from(error: automerge::AutomergeError) -> Self {
        EditError::Automerge(Box::new(error))
    }
}
