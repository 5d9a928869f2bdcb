//! The emulator's modules form no import cycle: every `crate::…` path in `src/*.rs` (outside
//! comments) is an edge from its file's module to the module it names, and the graph must be
//! acyclic. A path to an item of the crate root (`crate::Emulator`) counts as an edge to `lib`,
//! which itself imports every module, so it is a cycle too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The source with `//` comments (line, doc and inner doc) removed; string literals holding
/// `//` are rare enough in this crate that a plain scan is enough.
fn strip_comments(src: &str) -> String {
    let mut out = String::new();
    for line in src.lines() {
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// First path segments named by `crate::…` in this code, including each head of a
/// `crate::{a, b::c, …}` group.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `fichier_emu_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            let mut j = 0;
            let bytes = group.as_bytes();
            while j < bytes.len() && depth > 0 {
                match bytes[j] {
                    b'{' => depth += 1,
                    b'}' => depth -= 1,
                    b',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_ascii_alphanumeric() || c == b'_') => {
                        out.insert(ident_at(&group[j..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
                j += 1;
            }
        } else {
            let id = ident_at(rest);
            if !id.is_empty() {
                out.insert(id.to_string());
            }
        }
    }
    out
}

fn graph(src: &Path) -> Graph {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("read src") {
        let path = entry.expect("dir entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        // `main.rs` is the binary, a crate of its own.
        if path.extension().is_some_and(|e| e == "rs") && stem != "main" {
            files.insert(
                stem.to_string(),
                std::fs::read_to_string(&path).expect("read"),
            );
        }
    }
    let mut g = Graph::new();
    for (module, text) in &files {
        let code = strip_comments(text);
        let mut deps = BTreeSet::new();
        if module == "lib" {
            for line in code.lines() {
                let l = line.trim_start().trim_start_matches("pub ");
                if let Some(m) = l.strip_prefix("mod ") {
                    deps.insert(ident_at(m).to_string());
                }
            }
        }
        for head in crate_paths(&code) {
            let target = if files.contains_key(&head) {
                head
            } else {
                "lib".to_string()
            };
            if &target != module {
                deps.insert(target);
            }
        }
        g.insert(module.clone(), deps);
    }
    g
}

/// A cycle in the graph, as the list of modules around it.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        g: &Graph,
        n: &str,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_string(), Mark::Open);
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            match marks.get(d).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = stack.iter().position(|s| s == d).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(g, d, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(n.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in g.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New
            && let Some(c) = visit(g, n, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn emulator_modules_import_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    assert!(g.len() > 20, "expected the emulator's modules, found {g:?}");
    if let Some(cycle) = find_cycle(&g) {
        let edges: Vec<String> = g
            .iter()
            .map(|(m, d)| {
                format!(
                    "{m} -> {}",
                    d.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "import cycle: {}\nedges:\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

#[test]
fn cycle_finder_sees_a_cycle_and_group_imports() {
    let code = strip_comments("use crate::{a, b::{c, d}};\n// crate::z\nlet x = crate::e::f;");
    let heads: Vec<_> = crate_paths(&code).into_iter().collect();
    assert_eq!(heads, ["a", "b", "e"]);
    let mut g = Graph::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["c".to_string()].into());
    g.insert("c".into(), ["a".to_string()].into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    g.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&g), None);
}
