//! What `upload` and `download` share: the engine over the context's one client, and the end
//! of a run (the stop line, with the hint from `error.rs`'s table, and the exit code).

use fichier_transfer::{Engine, EngineConfig, ErrorClass, Summary, TransferError};

use crate::context::Context;
use crate::error::{Exit, Via, error_block, transfer_failure, transfer_hint};

/// The engine of a transfer command, over the context's tree and client: one key holder,
/// one pacer, one set of HTTP connections and one listing memo (with the cross-process
/// folder-creation lock) for the whole command.
pub async fn engine(ctx: &mut Context, config: EngineConfig) -> anyhow::Result<Engine> {
    let tree = ctx.tree().await?.clone();
    Ok(Engine::with_tree(tree, config))
}

/// A failure of the whole command from an engine error (e.g. the destination folder).
pub fn failure(what: String, e: TransferError, via: Via) -> anyhow::Error {
    transfer_failure(what, &e, via).into()
}

/// Says why a run stopped early (flood lock, full disk...), then gives the exit code.
pub fn conclude(ctx: &Context, summary: &Summary, via: Via) -> Exit {
    if let Some(stop) = &summary.stopped {
        let hint = transfer_hint(stop.problem.as_ref(), stop.api_kind, stop.retry_after, via);
        ctx.printer.error_text(&error_block(
            &format!("stopped: {}", stop.message),
            hint.as_deref(),
            ctx.printer.settings().color_stderr,
        ));
    }
    exit_for(summary)
}

/// The exit code of a transfer run: 3 for a key problem, 4 for a flood lock (whether it
/// stopped the run or failed files), 1 when files failed, else 0.
pub fn exit_for(summary: &Summary) -> Exit {
    match summary.stopped.as_ref().map(|e| e.class) {
        Some(ErrorClass::Auth) => Exit::Auth,
        Some(ErrorClass::Flood) => Exit::Flood,
        _ if summary
            .failures
            .iter()
            .any(|f| f.class == ErrorClass::Flood) =>
        {
            Exit::Flood
        }
        _ if summary.failed > 0 => Exit::Partial,
        _ => Exit::Ok,
    }
}
