//! Key hygiene (issue 6): the leaked-key scanner `fichier scan`, `auth rotate`, and the
//! workspace-wide canary leak test.

mod leaks;
mod rotate;
pub mod scan;
