//! What one input stands for in the queue, decided in one place for every way in (`fichier
//! queue add`, the dashboard's form and JSON API, Click'n'Load, `.crawljob` files and the
//! folder watch): today the rule for shared folders, which are queued as their files.
//!
//! The command line lists a shared folder when it is added (so it can show the files at
//! once); the other ways in queue the folder link as it is and the runner applies the same
//! rule when it claims it ([`crate::Runner`]), replacing the folder item with its files in one
//! transaction ([`QueueStore::replace`](crate::QueueStore::replace)). Either way the queue ends
//! up with the same items.

use fichier_api::{Client, Password};

use crate::links::normalise_link;
use crate::store::{Item, NewItem};

/// The queue items of the files of the shared folder `folder_link` (canonical form), each
/// taking target, package, priority, password, origin, comment and paused state from
/// `template`, with the name and size the listing gave. Empty when the folder is empty.
pub async fn shared_folder_items(
    client: &Client,
    folder_link: &str,
    password: Option<&Password>,
    template: &NewItem,
) -> Result<Vec<NewItem>, fichier_api::Error> {
    let files = client.shared_folder_ls(folder_link, password).await?;
    Ok(files
        .iter()
        .map(|f| NewItem {
            source: normalise_link(f.link.as_str()).unwrap_or_else(|| f.link.to_string()),
            name: Some(f.filename.clone()),
            size: Some(f.size),
            ..template.clone()
        })
        .collect())
}

/// The template a queued folder item gives its files: everything but what is per file.
pub fn template_of(item: &Item, password: Option<String>) -> NewItem {
    NewItem {
        source: item.source.clone(),
        target_dir: item.target_dir.clone(),
        package: item.package.clone(),
        priority: item.priority,
        password,
        origin: item.origin.clone(),
        comment: item.comment.clone(),
        ..NewItem::default()
    }
}
