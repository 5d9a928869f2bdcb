//! JavaScript and TypeScript sources: the key's string becomes `process.env.FICHIER_API_KEY`
//! (`${process.env.FICHIER_API_KEY}` inside a template literal).

use super::tokens::{StrTok, Tokens, rewrite_tokens, substitution_only};
use super::{FIX_ENV, exec_note, splice};

fn tokenize(text: &str) -> Result<Tokens, String> {
    let b = text.as_bytes();
    let mut t = Tokens::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            t.comments.push((i, end));
            i = end;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = text[i + 2..]
                .find("*/")
                .map(|n| i + 2 + n + 2)
                .ok_or("a /* comment is not closed: edit it by hand")?;
            t.comments.push((i, end));
            i = end;
            continue;
        }
        if c == b'\'' || c == b'"' || c == b'`' {
            let mut j = i + 1;
            let end = loop {
                if j >= b.len() {
                    return Err("a string is not closed: edit it by hand".into());
                }
                if b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if c != b'`' && b[j] == b'\n' {
                    return Err("a string is not closed on its line: edit it by hand".into());
                }
                if c == b'`' && b[j] == b'$' && b.get(j + 1) == Some(&b'{') {
                    // Skip the embedded expression, counting braces.
                    let mut depth = 0usize;
                    let from = j;
                    while j < b.len() {
                        match b[j] {
                            b'{' => depth += 1,
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    t.code_in_templates.push((from, j + 1));
                    j += 1;
                    continue;
                }
                if b[j] == c {
                    break j;
                }
                j += 1;
            };
            t.strings.push(StrTok {
                start: i,
                content: i + 1,
                content_end: end,
                end: end + 1,
                prefix: String::new(),
                quote: char::from(c),
                triple: false,
            });
            i = end + 1;
            continue;
        }
        i += 1;
    }
    Ok(t)
}

pub(super) fn rewrite(
    text: &str,
    spans: &[(usize, usize)],
    jsx: bool,
) -> Result<(String, Vec<String>), String> {
    let tokens = tokenize(text)?;
    if jsx {
        // `<Client apiKey="KEY" />` needs braces, `a="KEY"` must not have them: in JSX and TSX
        // files the two cannot be told apart without a parser.
        let b = text.as_bytes();
        let attribute_like = spans.iter().any(|&(s, e)| {
            tokens
                .strings
                .iter()
                .find(|t| t.content <= s && e <= t.content_end)
                .is_some_and(|t| {
                    t.start >= 2
                        && b[t.start - 1] == b'='
                        && (b[t.start - 2].is_ascii_alphanumeric() || b[t.start - 2] == b'_')
                })
        });
        if attribute_like {
            return Err("the key looks like a JSX attribute value: write \
                 {process.env.FICHIER_API_KEY} there by hand"
                .into());
        }
    }
    let expr = format!("process.env.{FIX_ENV}");
    let template = format!("${{process.env.{FIX_ENV}}}");
    let (edits, delta) = rewrite_tokens(text, spans, &tokens, &expr, Some(&template))?;
    let fixed = splice(text, edits)?;
    let new = tokenize(&fixed).map_err(|_| "the rewrite would not tokenize: edit it by hand")?;
    if !substitution_only(&tokens, &new, &delta) {
        return Err("the rewrite would change more than the key's string: edit it by hand".into());
    }
    Ok((
        fixed,
        vec![format!(
            "in TypeScript process.env.{FIX_ENV} is `string | undefined`: check it once at start; {}",
            exec_note("node ")
        )],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::test_support::{key, spans};

    #[test]
    fn js_strings_and_templates() {
        let k = key();
        let text = format!("const a = '{k}';\nconst t = `Bearer {k} ${{x}}`;\n");
        let (fixed, _) = rewrite(&text, &spans(&text), false).unwrap();
        assert_eq!(
            fixed,
            "const a = process.env.FICHIER_API_KEY;\nconst t = `Bearer ${process.env.FICHIER_API_KEY} ${x}`;\n"
        );
        let text = format!("const c = <Client apiKey=\"{k}\" />;\n");
        assert!(rewrite(&text, &spans(&text), true).is_err());
    }
}
