//! The endpoint table of docs/cli.md covers the library: every public async method of
//! `fichier_api::Client` in `crates/fichier-api/src/api/*.rs` that calls an endpoint has a row
//! naming its endpoint and at least one command, every section of the API reference has a row,
//! and every command the table names exists (`fichier <command> --help` succeeds).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::harness::Env;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The backticked spans of a table cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// `const NAME: Ep = ...("path")` / `Ep { path: "path", ...}` → name → path.
fn endpoint_consts(sources: &[String]) -> BTreeMap<String, String> {
    let mut consts = BTreeMap::new();
    for src in sources {
        let mut rest = src.as_str();
        while let Some(i) = rest.find("const ") {
            rest = &rest[i + 6..];
            let Some((name, after)) = rest.split_once(": Ep =") else {
                continue;
            };
            if name.contains(char::is_whitespace) {
                continue;
            }
            let path = after.split('"').nth(1).unwrap_or_default();
            consts.insert(name.to_owned(), path.to_owned());
        }
    }
    consts
}

/// Every `pub async fn` of the api modules with the endpoints its body reaches (directly or
/// through another method of the same list). Methods reaching none are not endpoint methods.
fn endpoint_methods() -> BTreeMap<String, BTreeSet<String>> {
    let dir = root().join("crates/fichier-api/src/api");
    let sources: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let consts = endpoint_consts(&sources);
    assert!(
        consts.len() >= 25,
        "endpoint constants not found: {consts:?}"
    );
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    for src in &sources {
        for chunk in src.split("pub async fn ").skip(1) {
            let name: String = chunk
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let end = chunk
                .find("\n    pub ")
                .or_else(|| chunk.find("\n}\n"))
                .unwrap_or(chunk.len());
            bodies.insert(name, chunk[..end].to_owned());
        }
    }
    let direct = |body: &str| -> BTreeSet<String> {
        consts
            .iter()
            .filter(|(name, _)| {
                body.match_indices(name.as_str()).any(|(i, _)| {
                    let before = body[..i].chars().next_back();
                    let after = body[i + name.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            })
            .map(|(_, path)| path.clone())
            .collect()
    };
    let mut reach: BTreeMap<String, BTreeSet<String>> =
        bodies.iter().map(|(n, b)| (n.clone(), direct(b))).collect();
    // Methods delegating to others (`file_ls` → `file_ls_with`): inherit until stable. The
    // verification calls a mutation makes (`ftp_users_add` lists the users after a lost
    // answer) are not what the method is for: only delegation without an own endpoint counts.
    loop {
        let mut changed = false;
        for (name, body) in &bodies {
            if !reach[name].is_empty() {
                continue;
            }
            let inherited: BTreeSet<String> = bodies
                .keys()
                .filter(|other| *other != name && body.contains(&format!("self.{other}(")))
                .flat_map(|other| reach[other].clone())
                .collect();
            if !inherited.is_empty() {
                reach.insert(name.clone(), inherited);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    reach.retain(|_, eps| !eps.is_empty());
    reach
}

struct Row {
    section: String,
    endpoint: String,
    methods: Vec<String>,
    commands: Vec<String>,
}

fn table() -> Vec<Row> {
    let doc = std::fs::read_to_string(root().join("docs/cli.md")).unwrap();
    let section = doc
        .split("\n## Endpoints and commands\n")
        .nth(1)
        .expect("docs/cli.md has a `## Endpoints and commands` section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| 2."))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a row has 4 cells: {l}");
            Row {
                section: cells[0].to_owned(),
                endpoint: cells[1].to_owned(),
                methods: ticked(cells[2]),
                commands: ticked(cells[3]),
            }
        })
        .collect()
}

#[test]
fn every_endpoint_method_of_the_library_has_a_command_in_docs_cli_md() {
    let methods = endpoint_methods();
    for m in [
        "user_info",
        "ftp_users_add",
        "vouchers_use",
        "file_scan",
        "file_ls",
    ] {
        assert!(methods.contains_key(m), "parser missed {m}: {methods:?}");
    }
    assert!(!methods.contains_key("note_uploaded"), "not an endpoint");
    let rows = table();
    let mut missing = Vec::new();
    for (method, endpoints) in &methods {
        let ok = rows.iter().any(|r| {
            r.methods.contains(method)
                && !r.commands.is_empty()
                && endpoints.iter().any(|e| r.endpoint.contains(e.as_str()))
        });
        if !ok {
            missing.push(format!("{method} ({endpoints:?})"));
        }
    }
    assert!(
        missing.is_empty(),
        "library endpoint methods without a command in the docs/cli.md endpoint table: {missing:?}"
    );

    // Every endpoint section of the reference has a row.
    let reference = std::fs::read_to_string(root().join("docs/1fichier-api-v1.md")).unwrap();
    let sections: Vec<String> = reference
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .filter(|l| l.starts_with("2."))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert!(sections.len() >= 29, "{sections:?}");
    for s in &sections {
        assert!(
            rows.iter().any(|r| &r.section == s),
            "reference section {s} has no row in docs/cli.md's endpoint table"
        );
    }
}

#[test]
fn every_command_of_the_endpoint_table_exists() {
    let env = Env::new();
    let mut seen = BTreeSet::new();
    for row in table() {
        for cmd in row.commands {
            // The command words, up to the first option or argument.
            let words: Vec<&str> = cmd
                .split_whitespace()
                .take_while(|w| {
                    !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .collect();
            if words.is_empty() || !seen.insert(words.join(" ")) {
                continue;
            }
            let mut args = words.clone();
            args.push("--help");
            let out = env.run(&args);
            assert_eq!(
                out.code,
                0,
                "`fichier {}` does not exist: {}",
                words.join(" "),
                out.stderr
            );
        }
    }
    assert!(
        seen.contains("ftp users add") && seen.contains("voucher use"),
        "{seen:?}"
    );
}

#[test]
fn files_lists_a_folder_the_whole_account_and_by_date() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/A"]).ok();
    let a = env.folder_id("/A");
    env.upload("in-a.txt", b"a", a);
    env.upload("at-root.txt", b"r", 0);
    let out = env.run(&["files", "/A", "--json"]);
    let j = out.json();
    assert_eq!(j["folder"], "/A");
    let names: Vec<&str> = j["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["in-a.txt"]);
    let out = env.run(&["files", "--all", "--json"]);
    assert_eq!(out.json()["files"].as_array().unwrap().len(), 2);
    let out = env.run(&["files", "--all", "--before", "2000-01-01", "--json"]);
    assert_eq!(out.json()["files"], serde_json::json!([]));
    let out = env.run(&["files", "/A"]);
    assert!(out.ok().contains("in-a.txt"));
    // Bad input.
    let out = env.run(&["files", "--after", "yesterday"]);
    out.code(2);
    assert!(out.stderr.contains("YYYY-MM-DD"), "{}", out.stderr);
    env.run(&["files", "/A", "--all"]).code(2);
    let out = env.run(&["files", "/A", "--shared-by", "x@example.com"]);
    out.code(2);
    assert!(out.stderr.contains("id:12345"), "{}", out.stderr);
    env.run(&["files", "/Nope"]).code(2);
}

#[test]
fn virus_scan_reports_clean_and_infected_files() {
    let env = Env::logged_in();
    env.upload("clean.txt", b"hello", 0);
    // The EICAR test signature, assembled at run time.
    let eicar = [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat();
    env.upload("eicar.com", eicar.as_bytes(), 0);
    let out = env.run(&["virus-scan", "/clean.txt", "--json"]);
    assert_eq!(out.json()["results"][0]["clean"], true);
    let out = env.run(&["virus-scan", "/clean.txt", "/eicar.com", "/missing.txt"]);
    out.code(1);
    assert!(out.stdout.contains("/clean.txt  clean"), "{}", out.stdout);
    assert!(
        out.stdout.contains("/eicar.com  infected"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("1fichier deletes it"), "{}", out.stderr);
    assert!(
        out.stderr.contains("/missing.txt: no such file"),
        "{}",
        out.stderr
    );
}
