//! `--sandbox`: an embedded `fichier-emu` in this process, with its state in the user's data
//! dir and a Premium account provisioned on first use. Its key never leaves the process.

use std::path::{Path, PathBuf};

use fichier_emu::{Config, Emulator, Offer};

use crate::error::Failure;

/// The e-mail of the provisioned sandbox account.
pub const SANDBOX_EMAIL: &str = "sandbox@fichier.invalid";

/// A running embedded emulator and the credentials of its account.
pub struct Sandbox {
    emulator: Emulator,
    api_key: String,
    data_dir: PathBuf,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is deliberately left out.
        f.debug_struct("Sandbox")
            .field("api_url", &self.emulator.api_url())
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// Checks that `dir` exists (creating it) and is writable, with an actionable error.
fn check_writable(dir: &Path) -> anyhow::Result<()> {
    let fail = |e: std::io::Error| {
        Failure::fatal(format!(
            "the sandbox data dir {} is not writable",
            dir.display()
        ))
        .with_cause(e.to_string())
        .with_hint(
            "fix its permissions, or point XDG_DATA_HOME at a writable directory \
             (the sandbox keeps its state in $XDG_DATA_HOME/fichier/sandbox)",
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

impl Sandbox {
    /// Starts the emulator on a loopback port with state in `data_dir`.
    pub async fn start(data_dir: PathBuf) -> anyhow::Result<Sandbox> {
        check_writable(&data_dir)?;
        let emulator = Emulator::start(Config::new(&data_dir)).await.map_err(|e| {
            Failure::fatal("cannot start the sandbox emulator")
                .with_cause(e.to_string())
                .with_hint(format!(
                    "check that {} is writable and not used by another version of fichier",
                    data_dir.display()
                ))
        })?;
        let account = emulator
            .ensure_account(SANDBOX_EMAIL, Offer::Premium)
            .map_err(|e| {
                Failure::fatal("cannot provision the sandbox account").with_cause(e.to_string())
            })?;
        Ok(Sandbox {
            emulator,
            api_key: account.api_key,
            data_dir,
        })
    }

    /// The API base URL of the embedded emulator.
    pub fn api_url(&self) -> String {
        self.emulator.api_url()
    }

    /// The sandbox account's key (handed straight to `ApiKey::parse`, never printed).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Where the sandbox keeps its state.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the emulator cleanly so its state is flushed.
    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }
}
