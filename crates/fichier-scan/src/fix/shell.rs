//! Shell scripts: reads quoting state (quotes, comments, here-documents) well enough to put
//! `${FICHIER_API_KEY}` where the key was, quoted so it expands as one word.

use super::{COMMENT_TEXT, FIX_ENV, exec_note, splice};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShQuote {
    None,
    Single,
    Double,
    Comment,
    Heredoc { quoted: bool },
}

/// The quoting state at byte offset `until`: inside single or double quotes, a comment, a
/// here-document body (quoted delimiter: no expansion), or none of these.
fn shell_state_at(text: &str, until: usize) -> ShQuote {
    let b = text.as_bytes();
    let mut state = ShQuote::None;
    // Here-documents opened on the current line: (delimiter, quoted, `<<-`).
    let mut pending: Vec<(String, bool, bool)> = Vec::new();
    let mut i = 0;
    while i < until.min(b.len()) {
        let c = b[i];
        match state {
            ShQuote::None => match c {
                b'\\' => i += 1,
                b'\'' => state = ShQuote::Single,
                b'"' => state = ShQuote::Double,
                b'#' if i == 0 || b[i - 1].is_ascii_whitespace() || b[i - 1] == b';' => {
                    state = ShQuote::Comment;
                }
                b'<' if b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                    let mut j = i + 2;
                    let strip = b.get(j) == Some(&b'-');
                    if strip {
                        j += 1;
                    }
                    while b.get(j).is_some_and(|c| *c == b' ' || *c == b'\t') {
                        j += 1;
                    }
                    let quote = b.get(j).copied().filter(|q| *q == b'\'' || *q == b'"');
                    if quote.is_some() {
                        j += 1;
                    }
                    let from = j;
                    while b
                        .get(j)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        j += 1;
                    }
                    // `$((1<<2))` is a shift, not a here-document.
                    if j > from && !b[from].is_ascii_digit() {
                        pending.push((text[from..j].to_owned(), quote.is_some(), strip));
                        if quote.is_some() && b.get(j) == quote.as_ref() {
                            j += 1;
                        }
                        i = j;
                        continue;
                    }
                }
                b'\n' if !pending.is_empty() => {
                    // The bodies follow, one after the other, each up to its delimiter line.
                    let mut at = i + 1;
                    for (delim, quoted, strip) in std::mem::take(&mut pending) {
                        loop {
                            let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
                            let line = text[at..line_end].trim_end_matches('\r');
                            let line = if strip {
                                line.trim_start_matches('\t')
                            } else {
                                line
                            };
                            if until >= at && until <= line_end && line != delim {
                                return ShQuote::Heredoc { quoted };
                            }
                            at = (line_end + 1).min(text.len());
                            if line == delim || line_end >= text.len() {
                                break;
                            }
                        }
                    }
                    i = at;
                    continue;
                }
                _ => {}
            },
            ShQuote::Single => {
                if c == b'\'' {
                    state = ShQuote::None;
                }
            }
            ShQuote::Double => match c {
                b'\\' => i += 1,
                b'"' => state = ShQuote::None,
                _ => {}
            },
            ShQuote::Comment => {
                if c == b'\n' {
                    state = ShQuote::None;
                    continue;
                }
            }
            ShQuote::Heredoc { .. } => unreachable!("returned as soon as entered"),
        }
        i += 1;
    }
    state
}

fn shell_balanced(text: &str) -> bool {
    matches!(
        shell_state_at(text, text.len()),
        ShQuote::None | ShQuote::Comment
    )
}

pub(super) fn rewrite(
    text: &str,
    spans: &[(usize, usize)],
) -> Result<(String, Vec<String>), String> {
    if !shell_balanced(text) {
        return Err("its quotes do not balance as this fixer reads them: edit it by hand".into());
    }
    let b = text.as_bytes();
    let var = format!("${{{FIX_ENV}}}");
    let mut edits = Vec::new();
    for &(s, e) in spans {
        let edit = match shell_state_at(text, s) {
            ShQuote::Comment => (s, e, COMMENT_TEXT.to_owned()),
            ShQuote::Double | ShQuote::Heredoc { quoted: false } => (s, e, var.clone()),
            ShQuote::Heredoc { quoted: true } => {
                return Err(
                    "the key is in a here-document with a quoted delimiter (no expansion \
                     there): edit it by hand"
                        .into(),
                );
            }
            ShQuote::None => (s, e, format!("\"{var}\"")),
            ShQuote::Single => {
                let open = s > 0 && b[s - 1] == b'\'';
                let close = b.get(e) == Some(&b'\'');
                match (open, close) {
                    (true, true) => (s - 1, e + 1, format!("\"{var}\"")),
                    (true, false) => (s - 1, e, format!("\"{var}\"'")),
                    (false, true) => (s, e + 1, format!("'\"{var}\"")),
                    (false, false) => (s, e, format!("'\"{var}\"'")),
                }
            }
        };
        edits.push(edit);
    }
    let fixed = splice(text, edits)?;
    if !shell_balanced(&fixed) {
        return Err("the rewrite would unbalance its quotes: edit it by hand".into());
    }
    let mut notes = vec![exec_note("sh ")];
    let on_argv = spans.iter().any(|&(s, _)| {
        let line_start = text[..s].rfind('\n').map_or(0, |n| n + 1);
        let before = text[line_start..s].trim_end_matches(['"', '\'', ' ', '=']);
        before.ends_with("--fichier-api-key")
    });
    if on_argv {
        notes.push(
            "`--fichier-api-key` still puts the key on rclone's command line (visible in `ps`): \
             drop the option and run rclone as `fichier exec --rclone -- rclone ...`"
                .to_owned(),
        );
    }
    Ok((fixed, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::test_support::{key, spans};

    #[test]
    fn shell_quoting_is_kept() {
        let k = key();
        let text = format!(
            "#!/bin/sh\nA={k}\nB=\"{k}\"\nC='{k}'\ncurl -H 'Authorization: Bearer {k}' x\n# {k}\n"
        );
        let (fixed, _) = rewrite(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "#!/bin/sh\nA=\"${FICHIER_API_KEY}\"\nB=\"${FICHIER_API_KEY}\"\nC=\"${FICHIER_API_KEY}\"\n\
             curl -H 'Authorization: Bearer '\"${FICHIER_API_KEY}\" x\n# $FICHIER_API_KEY\n"
        );
    }

    #[test]
    fn shell_here_documents() {
        let k = key();
        let text = format!(
            "cat <<EOF >h.txt\nAuthorization: Bearer {k}\nit's fine\nEOF\necho \"$((1<<2))\" '{k}'\n"
        );
        let (fixed, _) = rewrite(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "cat <<EOF >h.txt\nAuthorization: Bearer ${FICHIER_API_KEY}\nit's fine\nEOF\necho \"$((1<<2))\" \"${FICHIER_API_KEY}\"\n"
        );
        let text = format!("cat <<-'EOF'\n\t{k}\n\tEOF\n");
        assert!(rewrite(&text, &spans(&text)).is_err());
    }
}
