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

/// Standard input and a device named on the command line were read whole (`/dev/zero` grew
/// without bound): every input gets the file size limit, and what is skipped is said.
#[test]
fn standard_input_and_devices_are_read_only_up_to_the_size_limit() {
    use fichier_scan::render_summary;
    let scanner = Scanner::new(ScanOptions {
        max_file_size: Some(1 << 20),
        ..ScanOptions::default()
    });
    // An endless reader: the scan must stop at the limit.
    let report = scanner.scan_reader("-", std::io::repeat(b'\n')).unwrap();
    assert_eq!(report.stats.skipped_large, 1);
    assert_eq!(report.stats.scanned, 0);
    let summary = render_summary(&report);
    assert!(
        summary.contains("1 input skipped (over the size limit"),
        "{summary}"
    );
    #[cfg(unix)]
    {
        let report = scanner.scan_paths(&["/dev/zero"]).unwrap();
        assert_eq!(report.stats.skipped_large, 1);
        assert!(render_summary(&report).contains("skipped"));
    }
    // Below the limit, standard input is scanned as before.
    let (mut rng, _) = Rng::from_env();
    let key = rng.key();
    let text = format!("FICHIER_API_KEY={key}\n");
    let report = scanner.scan_reader("-", text.as_bytes()).unwrap();
    assert_eq!(report.findings.len(), 1);
}

/// "no 1fichier key found in 0 inputs" was all a scan of only a binary file said.
#[test]
fn the_summary_says_what_was_skipped_and_why() {
    use fichier_scan::render_summary;
    let dir = tempfile::tempdir().unwrap();
    let (mut rng, _) = Rng::from_env();
    let key = rng.key();
    std::fs::write(
        dir.path().join("blob.bin"),
        format!("\0FICHIER_API_KEY={key}\n"),
    )
    .unwrap();
    let report = Scanner::new(ScanOptions::default())
        .scan_paths(&[dir.path()])
        .unwrap();
    let summary = render_summary(&report);
    assert!(summary.contains("1 input skipped (binary"), "{summary}");
}
