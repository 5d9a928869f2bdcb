//! The workspace's module graph, read from the sources: which module of a crate names which
//! other module (`use crate::..`, `crate::..` paths, `super::..`), so a test can refuse import
//! cycles ("no module imports a module that imports it back", DESIGN.md §2).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One crate's modules (by `::` path, the root being `crate`) and the modules each one names.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    /// Each module (`crate::a::b`) and the modules it names.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

impl ModuleGraph {
    /// Reads every `.rs` file under `src` (a crate's `src` directory).
    pub fn read(src: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        collect(src, &mut files)?;
        let mut modules: BTreeMap<String, PathBuf> = BTreeMap::new();
        for f in &files {
            modules.insert(module_path(src, f), f.clone());
        }
        // Items the root re-exports (`pub use a::b::Item;`) resolve to the module defining them,
        // so `use crate::Item` counts as naming that module, not the root (which declares all).
        let mut reexports: BTreeMap<String, String> = BTreeMap::new();
        for root in ["lib", "main"] {
            let Some(path) = modules.get(&format!("crate::{root}")).cloned() else {
                continue;
            };
            let text = strip_comments(&std::fs::read_to_string(path)?);
            for stmt in text.split(';') {
                let s = stmt.trim();
                let Some(rest) = s
                    .strip_prefix("pub use ")
                    .or_else(|| s.strip_prefix("pub(crate) use "))
                else {
                    continue;
                };
                let rest = rest
                    .trim()
                    .trim_start_matches("crate::")
                    .trim_start_matches("self::");
                let (module, items) = match rest.find("::{") {
                    Some(i) => (&rest[..i], rest[i + 3..].trim_end_matches('}').to_string()),
                    None => match rest.rfind("::") {
                        Some(i) => (&rest[..i], rest[i + 2..].to_string()),
                        None => continue,
                    },
                };
                let target =
                    longest_module(&modules, &format!("crate::{}", module.replace(' ', "")));
                for item in items.split(',') {
                    let name = item.split(" as ").last().unwrap_or("").trim();
                    if let Some(t) = &target
                        && !name.is_empty()
                    {
                        reexports.insert(name.to_string(), t.clone());
                    }
                }
            }
        }
        let mut graph = ModuleGraph::default();
        for (name, path) in &modules {
            let text = strip_comments(&std::fs::read_to_string(path)?);
            let targets = graph.edges.entry(name.clone()).or_default();
            for refd in referenced_paths(name, &text) {
                let target = longest_module(&modules, &refd).or_else(|| {
                    let first = refd.strip_prefix("crate::")?.split("::").next()?;
                    reexports.get(first).cloned()
                });
                if let Some(t) = target {
                    let is_root = t == "crate::lib" || t == "crate::main";
                    if &t != name && !is_root {
                        targets.insert(t);
                    }
                }
            }
        }
        Ok(graph)
    }

    /// Every cycle found, as the list of modules along it (first == last).
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        let mut seen_sets: BTreeSet<BTreeSet<String>> = BTreeSet::new();
        for start in self.edges.keys() {
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut visited = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                for next in self.edges.get(&node).into_iter().flatten() {
                    if next == start {
                        let mut cycle = path.clone();
                        cycle.push(start.clone());
                        let set: BTreeSet<String> = cycle.iter().cloned().collect();
                        if seen_sets.insert(set) {
                            found.push(cycle);
                        }
                    } else if visited.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
        found
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn module_path(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts.len() > 1 && parts.first().is_some_and(|f| f == "bin") {
        // src/bin/x.rs is a crate of its own; keep it apart from the library's modules.
        return format!("bin::{}", parts.join("::"));
    }
    format!("crate::{}", parts.join("::"))
}

fn longest_module(modules: &BTreeMap<String, PathBuf>, path: &str) -> Option<String> {
    let mut candidate = path.to_string();
    loop {
        if modules.contains_key(&candidate) {
            return Some(candidate);
        }
        let i = candidate.rfind("::")?;
        candidate.truncate(i);
        if candidate == "crate" {
            return None;
        }
    }
}

/// `crate::a::b` paths named in the text, `super::` resolved against `module`, and the
/// items of grouped imports (`use crate::{a::X, b}`) expanded.
fn referenced_paths(module: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let parent = |m: &str| {
        m.rfind("::")
            .map(|i| m[..i].to_string())
            .unwrap_or_else(|| "crate".into())
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let (base, skip) = if rest.starts_with("crate::") && !prev_is_ident(bytes, i) {
            ("crate".to_string(), 7)
        } else if rest.starts_with("self::") && !prev_is_ident(bytes, i) {
            (module.to_string(), 6)
        } else if rest.starts_with("super::") && !prev_is_ident(bytes, i) {
            let mut base = parent(module);
            let mut skip = 7;
            while text[i + skip..].starts_with("super::") {
                base = parent(&base);
                skip += 7;
            }
            (base, skip)
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let tail = &text[i + skip..];
        if let Some(group) = tail.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top(&group[..end]) {
                let item = item.trim();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{base}::{}", ident_path(item)));
                }
            }
        } else {
            let p = ident_path(tail);
            if p.ends_with("::{") || tail[p.len()..].starts_with("::{") {
                let prefix = p.trim_end_matches("::{");
                let after = &tail[prefix.len() + 3..];
                let end = matching_brace(after);
                for item in split_top(&after[..end]) {
                    let item = item.trim();
                    if item.is_empty() {
                        continue;
                    }
                    if item == "self" {
                        out.push(format!("{base}::{prefix}"));
                    } else {
                        out.push(format!("{base}::{prefix}::{}", ident_path(item)));
                    }
                }
            } else if !p.is_empty() {
                out.push(format!("{base}::{p}"));
            }
        }
        i += skip;
    }
    out
}

fn prev_is_ident(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':')
}

fn ident_path(s: &str) -> String {
    let mut end = 0;
    let b = s.as_bytes();
    while end < b.len() {
        let c = b[end];
        if c.is_ascii_alphanumeric() || c == b'_' {
            end += 1;
        } else if c == b':'
            && b.get(end + 1) == Some(&b':')
            && b.get(end + 2)
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_')
        {
            end += 2;
        } else {
            break;
        }
    }
    s[..end].to_string()
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    let mut prefix_stack: Vec<String> = Vec::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                prefix_stack.push(cur.trim().trim_end_matches("::").to_string());
                cur.clear();
            }
            '}' => {
                depth = depth.saturating_sub(1);
                let prefix = prefix_stack.pop().unwrap_or_default();
                if !cur.trim().is_empty() {
                    parts.push(format!("{prefix}::{}", cur.trim()));
                }
                cur = String::new();
            }
            ',' => {
                if !cur.trim().is_empty() {
                    let prefix = prefix_stack.last().cloned();
                    match prefix {
                        Some(p) if depth > 0 => parts.push(format!("{p}::{}", cur.trim())),
                        _ => parts.push(cur.trim().to_string()),
                    }
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur.trim().to_string());
    }
    parts
}

/// Drops comments and the contents of string and char literals (raw strings too), so paths in
/// docs or messages don't count as imports.
fn strip_comments(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            i += 2;
            while i < c.len() && !(c[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i += 2;
        } else if c[i] == 'r'
            && (at(i + 1) == '"' || at(i + 1) == '#')
            && !(i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && at(i + 1) == '\\' {
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c[i] == '\'' && at(i + 2) == '\'' {
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}
