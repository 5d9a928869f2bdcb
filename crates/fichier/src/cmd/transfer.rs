//! What `upload` and `download` share: the engine over the context's one client, the hints
//! for the engine's error kinds (the engine carries kinds, the CLI words what to do), and the
//! end of a run (the stop line and the exit code).

use std::sync::Arc;
use std::time::Duration;

use fichier_api::ErrorKind;
use fichier_transfer::{
    Engine, EngineConfig, ErrorClass, Event, EventSink, FileId, Summary, TransferError,
};

use crate::context::Context;
use crate::error::{Exit, Failure};

/// The engine of a transfer command, over the context's tree and client: one key holder,
/// one pacer, one set of HTTP connections and one listing memo (with the cross-process
/// folder-creation lock) for the whole command.
pub async fn engine(ctx: &mut Context, config: EngineConfig) -> anyhow::Result<Engine> {
    let tree = ctx.tree().await?.clone();
    Ok(Engine::with_tree(tree, config))
}

/// The `hint:` for an engine error: its own (local problems), else the one for its API kind.
pub fn hint_for(
    hint: Option<&str>,
    kind: Option<ErrorKind>,
    retry_after: Option<Duration>,
) -> Option<String> {
    if let Some(h) = hint {
        return Some(h.to_owned());
    }
    let text = match kind? {
        ErrorKind::FloodLocked | ErrorKind::Paced => return Some(flood_hint(retry_after)),
        ErrorKind::BadKey | ErrorKind::NotAuthenticated => {
            "run `fichier auth login` with the account's current key"
        }
        ErrorKind::NotCustomer => {
            "the API only works for Premium or Access accounts; `fichier --sandbox ...` works \
             without one"
        }
        ErrorKind::NotAllowed => {
            "the file or folder is protected: give its password with --password or --password-file"
        }
        ErrorKind::NotFound => "check the link or path (`fichier ls`)",
        ErrorKind::Quota => "free some space or check the offer with `fichier account`",
        ErrorKind::TokenExpired => {
            "the download link expired and could not be renewed: run the same command again; \
             it resumes from the .part file"
        }
        ErrorKind::Transport => {
            "check the network connection, then run the same command again (it resumes)"
        }
        _ => return None,
    };
    Some(text.to_owned())
}

/// "retry in Ns (after HH:MM:SS UTC)", as every flood-locked command says it.
pub fn flood_hint(retry_after: Option<Duration>) -> String {
    let secs = retry_after.map_or(60, |d| d.as_secs().max(1));
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs as i64))
        .map(|t| t.strftime("%H:%M:%S UTC").to_string())
        .unwrap_or_default();
    format!(
        "1fichier flood-locked this key or IP: retry in {secs}s (after {at}); fichier paces its \
         own calls, so check that no other program uses this key at the same time"
    )
}

/// A failure of the whole command from an engine error (e.g. the destination folder).
pub fn failure(what: String, e: TransferError) -> anyhow::Error {
    let mut f = match e.class {
        ErrorClass::Auth => Failure::auth(what),
        ErrorClass::Flood => Failure::flood(what),
        _ => Failure::fatal(what),
    };
    if let Some(h) = hint_for(e.hint.as_deref(), e.api_kind, e.retry_after) {
        f = f.with_hint(h);
    }
    f.into()
}

/// Forwards events to the renderer with the CLI's hints filled in.
pub struct Hinting(pub Arc<dyn EventSink>);

impl EventSink for Hinting {
    fn event(&self, event: Event) {
        let event = match event {
            Event::Failed {
                id,
                name,
                error,
                hint,
                class,
                api_kind,
                retry_after,
                ..
            } => {
                let mut e = TransferError::new(class, error);
                e.hint = hint_for(hint.as_deref(), api_kind, retry_after);
                e.api_kind = api_kind;
                e.retry_after = retry_after;
                Event::failed(id, name, &e)
            }
            other => other,
        };
        self.0.event(event);
    }
    fn bytes(&self, id: FileId, n: u64) {
        self.0.bytes(id, n);
    }
}

/// Fills in the CLI's hints in a run's summary (failures and the stop reason).
pub fn hint_summary(summary: &mut Summary) {
    for f in &mut summary.failures {
        f.hint = hint_for(f.hint.as_deref(), f.api_kind, None);
    }
    if let Some(stop) = &mut summary.stopped {
        stop.hint = hint_for(stop.hint.as_deref(), stop.api_kind, stop.retry_after);
    }
}

/// Says why a run stopped early (flood lock, full disk...), then gives the exit code.
pub fn conclude(ctx: &Context, summary: &Summary) -> Exit {
    if let Some(stop) = &summary.stopped {
        ctx.printer.error_text(&format!(
            "error: stopped: {}\n{}",
            stop.message,
            stop.hint
                .as_deref()
                .map(|h| format!("hint: {h}\n"))
                .unwrap_or_default()
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
