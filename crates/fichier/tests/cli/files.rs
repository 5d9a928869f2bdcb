//! Listing and file/folder management by path: ls, info, mkdir, mv, cp, rename, rm, link.

use crate::harness::Env;

fn names(v: &serde_json::Value) -> Vec<String> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn mkdir_ls_info_link() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/Backups"]).ok();
    // Missing parent without -p.
    let out = env.run(&["mkdir", "/A/B"]);
    out.code(2);
    assert!(out.stderr.contains("use -p"), "{}", out.stderr);
    let j = env
        .run(&["mkdir", "-p", "/Backups/2026/db", "--json"])
        .json();
    assert_eq!(j["folders"][0]["path"], "/Backups/2026");
    assert_eq!(j["folders"][0]["created"], true);
    // Existing without -p is an error, with -p it is fine.
    env.run(&["mkdir", "/Backups"]).code(2);
    let j = env.run(&["mkdir", "-p", "/Backups", "--json"]).json();
    assert_eq!(j["folders"][0]["created"], false);

    let bid = env.folder_id("/Backups");
    let link = env.upload("db.tar", b"hello world", bid);
    env.upload("notes.txt", b"n", 0);

    let out = env.run(&["ls"]);
    assert_eq!(out.ok(), "Backups/\nnotes.txt\n");
    let long = env.run(&["ls", "-l", "/Backups"]);
    let text = long.ok();
    assert!(
        text.contains("2026/") && text.contains("db.tar") && text.contains("11 B"),
        "{text}"
    );
    assert!(text.contains(link.as_str()), "{text}");

    let j = env.run(&["ls", "/Backups", "--json"]).json();
    assert_eq!(j["path"], "/Backups");
    assert_eq!(j["recursive"], false);
    let file = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "file")
        .unwrap();
    assert_eq!(file["name"], "db.tar");
    assert_eq!(file["size"], 11);
    assert_eq!(file["link"], link.as_str());
    assert_eq!(file["checksum"].as_str().unwrap().len(), 128);

    // info by path and by link (any of the 11 domains).
    let j = env.run(&["info", "/Backups/db.tar", "--json"]).json();
    assert_eq!(j["type"], "file");
    assert_eq!(j["path"], "/Backups/db.tar");
    assert_eq!(j["size"], 11);
    let id = link.id().unwrap();
    let other = format!("https://megadl.fr/?{id}");
    let j = env.run(&["info", &other, "--json"]).json();
    assert_eq!(j["name"], "db.tar");
    let j = env.run(&["info", "/Backups", "--json"]).json();
    assert_eq!(j["type"], "folder");
    assert_eq!(j["files"], 1);
    assert_eq!(j["sub_folders"], 1);
    let human = env.run(&["info", "/Backups/db.tar"]);
    assert!(human.ok().contains("whirlpool:"), "{}", human.stdout);

    assert_eq!(
        env.run(&["link", "/Backups/db.tar"]).ok(),
        format!("{link}\n")
    );
    let j = env.run(&["link", "/Backups/db.tar", "--json"]).json();
    assert_eq!(j["links"][0]["link"], link.as_str());

    // ls of a file shows the file.
    let j = env.run(&["ls", "/notes.txt", "--json"]).json();
    assert_eq!(j["entries"][0]["name"], "notes.txt");
}

#[test]
fn recursive_listing_costs_one_call_per_folder() {
    let env = Env::logged_in();
    let before = env.calls("folder/ls");
    env.run(&["mkdir", "-p", "/a/b/c", "/a/d", "/e"]).ok();
    // Folders created in this run are known: only the root is listed (once).
    assert_eq!(env.calls("folder/ls") - before, 1);
    let cid = env.folder_id("/a/b/c");
    env.upload("deep.bin", b"x", cid);
    let before = env.calls("folder/ls");
    let j = env.run(&["ls", "-R", "--json"]).json();
    let used = env.calls("folder/ls") - before;
    // D = 6 folders (root, a, b, c, d, e): at most D+1 calls, no file/ls at all.
    assert!(used <= 7, "{used} folder/ls calls");
    assert_eq!(env.calls("file/ls"), 0);
    let mut paths = names(&j);
    paths.sort();
    assert_eq!(
        paths,
        ["/a", "/a/b", "/a/b/c", "/a/b/c/deep.bin", "/a/d", "/e"]
    );
    assert_eq!(j["recursive"], true);

    let human = env.run(&["ls", "-R", "/a"]);
    assert_eq!(
        human.ok(),
        "/a:\nb/\nd/\n\n/a/b:\nc/\n\n/a/b/c:\ndeep.bin\n\n/a/d:\n"
    );
}

#[test]
fn mv_cp_rename_rm() {
    let env = Env::logged_in();
    env.run(&["mkdir", "-p", "/src", "/dst", "/old"]).ok();
    let sid = env.folder_id("/src");
    let l1 = env.upload("one.txt", b"1", sid);
    env.upload("two.txt", b"22", sid);

    let j = env
        .run(&["mv", "/src/one.txt", "/src/two.txt", "/dst", "--json"])
        .json();
    assert_eq!(j["moved"].as_array().unwrap().len(), 2);
    assert_eq!(j["moved"][0]["to"], "/dst/one.txt");
    // The link is the file's identity: it survives the move.
    assert_eq!(env.run(&["link", "/dst/one.txt"]).ok().trim(), l1.as_str());

    // Move with rename, then a folder move.
    env.run(&["mv", "/dst/two.txt", "/src/deux.txt"]).ok();
    env.run(&["info", "/src/deux.txt"]).ok();
    env.run(&["mv", "/old", "/dst"]).ok();
    env.run(&["info", "/dst/old"]).ok();
    // A folder cannot go into itself.
    env.run(&["mv", "/dst", "/dst/old"]).code(2);

    // cp: new link, original stays.
    let j = env.run(&["cp", "/dst/one.txt", "/src", "--json"]).json();
    let to = j["copied"][0]["to"].as_str().unwrap().to_owned();
    assert_ne!(to, l1.as_str());
    assert_eq!(j["copied"][0]["path"], "/src/one.txt");
    env.run(&["info", "/dst/one.txt"]).ok();
    // Folders are not copied.
    env.run(&["cp", "/dst/old", "/src"]).code(2);

    // rename file and folder.
    let j = env
        .run(&["rename", "/src/one.txt", "uno.txt", "--json"])
        .json();
    assert_eq!(j["to"], "/src/uno.txt");
    env.run(&["rename", "/dst/old", "ancient"]).ok();
    env.run(&["info", "/dst/ancient"]).ok();
    env.run(&["rename", "/src/uno.txt", "a/b"]).code(2);

    // rm: refuses folders without -r; -r deletes everything below.
    let out = env.run(&["rm", "/dst"]);
    out.code(2);
    assert!(out.stderr.contains("use -r"), "{}", out.stderr);
    let j = env.run(&["rm", "-r", "/dst", "--json"]).json();
    let removed = j["removed"].as_array().unwrap();
    assert!(
        removed
            .iter()
            .any(|r| r["type"] == "file" && r["path"] == "/dst/one.txt")
    );
    assert_eq!(removed.last().unwrap()["path"], "/dst");
    env.run(&["info", "/dst"]).code(2);
    // Partial failure: one file exists, one does not -> exit 1, the good one is deleted.
    let out = env.run(&["rm", "/src/uno.txt", "/src/nope.txt"]);
    out.code(1);
    assert!(
        out.stderr.contains("/src/nope.txt: no such file or folder"),
        "{}",
        out.stderr
    );
    env.run(&["info", "/src/uno.txt"]).code(2);
    env.run(&["rm", "/"]).code(2);
}

#[test]
fn duplicate_names_are_never_guessed() {
    let env = Env::logged_in();
    let a = env.upload("same.txt", b"a", 0);
    let b = env.upload("same.txt", b"bb", 0);
    for cmd in [
        &["info", "/same.txt"][..],
        &["link", "/same.txt"],
        &["rm", "-f", "/same.txt"],
    ] {
        let out = env.run(cmd);
        out.code(2);
        assert!(out.stderr.contains("ambiguous"), "{}", out.stderr);
        assert!(
            out.stderr.contains(a.as_str()) && out.stderr.contains(b.as_str()),
            "{}",
            out.stderr
        );
    }
    // Both still exist; by link each works.
    env.run(&["info", a.as_str()]).ok();
    env.run(&["rm", b.as_str()]).ok();
    env.run(&["info", "/same.txt"]).ok();
}
