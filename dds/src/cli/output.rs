//! What the client commands print: aligned text tables for people, JSON for scripts, and the
//! short names of ebRS status and severity URNs.

use serde::Serialize;
use xds_model::message::{RegistryError, RegistryResponse};

/// `Success`, `Failure` or `PartialSuccess` from a status URN (anything else as sent).
pub fn short_status(urn: &str) -> &str {
    urn.rsplit(':').next().unwrap_or(urn)
}

/// `Error` or `Warning` from a severity URN; absent means Error (the schema default).
pub fn short_severity(urn: Option<&str>) -> &str {
    match urn {
        None => "Error",
        Some(urn) => urn.rsplit(':').next().unwrap_or(urn),
    }
}

/// One `RegistryError` as the commands print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorOut {
    pub code: String,
    pub severity: String,
    pub context: String,
    pub location: Option<String>,
}

impl ErrorOut {
    pub fn of(error: &RegistryError) -> ErrorOut {
        ErrorOut {
            code: error.error_code.clone(),
            severity: short_severity(error.severity.as_deref()).to_owned(),
            context: error.code_context.clone(),
            location: error.location.clone(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity != "Warning"
    }
}

/// The errors and warnings of a response.
pub fn errors_of(response: &RegistryResponse) -> Vec<ErrorOut> {
    response
        .errors
        .iter()
        .flat_map(|list| list.errors.iter())
        .map(ErrorOut::of)
        .collect()
}

/// Prints errors and warnings, each as a heading line (severity, code, location) and its
/// context indented below: contexts are sentences, too long for a table column.
pub fn print_errors(errors: &[ErrorOut]) {
    print!("{}", render_errors(errors));
}

pub fn render_errors(errors: &[ErrorOut]) -> String {
    let mut out = String::new();
    for e in errors {
        out.push('\n');
        out.push_str(&format!("{}: {}", e.severity, e.code));
        if let Some(location) = &e.location {
            out.push_str(&format!(" at {location}"));
        }
        out.push('\n');
        if !e.context.is_empty() {
            out.push_str(&format!("  {}\n", e.context));
        }
    }
    out
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A text table: columns padded to their widest cell; the last column is never padded, so long
/// values (error texts) do not push trailing blanks.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row after the header line.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if i + 1 == columns {
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 2));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.headers);
        for row in &self.rows {
            line(row);
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_the_last_is_not_padded() {
        let mut table = Table::new(&["a", "bb", "c"]);
        table.row(vec!["xxx".into(), "y".into(), "long text".into()]);
        table.row(vec!["æø".into(), "".into(), "".into()]);
        assert_eq!(table.render(), "a    bb  c\nxxx  y   long text\næø\n");
    }

    #[test]
    fn errors_read_as_lines() {
        let errors = [ErrorOut {
            code: "XDSDocumentUniqueIdError".into(),
            severity: "Error".into(),
            context: "no such document".into(),
            location: Some("2.25.1".into()),
        }];
        assert_eq!(
            render_errors(&errors),
            "\nError: XDSDocumentUniqueIdError at 2.25.1\n  no such document\n"
        );
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }

    #[test]
    fn status_and_severity_names() {
        assert_eq!(
            short_status(xds_model::vocabulary::response_status::PARTIAL_SUCCESS),
            "PartialSuccess"
        );
        assert_eq!(short_severity(None), "Error");
        assert_eq!(
            short_severity(Some(xds_model::vocabulary::severity::WARNING)),
            "Warning"
        );
    }
}
