//! Account administration shared by the running [`crate::Emulator`] and the admin CLI (which
//! works on a data directory without a server): create, re-key, change offer.

use crate::error::EmuError;
use crate::ids;
use crate::model::{Account, Offer};
use crate::store::Store;

/// Create an account; the e-mail must be new and the key non-empty.
pub fn create_account(
    store: &Store,
    email: &str,
    offer: Offer,
    key: &str,
) -> Result<Account, EmuError> {
    if email.trim().is_empty() || !email.contains('@') {
        return Err(EmuError::Invalid(format!(
            "e-mail {email:?} is not an address; use something like user@example.com"
        )));
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b))
    {
        return Err(EmuError::Invalid(
            "the key must be non-empty and use only [A-Za-z0-9_=-]".into(),
        ));
    }
    store.create_account(email, offer, key)
}

/// Replace an account's key with a new generated one.
pub fn regenerate_key(store: &Store, email: &str) -> Result<String, EmuError> {
    let key = ids::api_key();
    if store.set_key(email, &key)? == 0 {
        return Err(EmuError::NoAccount(email.to_string()));
    }
    Ok(key)
}

/// Change an account's offer.
pub fn set_offer(store: &Store, email: &str, offer: Offer) -> Result<(), EmuError> {
    if store.set_offer(email, offer)? == 0 {
        return Err(EmuError::NoAccount(email.to_string()));
    }
    Ok(())
}
