//! `fichier-state`: the one home of fichier's local state.
//!
//! Everything fichier keeps on the user's disk (the download queue, the backup index and
//! journal, locks, the dashboard token, the pacer state and shared listings, credentials) is
//! created and opened through this crate, so every such file is private to its owner and
//! every such directory too, whatever the umask:
//!
//! - [`private_dir`]: directories `0700` (created so, or narrowed when ours and wider);
//! - [`open_private`], [`write_private`]: files `0600`, never through a symlink;
//! - [`PidLock`]: "one holder at a time" across processes, an OS lock the kernel releases
//!   when the holder dies (even by `kill -9`), with the holder's pid inside for messages;
//! - [`Db`] (feature `sqlite`): the one SQLite opener (WAL, busy timeout and retry,
//!   `user_version` migrations, private modes) with one connection per process and per file,
//!   so no second descriptor of this process can drop SQLite's locks under it;
//! - [`StatePaths`]: the table of state paths, with everything of `--sandbox` kept apart.
//!
//! A file or directory an older version left with wider modes is narrowed on first use, and
//! one `warn` line says so.

mod dir;
mod file;
mod lock;
mod paths;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use dir::private_dir;
pub use file::{narrow_path, open_private, write_private};
pub use lock::{PidLock, PidLockError};
pub use paths::StatePaths;
#[cfg(feature = "sqlite")]
pub use sqlite::{Db, DbError, Schema, Synchronous, is_busy};
