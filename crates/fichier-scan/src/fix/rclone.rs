//! rclone.conf: the `api_key = ...` line of a fichier remote is removed, so rclone reads the
//! key from `RCLONE_FICHIER_API_KEY` (`fichier exec --rclone`).

use super::splice;

pub(super) fn rewrite(
    text: &str,
    spans: &[(usize, usize)],
) -> Result<(String, Vec<String>), String> {
    let mut edits = Vec::new();
    for &(s, _) in spans {
        let line_start = text[..s].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[s..].find('\n').map_or(text.len(), |n| s + n + 1);
        let line = &text[line_start..line_end];
        let name = line.split('=').next().unwrap_or("").trim();
        if name != "api_key" {
            return Err("the key is not on an `api_key = ...` line: edit it by hand".into());
        }
        edits.push((line_start, line_end, String::new()));
    }
    edits.dedup();
    let fixed = splice(text, edits)?;
    let remotes = fixed
        .lines()
        .filter(|l| {
            let l = l.replace(' ', "");
            l == "type=fichier"
        })
        .count();
    let mut notes = vec![
        "rclone reads the key of a fichier remote without `api_key` from RCLONE_FICHIER_API_KEY: \
         run it as `fichier exec --rclone -- rclone ...`"
            .to_owned(),
    ];
    if remotes > 1 {
        notes.push(
            "every fichier remote of this file without `api_key` now uses the same key".to_owned(),
        );
    }
    Ok((fixed, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::test_support::{key, spans};

    #[test]
    fn rclone_api_key_lines_are_removed_keeping_crlf() {
        let k = key();
        let text = format!("[r]\r\ntype = fichier\r\napi_key = {k}\r\n\r\n");
        let (fixed, _) = rewrite(&text, &spans(&text)).unwrap();
        assert_eq!(fixed, "[r]\r\ntype = fichier\r\n\r\n");
    }
}
