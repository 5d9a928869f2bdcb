//! The public request and answer types of every area, gathered under one path (`crate::types`)
//! for the modules that name them; each type lives beside its endpoint in `crate::api::*`.

pub use crate::api::download::*;
pub use crate::api::files::*;
pub use crate::api::folders::*;
pub use crate::api::ftp_vouchers::*;
pub use crate::api::remote::*;
pub use crate::api::upload::*;
pub use crate::api::user::*;
pub use crate::values::*;
