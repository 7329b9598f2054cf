//! Why a file cannot be imported at all (as opposed to one of its rows being rejected).

/// A file that does not read as a CSV table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No header, no rows.
    #[error("the file is empty")]
    Empty,
    /// Binary content.
    #[error("not a CSV file: it holds NUL bytes (binary data)")]
    NotText,
    /// Bytes that are not UTF-8.
    #[error("line {line} is not UTF-8 text: export the file as UTF-8 CSV")]
    NotUtf8 {
        /// Where.
        line: u64,
    },
    /// Broken quoting or similar.
    #[error("line {line} does not parse as CSV: {reason}")]
    Syntax {
        /// Where.
        line: u64,
        /// The parser's words.
        reason: String,
    },
    /// A row of another length than the header.
    #[error("line {line} has {found} cells where the header has {expected}")]
    Ragged {
        /// Where.
        line: u64,
        /// Cells in the row.
        found: usize,
        /// Cells in the header.
        expected: usize,
    },
    /// A cell beyond [`crate::MAX_CELL_BYTES`].
    #[error(
        "line {line}, column {column}: a cell of {bytes} bytes is longer than {} bytes",
        crate::MAX_CELL_BYTES
    )]
    CellTooLong {
        /// Where.
        line: u64,
        /// Which column, from 1.
        column: usize,
        /// Its size.
        bytes: usize,
    },
    /// More columns than [`crate::MAX_COLUMNS`].
    #[error("line {line} has {found} columns, more than {}", crate::MAX_COLUMNS)]
    TooManyColumns {
        /// Where.
        line: u64,
        /// How many.
        found: usize,
    },
    /// A header cell that is blank.
    #[error("line {line}: the header of column {column} is empty")]
    EmptyHeader {
        /// Where.
        line: u64,
        /// Which column, from 1.
        column: usize,
    },
    /// The same header twice.
    #[error("the header '{name}' appears twice")]
    DuplicateHeader {
        /// The header.
        name: String,
    },
}

/// A file that reads but cannot be mapped onto Rapport's records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The file is not readable.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// `--map` text that is not `HEADER=FIELD,...`.
    #[error("invalid mapping '{text}': expected HEADER=FIELD, e.g. 'Org=account.name'")]
    MapSyntax {
        /// The piece that did not parse.
        text: String,
    },
    /// `--map` names a field Rapport does not have.
    #[error("unknown field '{field}' in --map: expected one of {expected}, or ignore")]
    UnknownField {
        /// The field named.
        field: String,
        /// The fields of this kind of record.
        expected: String,
    },
    /// `--map` names a header the file does not have.
    #[error("--map names '{header}', which is not a column of the file")]
    UnknownHeader {
        /// The header named.
        header: String,
    },
    /// Two columns map to the same field.
    #[error("columns '{first}' and '{second}' both map to {field}")]
    SameField {
        /// The field.
        field: String,
        /// One column.
        first: String,
        /// The other.
        second: String,
    },
    /// Neither `--kind` nor the headers say what the rows are.
    #[error(
        "cannot tell whether the file holds accounts, contacts or deals from its headers ({headers}): pass --kind"
    )]
    UnknownKind {
        /// The headers, comma separated.
        headers: String,
    },
    /// The kind's required columns are missing.
    #[error("no column gives the {what}: map one with --map 'HEADER={field}'")]
    MissingColumn {
        /// What is missing, in words.
        what: &'static str,
        /// The field to map.
        field: &'static str,
    },
}

/// A file that cannot be imported as Rapport's JSON export.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Nothing but white space.
    #[error("the file is empty")]
    Empty,
    /// Bytes that do not parse as JSON.
    #[error("not JSON: line {line}, column {column}: {reason}")]
    NotJson {
        /// Where.
        line: usize,
        /// Where on the line.
        column: usize,
        /// The parser's words.
        reason: String,
    },
    /// JSON without the export's format string.
    #[error(
        "not a Rapport export: the file has no \"format\": \"{}\"",
        crate::JSON_FORMAT
    )]
    NoFormat,
    /// Another format, or another version of it.
    #[error(
        "not a Rapport export this version reads: its format is {found}, expected \"{}\"",
        crate::JSON_FORMAT
    )]
    WrongFormat {
        /// The format found, as JSON.
        found: String,
    },
    /// A workspace setting of the file (a custom field definition, alert rule or segment)
    /// that does not read as one.
    #[error("{what} {name} in the file does not read: {reason}")]
    Setting {
        /// Which kind of setting.
        what: &'static str,
        /// Its name, quoted, or its place in its list.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// JSON that does not have the export's shape: a missing key, a value of the wrong type.
    #[error("line {line}, column {column}: the file does not have the export's shape: {reason}")]
    Shape {
        /// Where.
        line: usize,
        /// Where on the line.
        column: usize,
        /// What was expected and found.
        reason: String,
    },
}

impl JsonError {
    /// Sorts serde_json's error into broken JSON and JSON of another shape.
    pub(crate) fn from_serde(error: serde_json::Error) -> Self {
        let (line, column) = (error.line(), error.column());
        // The parser's message ends with its own "at line L column C", said here already.
        let text = error.to_string();
        let reason = match text.rfind(" at line ") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
        match error.classify() {
            serde_json::error::Category::Data => JsonError::Shape {
                line,
                column,
                reason,
            },
            _ => JsonError::NotJson {
                line,
                column,
                reason,
            },
        }
    }
}
