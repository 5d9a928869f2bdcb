//! The test kit itself: a started emulator answers with the provisioned key, the fixtures are
//! found, and the static server serves its bytes.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn test_emu_fixtures_and_static_server() {
    let t = fichier_testkit::TestEmu::start().await;
    assert_eq!(t.key().len(), 32);
    assert!(t.api_url().starts_with("http://127.0.0.1:") && t.api_url().ends_with("/v1/"));
    let body = "{}";
    let mut s = tokio::net::TcpStream::connect(t.emu.addr()).await.unwrap();
    let req = format!(
        "POST /v1/user/info.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        t.key(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"email\":\"owner@example.com\""));

    let k = fichier_testkit::fake_key();
    assert!(k.len() == 32 && k.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(
        fichier_testkit::fixtures_dir()
            .join("file_ls.json")
            .is_file()
    );

    let (url, guard) = fichier_testkit::serve_static(b"static bytes".to_vec()).await;
    assert!(url.starts_with("http://127.0.0.1:"));
    let out = get(guard.addr, "/file.bin", "").await;
    assert!(
        out.starts_with("HTTP/1.1 200") && out.ends_with("static bytes"),
        "{out}"
    );
    assert!(
        get(guard.addr, "/missing", "")
            .await
            .starts_with("HTTP/1.1 404")
    );

    let custom = fichier_testkit::TestEmu::start_with(|c| {
        c.limits(fichier_testkit::Limits::scaled());
    })
    .await;
    assert_ne!(custom.emu.addr(), t.emu.addr());
}

/// DESIGN.md §2: no module imports a module that imports it back, in any crate of the
/// workspace (read from the sources, so a new cycle fails here with its path).
#[test]
fn no_module_of_the_workspace_imports_a_module_that_imports_it_back() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let graph = fichier_testkit::modgraph::ModuleGraph::read(&src).unwrap();
        checked += graph.edges.len();
        for cycle in graph.cycles() {
            found.push(format!("{}: {}", src.display(), cycle.join(" -> ")));
        }
    }
    assert!(checked > 50, "the sources were read ({checked} modules)");
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The checker sees a cycle when there is one (grouped imports, `super::`, re-exports).
#[test]
fn the_cycle_checker_finds_a_planted_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\npub use b::Thing;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::Thing;\npub fn f() {}\n").unwrap();
    std::fs::write(
        src.join("b.rs"),
        "use crate::{a::f, other};\npub struct Thing;\n",
    )
    .unwrap();
    let g = fichier_testkit::modgraph::ModuleGraph::read(src).unwrap();
    assert_eq!(g.cycles().len(), 1, "{:?}", g.edges);
    std::fs::write(src.join("b.rs"), "// crate::a is named in a comment only\npub struct Thing;\nconst S: &str = \"crate::a\";\n").unwrap();
    let g = fichier_testkit::modgraph::ModuleGraph::read(src).unwrap();
    assert!(g.cycles().is_empty(), "{:?}", g.edges);
}

/// Issue 18: one subtree walk (`RemoteTree::walk`, `fichier-api/src/walk.rs`). A recursive
/// listing loop elsewhere (`for sub in listing.sub_folders` feeding a stack) is a second
/// walker with its own order and error policy; the emulator, which serves listings, is apart.
#[test]
fn no_recursive_listing_loop_outside_the_one_subtree_walk() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut read = 0;
    let mut stack = vec![crates.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let s = p.to_string_lossy().into_owned();
            if p.is_dir() {
                if !s.ends_with("/target") && !s.contains("fichier-emu") && !s.ends_with("/tests") {
                    stack.push(p);
                }
                continue;
            }
            if !s.ends_with(".rs") || s.ends_with("walk.rs") || !s.contains("/src/") {
                continue;
            }
            read += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            for (n, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.starts_with("for ") && l.contains(" in ") && l.contains(".sub_folders") {
                    found.push(format!("{s}:{}: {l}", n + 1));
                }
            }
        }
    }
    assert!(read > 100, "the sources were read ({read} files)");
    assert!(
        found.is_empty(),
        "walk subtrees with RemoteTree::walk, not by hand:\n{}",
        found.join("\n")
    );
}
