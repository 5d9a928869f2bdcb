//! String and comment tokens of Python and JavaScript, and the token substitution both
//! rewriters make: a key's string literal replaced by an expression, checked afterwards to
//! have changed nothing else.

use super::{COMMENT_TEXT, Edit};

#[derive(Debug, Clone)]
pub(super) struct StrTok {
    /// Start of the prefix (`r`, `u`...) or of the quote.
    pub(super) start: usize,
    /// First byte of the content.
    pub(super) content: usize,
    /// End of the content.
    pub(super) content_end: usize,
    /// Past the closing quote.
    pub(super) end: usize,
    pub(super) prefix: String,
    pub(super) quote: char,
    pub(super) triple: bool,
}

#[derive(Debug, Default)]
pub(super) struct Tokens {
    pub(super) strings: Vec<StrTok>,
    pub(super) comments: Vec<(usize, usize)>,
    /// Spans of `${...}` inside template literals (JS): code, not string.
    pub(super) code_in_templates: Vec<(usize, usize)>,
}

/// The edit replacing a key inside a string token by `expr`, splitting the string when the
/// key is only part of it: `"Bearer KEY"` → `("Bearer " + expr)`.
fn string_edit(text: &str, tok: &StrTok, s: usize, e: usize, expr: &str) -> Edit {
    if s == tok.content && e == tok.content_end {
        return (tok.start, tok.end, expr.to_owned());
    }
    let q = tok.quote;
    let p = &tok.prefix;
    let mut parts = Vec::new();
    if s > tok.content {
        parts.push(format!("{p}{q}{}{q}", &text[tok.content..s]));
    }
    parts.push(expr.to_owned());
    if e < tok.content_end {
        parts.push(format!("{p}{q}{}{q}", &text[e..tok.content_end]));
    }
    (tok.start, tok.end, format!("({})", parts.join(" + ")))
}

/// How a token substitution changes the token counts: string literals (one replaced by an
/// expression: -1; split around it: +1 per literal part kept) and template expressions added.
#[derive(Debug, Default)]
pub(super) struct TokenDelta {
    pub(super) strings: isize,
    pub(super) templates: usize,
}

/// The check that an edit was a pure token substitution: the new text tokenizes, every comment
/// is still there, and the string and template-expression counts moved exactly as planned (a
/// quote the edit broke would merge or split tokens elsewhere).
pub(super) fn substitution_only(old: &Tokens, new: &Tokens, delta: &TokenDelta) -> bool {
    new.strings.len() as isize == old.strings.len() as isize + delta.strings
        && new.comments.len() == old.comments.len()
        && new.code_in_templates.len() == old.code_in_templates.len() + delta.templates
}

pub(super) fn rewrite_tokens(
    text: &str,
    spans: &[(usize, usize)],
    tokens: &Tokens,
    expr: &str,
    template_expr: Option<&str>,
) -> Result<(Vec<Edit>, TokenDelta), String> {
    let mut edits = Vec::new();
    let mut delta = TokenDelta::default();
    for &(s, e) in spans {
        if tokens.comments.iter().any(|&(a, z)| a <= s && e <= z) {
            edits.push((s, e, COMMENT_TEXT.to_owned()));
            continue;
        }
        let Some(tok) = tokens
            .strings
            .iter()
            .find(|t| t.content <= s && e <= t.content_end)
        else {
            return Err("the key is not inside a string literal: edit it by hand".into());
        };
        if tokens
            .code_in_templates
            .iter()
            .any(|&(a, z)| a <= s && e <= z)
        {
            return Err("the key is inside a template expression: edit it by hand".into());
        }
        if tok.quote == '`' {
            let Some(te) = template_expr else {
                return Err("the key is in a template literal: edit it by hand".into());
            };
            edits.push((s, e, te.to_owned()));
            delta.templates += 1;
            continue;
        }
        if joined_to_another_literal(text, tokens, tok) {
            return Err(
                "the key's string is joined to another string literal next to it \
                        (implicit concatenation): edit it by hand"
                    .into(),
            );
        }
        let lower = tok.prefix.to_ascii_lowercase();
        if tok.triple || lower.contains('f') || lower.contains('b') {
            return Err(
                "the key is in a triple-quoted, f- or bytes string: edit it by hand".into(),
            );
        }
        edits.push(string_edit(text, tok, s, e, expr));
        // The expression's own literals count too (`os.environ["FICHIER_API_KEY"]`).
        let expr_literals = (expr.matches('"').count() / 2) as isize;
        delta.strings +=
            isize::from(s > tok.content) + isize::from(e < tok.content_end) - 1 + expr_literals;
    }
    Ok((edits, delta))
}

/// True when only blanks (spaces, tabs, newlines, backslash line continuations) separate `tok`
/// from another string literal: Python joins `"abc" "KEY"` into one string, and replacing one
/// of the two by an expression leaves a literal next to an expression (a syntax error).
pub(super) fn joined_to_another_literal(text: &str, tokens: &Tokens, tok: &StrTok) -> bool {
    let blank = |s: &str| s.chars().all(|c| c.is_whitespace() || c == '\\');
    tokens.strings.iter().any(|o| {
        (o.end <= tok.start && blank(&text[o.end..tok.start]))
            || (tok.end <= o.start && blank(&text[tok.end..o.start]))
    })
}

/// The check after a Python or JS rewrite: no string literal sits right next to an inserted
/// expression (`"abc" os.environ[...]`), which would not parse.
pub(super) fn literal_next_to(text: &str, tokens: &Tokens, expr: &str) -> bool {
    let blank = |s: &str| s.chars().all(|c| c.is_whitespace() || c == '\\');
    text.match_indices(expr).any(|(at, _)| {
        let end = at + expr.len();
        // Inside a literal (a comment's text is not an expression).
        if tokens.strings.iter().any(|t| t.start <= at && end <= t.end) {
            return false;
        }
        tokens.strings.iter().any(|t| {
            (t.end <= at && blank(&text[t.end..at]))
                || (end <= t.start && blank(&text[end..t.start]))
        })
    })
}
