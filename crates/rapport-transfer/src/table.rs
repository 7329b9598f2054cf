//! A CSV file's bytes read into a header and rows of text cells, or refused with the line
//! that is wrong. Nothing here knows what the columns mean.

use crate::error::ReadError;

/// The longest cell accepted: far beyond any name, email or amount, and small enough that a
/// file of one enormous line is refused with a clear error.
pub const MAX_CELL_BYTES: usize = 64 * 1024;
/// The most columns a file may have.
pub const MAX_COLUMNS: usize = 1024;

/// A CSV file: its header and its rows, every row as long as the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The header's cells, trimmed.
    pub headers: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<Row>,
}

/// One row of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The line it starts on (the header is line 1).
    pub line: u64,
    /// Its cells, one per header.
    pub cells: Vec<String>,
}

/// Reads CSV bytes: UTF-8 (a byte-order mark is skipped), separated by commas, or by
/// semicolons or tabs when the header holds those and no comma (spreadsheets in many locales
/// write those). Blank lines are skipped; every other row must have the header's length.
pub fn read_table(bytes: &[u8]) -> Result<Table, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::Empty);
    }
    if bytes.contains(&0) {
        return Err(ReadError::NotText);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(bytes))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    // Lines counted from the bytes, since csv counts a quoted line break as no line.
    let mut lines = LineCounter::default();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(syntax_error(&error)),
        }
        let line = lines.line_at(bytes, record.position().map_or(0, csv::Position::byte));
        if record
            .iter()
            .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        let cells = cells(&record, line)?;
        match &headers {
            None => headers = Some(header(cells, line)?),
            Some(headers) if cells.len() != headers.len() => {
                return Err(ReadError::Ragged {
                    line,
                    found: cells.len(),
                    expected: headers.len(),
                });
            }
            Some(_) => rows.push(Row { line, cells }),
        }
    }
    let headers = headers.ok_or(ReadError::Empty)?;
    Ok(Table { headers, rows })
}

/// Line numbers of byte offsets met in increasing order, counting each byte once.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, bytes: &[u8], offset: u64) -> u64 {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        // A record's position can be the end of the one before, ahead of blank lines.
        while bytes
            .get(offset)
            .is_some_and(|b| matches!(b, b'\n' | b'\r'))
        {
            offset += 1;
        }
        if offset > self.offset {
            let breaks = bytes[self.offset..offset].iter().filter(|b| **b == b'\n');
            self.line += breaks.count() as u64;
            self.offset = offset;
        }
        self.line + 1
    }
}

/// The separator: a comma, unless the first line has none and has semicolons or tabs.
fn delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    if first.contains(&b',') {
        b','
    } else if first.contains(&b';') {
        b';'
    } else if first.contains(&b'\t') {
        b'\t'
    } else {
        b','
    }
}

fn cells(record: &csv::ByteRecord, line: u64) -> Result<Vec<String>, ReadError> {
    if record.len() > MAX_COLUMNS {
        return Err(ReadError::TooManyColumns {
            line,
            found: record.len(),
        });
    }
    record
        .iter()
        .enumerate()
        .map(|(index, cell)| {
            if cell.len() > MAX_CELL_BYTES {
                return Err(ReadError::CellTooLong {
                    line,
                    column: index + 1,
                    bytes: cell.len(),
                });
            }
            match std::str::from_utf8(cell) {
                Ok(text) => Ok(text.to_owned()),
                Err(_) => Err(ReadError::NotUtf8 { line }),
            }
        })
        .collect()
}

fn header(cells: Vec<String>, line: u64) -> Result<Vec<String>, ReadError> {
    let headers: Vec<String> = cells.iter().map(|c| c.trim().to_owned()).collect();
    for (index, name) in headers.iter().enumerate() {
        if name.is_empty() {
            return Err(ReadError::EmptyHeader {
                line,
                column: index + 1,
            });
        }
        if headers[..index]
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return Err(ReadError::DuplicateHeader { name: name.clone() });
        }
    }
    Ok(headers)
}

fn syntax_error(error: &csv::Error) -> ReadError {
    let line = error.position().map_or(0, csv::Position::line);
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => ReadError::NotUtf8 { line },
        _ => ReadError::Syntax {
            line,
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_cells_and_skips_a_byte_order_mark() -> Result<(), ReadError> {
        let table = read_table(
            b"\xEF\xBB\xBFName,Note\n\"Globex, Inc.\",\"said \"\"hi\"\"\nthen left\"\n\nInitech,\n",
        )?;
        assert_eq!(table.headers, ["Name", "Note"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(
            table.rows[0].cells,
            ["Globex, Inc.", "said \"hi\"\nthen left"]
        );
        assert_eq!(table.rows[1].line, 5);
        Ok(())
    }

    #[test]
    fn semicolons_and_tabs_separate_when_the_header_has_no_comma() -> Result<(), ReadError> {
        assert_eq!(read_table(b"a;b\n1;2\n")?.rows[0].cells, ["1", "2"]);
        assert_eq!(read_table(b"a\tb\n1\t2\n")?.rows[0].cells, ["1", "2"]);
        Ok(())
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        let refused = |bytes: &[u8]| read_table(bytes).err().map(|e| e.to_string());
        assert_eq!(refused(b"").as_deref(), Some("the file is empty"));
        assert!(refused(b"\x89PNG\r\n\x1a\n\0\0\0").is_some_and(|e| e.contains("not a CSV")));
        assert!(refused(b"a,b\n\xff\xfe,x\n").is_some_and(|e| e.contains("line 2")));
        assert!(refused(b"a,b\n1,2,3\n").is_some_and(|e| e.contains("line 2 has 3 cells")));
        assert!(refused(b"a,,b\n").is_some_and(|e| e.contains("column 2")));
        assert!(refused(b"a,A\n").is_some_and(|e| e.contains("twice")));
        let long = [b"a\n".as_slice(), &vec![b'x'; MAX_CELL_BYTES + 1]].concat();
        assert!(refused(&long).is_some_and(|e| e.contains("longer than")));
    }
}
