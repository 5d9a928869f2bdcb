//! `fichier scan --fix`.
