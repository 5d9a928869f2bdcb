//! Python sources: the key's string becomes `os.environ["FICHIER_API_KEY"]`, with
//! `import os` added where Python expects imports when the file has none.

use super::tokens::{StrTok, Tokens, literal_next_to, rewrite_tokens, substitution_only};
use super::{FIX_ENV, exec_note, line_ending, splice};

fn tokenize(text: &str) -> Result<Tokens, String> {
    let b = text.as_bytes();
    let mut t = Tokens::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'#' {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            t.comments.push((i, end));
            i = end;
            continue;
        }
        if c == b'\'' || c == b'"' {
            // Prefix letters glued before the quote (r, b, f, u, rb...).
            let mut ps = i;
            while ps > 0 && b"rRbBuUfF".contains(&b[ps - 1]) && i - ps < 2 {
                ps -= 1;
            }
            if ps > 0 && (b[ps - 1].is_ascii_alphanumeric() || b[ps - 1] == b'_') {
                ps = i;
            }
            let prefix = text[ps..i].to_owned();
            let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
            let qlen = if triple { 3 } else { 1 };
            let content = i + qlen;
            let mut j = content;
            let end = loop {
                if j >= b.len() {
                    return Err("a string is not closed: edit it by hand".into());
                }
                // In raw strings too, a backslash keeps the next quote inside the string.
                if b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if !triple && b[j] == b'\n' {
                    return Err("a string is not closed on its line: edit it by hand".into());
                }
                if b[j] == c && (!triple || (b.get(j + 1) == Some(&c) && b.get(j + 2) == Some(&c)))
                {
                    break j;
                }
                j += 1;
            };
            t.strings.push(StrTok {
                start: ps,
                content,
                content_end: end,
                end: end + qlen,
                prefix,
                quote: char::from(c),
                triple,
            });
            i = end + qlen;
            continue;
        }
        i += 1;
    }
    Ok(t)
}

pub(super) fn rewrite(
    text: &str,
    spans: &[(usize, usize)],
) -> Result<(String, Vec<String>), String> {
    let tokens = tokenize(text)?;
    let expr = format!("os.environ[\"{FIX_ENV}\"]");
    let (edits, delta) = rewrite_tokens(text, spans, &tokens, &expr, None)?;
    let needs_os = edits.iter().any(|e| e.2.contains("os.environ"));
    let mut fixed = splice(text, edits)?;
    let mut notes = Vec::new();
    if needs_os && !imports_os(&fixed) {
        let at = python_import_point(&fixed, &tokenize(&fixed)?);
        fixed.insert_str(at, &format!("import os{}", line_ending(text)));
        notes.push("added `import os`".to_owned());
    }
    let new = tokenize(&fixed).map_err(|_| "the rewrite would not tokenize: edit it by hand")?;
    if !substitution_only(&tokens, &new, &delta) || literal_next_to(&fixed, &new, &expr) {
        return Err("the rewrite would change more than the key's string: edit it by hand".into());
    }
    notes.push(format!(
        "os.environ[\"{FIX_ENV}\"] raises KeyError when the variable is not set; {}",
        exec_note("python3 ")
    ));
    Ok((fixed, notes))
}

fn imports_os(text: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?m)^import[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*os[ \t]*(?:,|#|\r?$)")
            .expect("valid regex")
    });
    RE.is_match(text)
}

/// Where `import os` goes: after the shebang, comments and blank lines at the top, the
/// module docstring, and `from __future__` imports.
fn python_import_point(text: &str, tokens: &Tokens) -> usize {
    let mut at = 0;
    let next_line = |from: usize| text[from..].find('\n').map_or(text.len(), |n| from + n + 1);
    loop {
        let rest = &text[at..];
        let line = rest.lines().next().unwrap_or("");
        let trimmed = line.trim();
        if at < text.len() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            at = next_line(at);
            continue;
        }
        break;
    }
    if let Some(doc) = tokens.strings.iter().find(|t| t.start == at) {
        at = next_line(doc.end);
    }
    while text[at..].starts_with("from __future__") {
        at = next_line(at);
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::test_support::{key, spans};

    #[test]
    fn python_strings_become_environment_reads() {
        let k = key();
        let text = format!(
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nA = \"{k}\"\nH = {{\"a\": \"Bearer {k}\"}}\n"
        );
        let (fixed, _) = rewrite(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport os\nA = os.environ[\"FICHIER_API_KEY\"]\n\
             H = {\"a\": (\"Bearer \" + os.environ[\"FICHIER_API_KEY\"])}\n"
        );
        let text = format!("x = f\"{k}\"\n");
        assert!(rewrite(&text, &spans(&text)).is_err());
        // Implicit concatenation: `"abc" "KEY"` is one string; replacing half of it by an
        // expression would not parse.
        for text in [
            format!("FICHIER_API_KEY = \"abc\" \"{k}\"\nprint(FICHIER_API_KEY)\n"),
            format!("x = (\"{k}\"\n     'tail')\n"),
            format!("x = \"Bearer {k}\" \\\n    \"!\"\n"),
        ] {
            let err = rewrite(&text, &spans(&text)).unwrap_err();
            assert!(err.contains("implicit concatenation"), "{text}: {err}");
        }
        let text = format!("import sys, os\nx = '{k}'\n");
        let (fixed, _) = rewrite(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "import sys, os\nx = os.environ[\"FICHIER_API_KEY\"]\n"
        );
    }
}
