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
