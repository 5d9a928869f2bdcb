//! `fichier queue run`: works the queue in the foreground until nothing is left to do
//! (progress bars on a terminal, NDJSON with `--progress json`), with the daemon's runner.

use std::path::PathBuf;

use super::daemon::{StopSignal, setup};
use crate::cli::QueueRunArgs;
use crate::context::Context;
use crate::error::Exit;

/// Runs `fichier queue run` on the queue at `store`.
pub async fn run(ctx: &mut Context, args: QueueRunArgs, store: PathBuf) -> anyhow::Result<Exit> {
    let signals = StopSignal::install();
    let (worker, _) = setup(ctx, &store, &args.work, Some(args.max_wait), false, None).await?;
    let report = worker.run(signals.wait()).await?;
    Ok(worker.conclude(ctx, &report))
}
