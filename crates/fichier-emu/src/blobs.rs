//! Writing file bytes durably: stream chunks to a temp file on a blocking thread while
//! computing the whirlpool digest, fsync, then rename into `blobs/` (crash-safe order).

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;
use whirlpool::{Digest, Whirlpool};

use crate::ids;
use crate::store::Store;

enum Msg {
    Data(Bytes),
    Finish,
}

/// A temp file being written. Dropping it unfinished, or any write error (a full disk),
/// deletes the partial bytes: a failed upload leaves nothing behind in `tmp/`.
#[derive(Debug)]
pub struct Stager {
    tx: mpsc::Sender<Msg>,
    join: Option<tokio::task::JoinHandle<std::io::Result<(u64, String)>>>,
    tmp: PathBuf,
}

/// A complete, fsynced temp file with its size and whirlpool digest (128 lowercase hex).
#[derive(Debug)]
pub struct Staged {
    tmp: Option<PathBuf>,
    /// Bytes written.
    pub size: u64,
    /// Whirlpool digest, lowercase hex.
    pub checksum: String,
}

/// The error a full disk gives, as the fault plan's `disk_full` simulates it.
fn disk_full() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        "no space left on device (fault plan: disk_full)",
    )
}

impl Stager {
    /// Start a temp file under the store's tmp dir.
    pub fn new(store: &Store) -> std::io::Result<Stager> {
        Stager::with_space(store, None)
    }

    /// Start a temp file that fails like a full disk once `space` bytes are written (the
    /// fault plan's `disk_full`); `None` for no limit but the real disk's.
    pub fn with_space(store: &Store, space: Option<u64>) -> std::io::Result<Stager> {
        let tmp = store.tmp_dir().join(format!("up-{}", ids::alnum(16)));
        let mut file = std::fs::File::create(&tmp)?;
        // A small queue lets the network read ahead while the disk and hash catch up,
        // without buffering the file in memory.
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let path = tmp.clone();
        let join = tokio::task::spawn_blocking(move || {
            let mut hasher = Whirlpool::new();
            let mut size = 0u64;
            let result = loop {
                match rx.blocking_recv() {
                    Some(Msg::Data(b)) => {
                        let room = space.map_or(u64::MAX, |s| s.saturating_sub(size));
                        let fits = usize::try_from(room).map_or(b.len(), |r| r.min(b.len()));
                        hasher.update(&b[..fits]);
                        if let Err(e) = file.write_all(&b[..fits]) {
                            break Err(e);
                        }
                        size += fits as u64;
                        if fits < b.len() {
                            break Err(disk_full());
                        }
                    }
                    Some(Msg::Finish) => match file.sync_all() {
                        Ok(()) => return Ok((size, hex::encode(hasher.finalize()))),
                        Err(e) => break Err(e),
                    },
                    None => break Err(std::io::Error::other("upload interrupted")),
                }
            };
            // Whatever went wrong, the partial bytes go: a full disk must not stay full
            // because of them.
            drop(file);
            let _ = std::fs::remove_file(&path);
            result
        });
        Ok(Stager {
            tx,
            join: Some(join),
            tmp,
        })
    }

    /// Queue a chunk. When the writer has stopped, its own error (e.g. a full disk) is the
    /// one returned.
    pub async fn write(&mut self, b: Bytes) -> std::io::Result<()> {
        if self.tx.send(Msg::Data(b)).await.is_ok() {
            return Ok(());
        }
        Err(match self.join.take() {
            Some(join) => match join.await {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => std::io::Error::other("blob writer stopped"),
                Err(e) => std::io::Error::other(e),
            },
            None => std::io::Error::other("blob writer stopped"),
        })
    }

    /// Flush, fsync and return the staged file.
    pub async fn finish(mut self) -> std::io::Result<Staged> {
        let tmp = self.tmp.clone();
        let _ = self.tx.send(Msg::Finish).await;
        let Some(join) = self.join.take() else {
            return Err(std::io::Error::other("blob writer stopped"));
        };
        match join.await {
            Ok(Ok((size, checksum))) => Ok(Staged {
                tmp: Some(tmp),
                size,
                checksum,
            }),
            Ok(Err(e)) => Err(e),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(std::io::Error::other(e))
            }
        }
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        // Finished: the bytes now belong to the `Staged` (or were removed by the writer).
        if self.join.is_none() {
            return;
        }
        // Unfinished: the writer sees the channel close and removes the file; removing it here
        // too covers a writer that already stopped.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Staged {
    /// Move the bytes into `blobs/<name>` and fsync the directory; returns the blob name.
    /// Metadata must be committed only after this returns.
    pub fn commit(mut self, store: &Store, name: &str) -> std::io::Result<String> {
        let tmp = self
            .tmp
            .take()
            .ok_or_else(|| std::io::Error::other("already committed"))?;
        let dest = store.blob_path(name);
        std::fs::rename(&tmp, &dest)?;
        sync_dir(dest.parent().unwrap_or(Path::new(".")));
        Ok(name.to_string())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(t) = self.tmp.take() {
            let _ = std::fs::remove_file(t);
        }
    }
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable on power loss; harmless where unsupported.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// MIME type from a file name's extension (the service detects it; this is close enough).
pub fn content_type_for(name: &str, given: Option<&str>) -> String {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let t = match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" => "application/xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "rar" => "application/vnd.rar",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "iso" => "application/x-iso9660-image",
        _ => {
            return given
                .filter(|g| !g.is_empty() && g.contains('/'))
                .unwrap_or("application/octet-stream")
                .to_string();
        }
    };
    t.to_string()
}
