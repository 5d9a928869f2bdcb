//! Advice lives in the CLI only, and reaches the terminal escaped. The libraries' errors say
//! what happened and carry kinds and data; `crates/fichier/src/error.rs` alone words hints,
//! naming commands and flags (docs/architecture.md). A source scan pins the rule for every
//! library crate; end-to-end runs pin that a hostile server message cannot drive the terminal
//! through a stopped download, and that the queue is never told to use `download`'s flags.
//!
//! `fichier-web` is scanned too, with one allowance: the dashboard is an edge of its own (no
//! CLI renders its pages), so the text it serves as a page may name commands: literals that
//! hold HTML markup, and the messages of its refusal page (`auth.rs` `refuse(..)`). Everything
//! else there (errors of its JSON API, its `Result<_, String>`s) follows the rule.

use std::path::Path;
use std::str::FromStr as _;

use fichier_emu::{Fault, FaultPlan};
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use regex::Regex;

use crate::harness::{Env, rust_files};

/// The crates whose errors the CLI renders: no advice of their own.
const LIBRARIES: [&str; 6] = [
    "fichier-api",
    "fichier-transfer",
    "fichier-backup",
    "fichier-queue",
    "fichier-state",
    "fichier-web",
];

/// What a command or flag looks like inside a message.
struct Needles {
    command: Regex,
    long_flag: Regex,
    short_flag: Regex,
}

impl Needles {
    fn new() -> Needles {
        Needles {
            // `fichier auth login`, or a bare `fichier queue ls` ("1fichier" is no word start).
            command: Regex::new(
                r"`fichier |\bfichier (auth|account|ls|info|mkdir|mv|cp|rename|rm|link|attr|share|upload|download|remote|backup|restore|verify|queue|daemon|dashboard|scan|help)\b",
            )
            .unwrap(),
            long_flag: Regex::new(r#"(^|[\s(\[`'"])--[a-z][a-z0-9-]+"#).unwrap(),
            short_flag: Regex::new(r#"(^|[\s(`"])-[a-zA-Z]([\s,.;:)`]|$)"#).unwrap(),
        }
    }

    fn find(&self, text: &str) -> Option<&'static str> {
        if self.command.is_match(text) {
            Some("names a fichier command")
        } else if self.long_flag.is_match(text) || self.short_flag.is_match(text) {
            Some("names a command-line flag")
        } else {
            None
        }
    }
}

/// A finding: `file:line: what`.
type Findings = Vec<String>;

/// `fichier-web`'s functions whose message arguments become a page of their own.
const WEB_PAGE_FUNCTIONS: [&str; 1] = ["refuse"];

/// Walks the tokens of one file: doc comments (`#[doc = ".."]`) and `#[cfg(test)]` items are
/// left out; string literals are matched against the needles; an identifier `hint` (a method,
/// field or function) is a finding of its own.
fn scan(tokens: TokenStream, file: &str, web: bool, needles: &Needles, out: &mut Findings) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        // `refuse(status, "...")` in fichier-web: a page, whose text may name commands.
        if web
            && let (TokenTree::Ident(f), Some(TokenTree::Group(args))) =
                (&tokens[i], tokens.get(i + 1))
            && WEB_PAGE_FUNCTIONS.iter().any(|p| f == p)
            && args.delimiter() == Delimiter::Parenthesis
        {
            i += 2;
            continue;
        }
        // `#[..]` or `#![..]`: skip docs; `#[cfg(test)]` also skips the item it guards.
        if let TokenTree::Punct(p) = &tokens[i]
            && p.as_char() == '#'
        {
            let mut j = i + 1;
            if matches!(tokens.get(j), Some(TokenTree::Punct(b)) if b.as_char() == '!') {
                j += 1;
            }
            if let Some(TokenTree::Group(g)) = tokens.get(j)
                && g.delimiter() == Delimiter::Bracket
            {
                let attr = g.stream().to_string().replace(' ', "");
                if attr.starts_with("doc=") {
                    i = j + 1;
                    continue;
                }
                if attr == "cfg(test)" {
                    i = j + 1;
                    while i < tokens.len() {
                        match &tokens[i] {
                            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
                            TokenTree::Punct(p) if p.as_char() == ';' => break,
                            _ => i += 1,
                        }
                    }
                    i += 1;
                    continue;
                }
            }
        }
        match &tokens[i] {
            TokenTree::Group(g) => scan(g.stream(), file, web, needles, out),
            TokenTree::Ident(id) if id == "hint" => out.push(format!(
                "{file}:{}: `hint` in a library (advice belongs in crates/fichier/src/error.rs)",
                id.span().start().line
            )),
            TokenTree::Literal(lit) => {
                let text = lit.to_string();
                let is_str =
                    text.starts_with('"') || text.starts_with("r\"") || text.starts_with("r#");
                let html = web && text.contains('<');
                if is_str
                    && !html
                    && let Some(what) = needles.find(&text)
                {
                    out.push(format!(
                        "{file}:{}: a message {what}: {text}",
                        lit.span().start().line
                    ));
                }
            }
            _ => {}
        }
        i += 1;
    }
}

#[test]
fn library_crates_name_no_command_or_flag_and_give_no_hints() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let needles = Needles::new();
    let mut findings = Findings::new();
    let mut scanned = 0;
    for krate in LIBRARIES {
        let mut files = Vec::new();
        rust_files(&crates.join(krate).join("src"), &mut files);
        assert!(!files.is_empty(), "{krate} has sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(crates).unwrap().display().to_string();
            let tokens = TokenStream::from_str(&text)
                .unwrap_or_else(|e| panic!("{shown} does not tokenize: {e}"));
            scan(
                tokens,
                &shown,
                krate == "fichier-web",
                &needles,
                &mut findings,
            );
            scanned += 1;
        }
    }
    assert!(scanned > 50, "only {scanned} files scanned");
    assert!(
        findings.is_empty(),
        "library crates state facts; the CLI (crates/fichier/src/error.rs) adds hints and \
         names commands and flags:\n{}",
        findings.join("\n")
    );
}

#[test]
fn the_scan_finds_hints_commands_and_flags_and_skips_docs_and_tests() {
    let source = r#"
        //! Run `fichier ls` (a doc: fine).
        fn a() -> E { E::new("run `fichier auth login`").hint("x") }
        fn b() -> String { format!("add --overwrite or -o DIR") }
        fn c() -> &'static str { "1fichier flood protection; a-b -1" }
        #[cfg(test)]
        mod tests { fn t() { let _ = "--max-delete"; } }
    "#;
    let mut found = Findings::new();
    scan(
        TokenStream::from_str(source).unwrap(),
        "f.rs",
        false,
        &Needles::new(),
        &mut found,
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("f.rs:3: a message names a fichier command"),
        "{found:#?}"
    );
    assert!(found[1].starts_with("f.rs:3: `hint`"), "{found:#?}");
    assert!(
        found[2].starts_with("f.rs:4: a message names a command-line flag"),
        "{found:#?}"
    );
}

#[test]
fn a_hostile_server_message_in_a_stopped_download_is_printed_escaped() {
    let env = Env::logged_in();
    let link = env.upload("h.bin", b"hostile", 0).to_string();
    let o = env.root().join("o");
    // "No such user" makes it a refused key: the run stops and says why on its last lines.
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "download/get_token",
        1,
        1000,
        Fault::ko("No such user \u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m #12"),
    ));
    let out = env.run(&["download", &link, "-o", o.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let stop = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: stopped: "))
        .unwrap_or_else(|| panic!("no stop line in {:?}", out.stderr));
    assert!(stop.contains(r"No such user \e]0;pwned\a\e[2J"), "{stop}");
    for c in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(
            !out.stderr.contains(c),
            "raw {c:?} on stderr: {:?}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);
}

#[test]
fn the_queue_is_never_advised_download_flags_for_a_file_in_the_way() {
    let env = Env::logged_in();
    let dir = env.root().join("q");
    std::fs::create_dir_all(&dir).unwrap();
    let link = env.upload("same.bin", b"remote bytes", 0).to_string();
    std::fs::write(dir.join("same.bin"), b"other local bytes").unwrap();
    env.run(&["queue", "add", &link, "--to", dir.to_str().unwrap()])
        .ok();
    let out = env.run(&["queue", "run", "--max-wait", "1s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(out.stderr.contains("fichier queue retry"), "{}", out.stderr);
    for flag in ["--overwrite", " -o"] {
        assert!(
            !out.stderr.contains(flag),
            "{flag} advised to the queue: {}",
            out.stderr
        );
    }
    // `download` has the flag, and is told so.
    let out = env.run(&["download", &link, "-o", dir.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--overwrite"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(dir.join("same.bin")).unwrap(),
        b"other local bytes"
    );
}
