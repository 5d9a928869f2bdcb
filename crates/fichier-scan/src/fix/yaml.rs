//! YAML (docker compose and other configuration) and GitHub workflows: the key becomes
//! `${FICHIER_API_KEY}` or `${{ secrets.FICHIER_API_KEY }}`, only in block context.

use super::{COMMENT_TEXT, FIX_ENV, FileKind, splice};

pub(super) fn rewrite(
    text: &str,
    spans: &[(usize, usize)],
    kind: FileKind,
) -> Result<(String, Vec<String>), String> {
    let replacement = if kind == FileKind::Workflow {
        format!("${{{{ secrets.{FIX_ENV} }}}}")
    } else {
        format!("${{{FIX_ENV}}}")
    };
    let mut edits = Vec::new();
    for &(s, e) in spans {
        let line_start = text[..s].rfind('\n').map_or(0, |n| n + 1);
        let before = &text[line_start..s];
        // Outside quotes, what precedes the key on its line decides how YAML reads it.
        let mut quote: Option<char> = None;
        let mut comment = false;
        for (i, c) in before.char_indices() {
            match (quote, c) {
                (None, '#') if i == 0 || before[..i].ends_with([' ', '\t']) => {
                    comment = true;
                    break;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => {
                    return Err(
                        "the key is inside a flow collection ([...] or {...}): edit it by hand"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        if comment {
            edits.push((s, e, COMMENT_TEXT.to_owned()));
            continue;
        }
        let starts_scalar = before.trim_end().ends_with(':') || before.trim_end().ends_with('-');
        let r = if quote.is_none() && starts_scalar && kind == FileKind::Workflow {
            // A plain scalar may start with `$`, but `${{` reads better quoted.
            format!("\"{replacement}\"")
        } else {
            replacement.clone()
        };
        edits.push((s, e, r));
    }
    let fixed = splice(text, edits)?;
    let notes = if kind == FileKind::Workflow {
        vec![format!(
            "add the key as a repository secret named {FIX_ENV} (Settings → Secrets and \
             variables → Actions); never commit it"
        )]
    } else {
        vec![format!(
            "docker compose reads ${{{FIX_ENV}}} from the environment: run `fichier exec -- \
             docker compose up`; another program must expand environment variables in its \
             config for this to work"
        )]
    };
    Ok((fixed, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::test_support::{key, spans};

    #[test]
    fn yaml_keys_become_variables_outside_flow_collections() {
        let k = key();
        let text = format!("a:\n  key: {k}\n  env:\n    - X={k}\n");
        let (fixed, _) = rewrite(&text, &spans(&text), FileKind::Yaml).unwrap();
        assert_eq!(
            fixed,
            "a:\n  key: ${FICHIER_API_KEY}\n  env:\n    - X=${FICHIER_API_KEY}\n"
        );
        let text = format!("a: [{k}]\n");
        assert!(rewrite(&text, &spans(&text), FileKind::Yaml).is_err());
    }
}
