//! Robustness: arbitrary bytes (biased toward the characters the engine cares about) never
//! make the scanner panic, in default or strict mode, and every finding points inside its
//! input with a masked key and a fingerprint.

use crate::common::Rng;
use fichier_scan::{Confidence, ScanOptions, Scanner, render_json, render_sarif, render_text};

const PIECES: &[&str] = &[
    "fichier",
    "1fichier",
    "FICHIER_API_KEY",
    "type = fichier",
    "[1fichier]",
    "[x]",
    "api_key",
    "Bearer ",
    "=",
    "%3D",
    "%",
    "\\n",
    "\n",
    "\r\n",
    "  ",
    "\t",
    "\"",
    "'",
    ":",
    "{",
    "}",
    "[",
    "]",
    "/",
    "+",
    ".",
    "@",
    "-",
    "_",
    "é",
    "\u{2026}",
    "\0",
    "RCLONE_CONFIG_A_API_KEY=",
    "RCLONE_CONFIG_A_TYPE=fichier",
    "onefichier:",
    "    ",
];

#[test]
fn arbitrary_input_never_panics() {
    let (mut rng, seed) = Rng::from_env();
    println!("seed {seed}");
    let strict = Scanner::new(ScanOptions {
        strict: true,
        ..ScanOptions::default()
    });
    let default = Scanner::default();
    let mut findings = 0;
    for _ in 0..400 {
        let mut buf = Vec::new();
        while buf.len() < 1500 {
            match rng.below(4) {
                0 => buf.extend_from_slice(PIECES[rng.below(PIECES.len())].as_bytes()),
                1 => buf.extend_from_slice(rng.key().as_bytes()),
                2 => {
                    let n = rng.below(32);
                    buf.extend_from_slice(&rng.key().as_bytes()[..n]);
                }
                _ => buf.push((rng.next() & 0xff) as u8),
            }
        }
        for scanner in [&strict, &default] {
            let found = scanner.scan_bytes("fuzz.txt", &buf);
            let lines = buf.split(|&b| b == b'\n').count();
            for f in &found {
                assert!(f.line >= 1 && f.line <= lines && f.column >= 1 && f.end_column > f.column);
                assert!(f.masked.contains('…') && f.fingerprint.as_str().len() == 32);
                assert!(f.confidence >= Confidence::Low);
            }
            findings += found.len();
        }
    }
    let report = strict.scan_reader("fuzz", &b"x"[..]).expect("reader");
    let _ = (
        render_text(&report),
        render_json(&report),
        render_sarif(&report, "0"),
    );
    println!("{findings} findings over 800 random buffers, no panic");
}
