//! The one way this crate reads a file back from the destination (restore, verify,
//! manifests): one known file through [`Engine::fetch_file`], verified before it is named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fichier_api::FileLink;
use fichier_transfer::{
    DownloadOptions, Engine, ErrorClass, EventSink, FetchOpts, Fetched, FileJob, NoEvents,
    TransferError,
};

/// Downloads `link` (`size` bytes, `whirlpool` when known) to `dir/name`: the one way this
/// crate reads a file back (restore, verify, manifests).
pub(crate) async fn fetch_to(
    engine: &Engine,
    link: FileLink,
    size: u64,
    whirlpool: Option<String>,
    dir: &Path,
    name: &str,
) -> Result<PathBuf, TransferError> {
    let dest = dir.join(name);
    let job = FileJob {
        id: 0,
        display: name.to_owned(),
        link,
        password: None,
        size,
        checksum: whirlpool,
        dest: dest.clone(),
        root: dir.to_path_buf(),
    };
    let defaults = DownloadOptions::new(dir);
    let opts = FetchOpts {
        segments: None,
        verify: true,
        overwrite: false,
        token_max_age: defaults.token_max_age,
    };
    let events: Arc<dyn EventSink> = Arc::new(NoEvents);
    match engine.fetch_file(&job, &opts, events).await? {
        Fetched::Done { .. } => Ok(dest),
        Fetched::Skipped(why) => Err(TransferError::new(
            ErrorClass::Local,
            format!("{}: {why}", dest.display()),
        )),
    }
}
