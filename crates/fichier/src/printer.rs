//! The one printer: stdout carries only data (human columns or a JSON document), stderr carries
//! status lines, warnings and errors. Colour only on a terminal and never with `NO_COLOR`.

use std::io::{self, Write};

use serde::Serialize;

use crate::settings::OutputSettings;

/// Horizontal alignment of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Pad on the right.
    Left,
    /// Pad on the left (numbers, sizes).
    Right,
}

/// A styled cell of human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// No style.
    Plain,
    /// Folders.
    Folder,
    /// Secondary information (dates, links).
    Dim,
    /// Headings.
    Bold,
}

/// Writes every byte fichier shows to the user.
#[derive(Debug, Clone)]
pub struct Printer {
    out: OutputSettings,
}

/// Human-readable size with binary units (`1.5 MiB`), as in `ls -h`.
pub fn human_size(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

fn style_code(style: Style) -> &'static str {
    match style {
        Style::Plain => "",
        Style::Folder => "\x1b[1;34m",
        Style::Dim => "\x1b[2m",
        Style::Bold => "\x1b[1m",
    }
}

/// Writing to a closed pipe (`fichier ls | head`) ends the process quietly, like other CLIs.
fn handle(result: io::Result<()>) {
    if let Err(e) = result
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

impl Printer {
    /// A printer for these output settings.
    pub fn new(out: OutputSettings) -> Printer {
        Printer { out }
    }

    /// True with `--json`.
    pub fn json_mode(&self) -> bool {
        self.out.json
    }

    /// The output settings.
    pub fn settings(&self) -> &OutputSettings {
        &self.out
    }

    /// Prints one JSON document on stdout.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) {
        let mut out = io::stdout().lock();
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
        handle(writeln!(out, "{text}"));
    }

    /// Prints one line of data on stdout.
    pub fn line(&self, text: &str) {
        let mut out = io::stdout().lock();
        handle(writeln!(out, "{text}"));
    }

    /// Styles `text` for stdout.
    pub fn paint(&self, text: &str, style: Style) -> String {
        if !self.out.color_stdout || style == Style::Plain {
            text.to_owned()
        } else {
            format!("{}{text}\x1b[0m", style_code(style))
        }
    }

    /// Prints rows as aligned columns on stdout. Cells are `(text, style)`; widths are computed
    /// on the unstyled text so colour never breaks alignment. The last column is not padded.
    pub fn table(&self, aligns: &[Align], rows: &[Vec<(String, Style)>]) {
        let cols = aligns.len();
        let mut widths = vec![0usize; cols];
        for row in rows {
            for (i, (text, _)) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(text.chars().count());
            }
        }
        let mut out = io::stdout().lock();
        for row in rows {
            let mut line = String::new();
            for (i, (text, style)) in row.iter().enumerate().take(cols) {
                let pad = widths[i].saturating_sub(text.chars().count());
                let last = i + 1 == row.len().min(cols);
                if i > 0 {
                    line.push_str("  ");
                }
                if aligns[i] == Align::Right {
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str(&self.paint(text, *style));
                if aligns[i] == Align::Left && !last {
                    line.push_str(&" ".repeat(pad));
                }
            }
            handle(writeln!(out, "{}", line.trim_end()));
        }
    }

    /// Prints `key: value` pairs with aligned values on stdout.
    pub fn fields(&self, pairs: &[(&str, String)]) {
        let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
        let mut out = io::stdout().lock();
        for (k, v) in pairs {
            let key = format!("{k}:");
            handle(writeln!(
                out,
                "{}{} {v}",
                self.paint(&key, Style::Bold),
                " ".repeat(width - key.len())
            ));
        }
    }

    /// A status line on stderr (what was done), hidden with `-q` and with `--json`.
    pub fn status(&self, text: &str) {
        if self.out.quiet || self.out.json {
            return;
        }
        let mut err = io::stderr().lock();
        handle(writeln!(err, "{text}"));
    }

    /// A warning on stderr, hidden with `-q`.
    pub fn warn(&self, text: &str) {
        if self.out.quiet {
            return;
        }
        let tag = if self.out.color_stderr {
            "\x1b[1;33mwarning:\x1b[0m"
        } else {
            "warning:"
        };
        let mut err = io::stderr().lock();
        handle(writeln!(err, "{tag} {text}"));
    }

    /// Detail shown with `-v`.
    pub fn verbose(&self, text: &str) {
        if self.out.verbose == 0 {
            return;
        }
        let mut err = io::stderr().lock();
        handle(writeln!(err, "{text}"));
    }

    /// Writes an already rendered error on stderr (never hidden, not even by `-q`).
    pub fn error_text(&self, text: &str) {
        let mut err = io::stderr().lock();
        handle(err.write_all(text.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}
