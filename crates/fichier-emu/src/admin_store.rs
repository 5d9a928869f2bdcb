//! Administration of a data directory without a running server (the `fichier-emu` admin
//! subcommands). Safe next to a running emulator: SQLite in WAL mode serialises writers, and
//! the server picks up a stored fault plan within a second.

use std::path::Path;

use crate::accounts as admin_ops;
use crate::error::EmuError;
use crate::faults::FaultPlan;
use crate::log::LoggedRequest;
use crate::model::{Account, Offer};
use crate::store::Store;

/// An opened data directory.
#[derive(Debug)]
pub struct DataDir {
    store: Store,
}

impl DataDir {
    /// Open (creating it if needed) without disturbing a server using it.
    pub fn open(dir: &Path) -> Result<DataDir, EmuError> {
        Ok(DataDir {
            store: Store::open_shared(dir)?,
        })
    }

    /// Create an account with a generated key.
    pub fn create_account(&self, email: &str, offer: Offer) -> Result<Account, EmuError> {
        admin_ops::create_account(&self.store, email, offer, &crate::ids::api_key())
    }

    /// Look up an account.
    pub fn account(&self, email: &str) -> Result<Account, EmuError> {
        self.store
            .account_by_email(email)?
            .ok_or_else(|| EmuError::NoAccount(email.to_string()))
    }

    /// Every account.
    pub fn accounts(&self) -> Result<Vec<Account>, EmuError> {
        Ok(self.store.accounts()?)
    }

    /// Change an account's offer.
    pub fn set_offer(&self, email: &str, offer: Offer) -> Result<(), EmuError> {
        admin_ops::set_offer(&self.store, email, offer)
    }

    /// Replace an account's key; returns the new one.
    pub fn regenerate_key(&self, email: &str) -> Result<String, EmuError> {
        admin_ops::regenerate_key(&self.store, email)
    }

    /// Store a fault plan; a server on this data dir applies it within a second.
    pub fn set_fault_plan(&self, plan: Option<&FaultPlan>) -> Result<(), EmuError> {
        let text = plan
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| EmuError::Invalid(e.to_string()))?;
        self.store.set_meta("fault_plan", text.as_deref())?;
        Ok(())
    }

    /// The last `limit` requests logged by servers on this data dir (keys masked).
    pub fn request_log(&self, limit: usize) -> Result<Vec<LoggedRequest>, EmuError> {
        Ok(self.store.request_log(limit)?)
    }
}
