//! What the pages' forms and the JSON API both do: add links (pasted or uploaded), act on
//! items, clear the finished ones; each logged. Neither `pages` nor `api` is imported here.

use axum::extract::Multipart;
use fichier_queue::Selector;

use crate::error::WebError;
use crate::queue::{AddReport, Op};
use crate::state::App;

/// The largest uploaded link list (`.txt` or `.crawljob`).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;

/// Lines of a pasted list or `.txt` file: blank lines and `#` comments dropped.
pub fn link_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Reads the target of an action form or API call: `id`, `package` or `all`.
pub fn selector(id: Option<&str>, package: Option<&str>, all: bool) -> Result<Selector, WebError> {
    if let Some(id) = id {
        return id
            .trim()
            .parse()
            .map(Selector::Id)
            .map_err(|_| WebError::BadInput(format!("item id {id:?} is not a number")));
    }
    if let Some(p) = package {
        return Ok(Selector::Package(p.to_owned()));
    }
    if all {
        return Ok(Selector::All);
    }
    Err(WebError::BadInput(
        "say which items: id, package or all".to_owned(),
    ))
}

/// Adds text lines from the dashboard (paste box, API).
pub async fn add_text(
    app: &App,
    links: Vec<String>,
    package: Option<String>,
    target: Option<&str>,
    origin: &str,
) -> Result<AddReport, WebError> {
    if links.is_empty() {
        return Err(WebError::BadInput(
            "no link given: paste one 1fichier link a line".to_owned(),
        ));
    }
    let target = app.queue.target_dir(target)?;
    let package = package.filter(|p| !p.is_empty());
    let report = app
        .queue
        .add_links(links, Some(target), package, origin.to_owned(), None)
        .await?;
    app.log
        .push(format!("Added from the dashboard: {}", report.summary()));
    Ok(report)
}

/// Adds the links of an uploaded `.txt` or `.crawljob` file (fields `file`, `package`,
/// `target`).
pub async fn add_upload(app: &App, mut multipart: Multipart) -> Result<AddReport, WebError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut package = None;
    let mut target = None;
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let fname = field.file_name().unwrap_or("upload.txt").to_owned();
                let bytes = field.bytes().await?;
                if bytes.len() > MAX_UPLOAD {
                    return Err(WebError::TooLarge(format!(
                        "{fname}: larger than {} MiB; split it",
                        MAX_UPLOAD >> 20
                    )));
                }
                file = Some((fname, bytes.to_vec()));
            }
            "package" => package = Some(field.text().await?),
            "target" => target = Some(field.text().await?),
            _ => {}
        }
    }
    let (fname, bytes) =
        file.ok_or_else(|| WebError::BadInput("choose a .txt or .crawljob file".to_owned()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| WebError::BadInput(format!("{fname}: not UTF-8 text")))?;
    let package = package
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let target_dir = app.queue.target_dir(target.as_deref())?;
    let origin = format!("dashboard:{fname}");
    let report = if fname.to_ascii_lowercase().ends_with(".crawljob") {
        crate::queue::crawljob_items(&text, &target_dir, &target_dir, package, &origin)
            .map_err(|e| WebError::BadInput(format!("{fname}: {e}")))
            .map(|items| app.queue.add_items(items))?
            .await?
    } else {
        let links = link_lines(&text);
        if links.is_empty() {
            return Err(WebError::BadInput(format!("{fname}: no link in the file")));
        }
        app.queue
            .add_links(links, Some(target_dir), package, origin, None)
            .await?
    };
    app.log
        .push(format!("Added from the file {fname}: {}", report.summary()));
    Ok(report)
}

/// Applies an action and logs it.
pub async fn act(app: &App, op: Op, sel: Selector) -> Result<usize, WebError> {
    let what = match &sel {
        Selector::Id(id) => format!("item {id}"),
        Selector::Package(p) => format!("package {p}"),
        Selector::All => "every item".to_owned(),
    };
    let n = app.queue.act(op, sel).await?;
    app.log.push(format!("{op:?} {what}: {n} changed"));
    Ok(n)
}

/// Clears the finished items and logs it.
pub async fn clear_done(app: &App) -> Result<usize, WebError> {
    let n = app.queue.clear_done().await?;
    app.log.push(format!("Cleared {n} finished item(s)"));
    Ok(n)
}
