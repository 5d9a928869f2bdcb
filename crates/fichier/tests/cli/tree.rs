//! Remote paths through the binary: `mkdir -p` from several processes at once never makes a
//! duplicate folder, same-named folders are refused with their `id:N` forms (which then
//! work), and `.`/`..` follow one rule.

use fichier_api::{FolderId, FolderLsRequest, FolderMkdirRequest, ROOT_FOLDER};

use crate::harness::Env;

/// The ids of the sub-folders of `parent` named `name`, listed live.
fn folders_named(env: &Env, parent: FolderId, name: &str) -> Vec<FolderId> {
    let client = env.client();
    let l = env
        .rt
        .block_on(client.folder_ls(&FolderLsRequest::new(parent)))
        .unwrap();
    l.sub_folders
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.id)
        .collect()
}

fn mkdir_api(env: &Env, name: &str, parent: FolderId) -> FolderId {
    let client = env.client();
    env.rt
        .block_on(client.folder_mkdir(&FolderMkdirRequest::new(name.to_owned(), parent)))
        .unwrap()
        .folder_id
}

#[test]
fn concurrent_mkdir_p_creates_each_folder_once() {
    let env = Env::logged_in();
    for round in 0..3 {
        let top = format!("R{round}");
        let path = format!("/{top}/B/C");
        let children: Vec<_> = (0..4)
            .map(|_| {
                env.command(&["mkdir", "-p", &path, "--json"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn fichier")
            })
            .collect();
        let mut ids = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let last = json["folders"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["path"], path.as_str());
            ids.push(last["id"].as_u64().unwrap());
        }
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        let mut parent = ROOT_FOLDER;
        for name in [top.as_str(), "B", "C"] {
            let found = folders_named(&env, parent, name);
            assert_eq!(found.len(), 1, "{name} created {} times", found.len());
            parent = found[0];
        }
    }
    // The lock files sit beside the pacer state, private to the user.
    let locks: Vec<_> = walk(&env.root().join("cache"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tree-"))
        })
        .collect();
    assert!(!locks.is_empty(), "no lock file under the cache dir");
    for l in &locks {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(l).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", l.display());
        assert!(!l.to_string_lossy().contains(env.key()));
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn duplicate_folders_are_refused_with_their_ids_and_reachable_by_id() {
    let env = Env::logged_in();
    let a = mkdir_api(&env, "A", ROOT_FOLDER);
    let x1 = mkdir_api(&env, "X", a);
    let x2 = mkdir_api(&env, "X", a);
    let inside = mkdir_api(&env, "inside", x1);
    env.upload("f.txt", b"in x2", x2);

    for cmd in [
        &["ls", "/A/X"][..],
        &["rename", "/A/X", "Y"],
        &["rm", "-r", "-f", "/A/X"],
        &["mkdir", "-p", "/A/X/new"],
    ] {
        let out = env.run(cmd);
        out.code(2);
        assert!(out.stderr.contains("/A/X is ambiguous"), "{}", out.stderr);
        for x in [x1, x2] {
            assert!(
                out.stderr.contains(&format!("/A/id:{x}")),
                "{cmd:?} does not offer id:{x}:\n{}",
                out.stderr
            );
        }
    }
    assert_eq!(folders_named(&env, a, "X").len(), 2, "nothing was changed");

    // Each one by its id form: inside its parent, or as a whole path.
    let ls = env.run(&["ls", &format!("/A/id:{x1}"), "--json"]).json();
    assert!(ls.to_string().contains("inside"), "{ls}");
    let ls = env.run(&["ls", &format!("id:{x2}/"), "--json"]).json();
    assert!(ls.to_string().contains("f.txt"), "{ls}");
    env.run(&["info", &format!("id:{x2}/f.txt")]).ok();
    env.run(&["mkdir", "-p", &format!("id:{x1}/inside/deeper")])
        .ok();
    env.run(&["rename", &format!("/A/id:{x1}"), "Y"]).ok();
    env.run(&["rm", "-r", "-f", &format!("id:{x2}")]).ok();
    assert_eq!(folders_named(&env, a, "X"), Vec::<FolderId>::new());
    assert_eq!(folders_named(&env, a, "Y"), vec![x1]);
    assert_eq!(folders_named(&env, x1, "inside"), vec![inside]);
    assert_eq!(folders_named(&env, inside, "deeper").len(), 1);

    // An id that is not a sub-folder of the named parent is not found there.
    let out = env.run(&["ls", &format!("/A/id:{a}")]);
    out.code(2);
    assert!(
        out.stderr.contains("no such file or folder"),
        "{}",
        out.stderr
    );
}

#[test]
fn dot_and_dot_dot_follow_one_rule() {
    let env = Env::logged_in();
    let a = mkdir_api(&env, "A", ROOT_FOLDER);
    mkdir_api(&env, "B", a);
    let plain = env.run(&["ls", "/A", "--json"]).json();
    assert_eq!(env.run(&["ls", "A/./B/..//", "--json"]).json(), plain);
    for cmd in [
        &["ls", "/A/../.."][..],
        &["mkdir", "-p", "/../x"],
        &["rm", "-r", "-f", "/.."],
    ] {
        let out = env.run(cmd);
        out.code(2);
        assert!(out.stderr.contains("goes above the root"), "{}", out.stderr);
    }
    assert!(folders_named(&env, ROOT_FOLDER, "x").is_empty());
}

#[test]
fn mkdir_racing_a_tree_upload_creates_each_folder_once() {
    let env = Env::logged_in();
    for round in 0..3 {
        let top = format!("U{round}");
        let local = env.root().join(format!("local{round}"));
        std::fs::create_dir_all(local.join("t/sub")).unwrap();
        std::fs::write(local.join("t/sub/f.txt"), b"payload").unwrap();
        let mut mkdir = env
            .command(&["mkdir", "-p", &format!("/{top}/t/sub")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut upload = env
            .command(&[
                "upload",
                "-r",
                local.join("t").to_str().unwrap(),
                &format!("/{top}"),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        assert!(mkdir.wait().unwrap().success());
        assert!(upload.wait().unwrap().success());
        let mut parent = ROOT_FOLDER;
        for name in [top.as_str(), "t", "sub"] {
            let found = folders_named(&env, parent, name);
            assert_eq!(found.len(), 1, "{name} created {} times", found.len());
            parent = found[0];
        }
    }
}
