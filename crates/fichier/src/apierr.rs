//! Maps `fichier_api::Error` to exit codes and `hint:` lines, in one place for every command.

use fichier_api::{Error as ApiError, NotAllowedReason};

use crate::error::Failure;

/// Finds a `fichier_api::Error` in the chain and turns it into a [`Failure`] with the same
/// message, the exit code of its class and a hint.
pub fn classify_chain(err: &anyhow::Error) -> Option<Failure> {
    err.chain()
        .find_map(|e| e.downcast_ref::<ApiError>())
        .map(failure_for)
}

/// True when the outermost error is a `fichier_api::Error`.
pub fn is_api_error(err: &anyhow::Error) -> bool {
    // Not `anyhow::Error::downcast_ref`, which also sees through added context.
    err.chain()
        .next()
        .is_some_and(|e| e.downcast_ref::<ApiError>().is_some())
}

/// The exit code and hint for one API error.
pub fn failure_for(err: &ApiError) -> Failure {
    let msg = err.to_string();
    match err {
        ApiError::FloodLocked { retry_after, .. } | ApiError::Paced { retry_after, .. } => {
            let secs = retry_after.as_secs().max(1);
            let at = jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(secs as i64))
                .map(|t| t.strftime("%H:%M:%S UTC").to_string())
                .unwrap_or_default();
            Failure::flood(msg).with_hint(format!(
                "retry in {secs}s (after {at}); fichier paces its own calls, so check that no \
                 other program uses this key at the same time"
            ))
        }
        ApiError::BadKey { .. } => Failure::auth(msg).with_hint(
            "a regenerated key replaces the old one; copy the current key and run \
             `fichier auth login` (check `fichier auth status` for where the key comes from)",
        ),
        ApiError::NotAuthenticated { .. } => {
            Failure::auth(msg).with_hint("run `fichier auth login` to store a key")
        }
        ApiError::NotCustomer { .. } => Failure::auth(msg).with_hint(
            "the API only works for Premium or Access accounts; `fichier --sandbox ...` works \
             without one",
        ),
        ApiError::NotFound { .. } => {
            Failure::fatal(msg).with_hint("check the name with `fichier ls` or the link")
        }
        ApiError::NotAllowed { reason, .. } => {
            let hint = match reason {
                NotAllowedReason::PasswordMissing => {
                    "the file is password-protected: add --password (asks) or --password-file FILE"
                }
                NotAllowedReason::PasswordInvalid => {
                    "the password is wrong: check it and pass it again with --password or \
                     --password-file"
                }
                _ => "the owner restricted access (private file, IP, country or user list)",
            };
            Failure::fatal(msg).with_hint(hint)
        }
        ApiError::LocationLimit { .. } => {
            Failure::fatal(msg).with_hint("wait about 5 minutes, then retry")
        }
        ApiError::Transport { .. } => Failure::fatal(format!("cannot reach 1fichier: {msg}"))
            .with_hint(
                "check the network connection and the API URL (--api-url, FICHIER_API_URL); \
                 `fichier --sandbox ...` works offline",
            ),
        ApiError::Server { .. } | ApiError::Protocol { .. } => {
            Failure::fatal(msg).with_hint("1fichier seems to have trouble: retry in a few minutes")
        }
        ApiError::OutcomeUnknown { .. } => {
            Failure::fatal(msg).with_hint("look at the account with `fichier ls` before retrying")
        }
        ApiError::Quota { .. } => Failure::fatal(msg)
            .with_hint("free some space or check the offer with `fichier account`"),
        _ => Failure::fatal(msg),
    }
}
