//! The key has one way onto the wire: exactly one function of the workspace
//! (`ApiKey::authorize` in `fichier-api/src/key.rs`) turns it into the `Authorization`
//! header. This scans every crate's sources and fails when header building appears anywhere
//! else (the emulator, which reads the header, and the scanner, which looks for leaked
//! headers, are not clients and are left out).

use std::path::Path;

use crate::harness::rust_files;

/// What building the header by hand looks like.
const NEEDLES: [&str; 4] = [
    "AUTHORIZATION",
    "\"Bearer ",
    "\"authorization\"",
    "bearer_header",
];

/// The line span of the function `signature` (e.g. `fn authorize(`): from it to its closing
/// brace.
fn fn_span(text: &str, signature: &str) -> std::ops::Range<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(signature))
        .unwrap_or_else(|| panic!("{signature} exists"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].len() - lines[i].trim_start().len() == indent && lines[i].trim() == "}")
        .unwrap_or_else(|| panic!("end of {signature}"));
    start..end + 1
}

#[test]
fn only_one_function_turns_the_key_into_the_authorization_header() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut offenders = Vec::new();
    let mut functions = 0;
    for krate in std::fs::read_dir(crates).unwrap() {
        let krate = krate.unwrap().path();
        let name = krate.file_name().unwrap().to_string_lossy().into_owned();
        if name == "fichier-emu" || name == "fichier-scan" || !krate.join("src").is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&krate.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let is_key_rs = file.ends_with("fichier-api/src/key.rs");
            let allowed = if is_key_rs {
                functions += text.matches("fn authorize(").count();
                fn_span(&text, "fn authorize(")
            } else {
                0..0
            };
            // Unit tests at the end of key.rs may read the header back.
            let tests_from = text
                .lines()
                .position(|l| l.trim() == "#[cfg(test)]")
                .filter(|_| is_key_rs)
                .unwrap_or(usize::MAX);
            for (i, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") || allowed.contains(&i) || i >= tests_from {
                    continue;
                }
                if NEEDLES.iter().any(|n| line.contains(n)) {
                    offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert_eq!(
        functions, 1,
        "expected exactly one `fn authorize(` in key.rs"
    );
    assert!(
        offenders.is_empty(),
        "the Authorization header is built outside ApiKey::authorize:\n{}",
        offenders.join("\n")
    );
}
