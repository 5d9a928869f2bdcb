//! The one integration-test binary of `fichier-api`: the behaviour suite against the
//! emulator on 127.0.0.1 (`emu`), the same suite against the real service (`real`, ignored
//! unless asked for with a key), the secrets-in-`Debug` checks (`secrets`), the `Send`
//! compile check (`send_check`), and pacing and the shared listings across clients that
//! share one state file, as processes do (`pacing`). Property tests of the parsers live beside
//! them in `src` (key parsing, listing decoding).

mod emu;
mod pacing;
mod real;
mod secrets;
mod send_check;
mod suite;
