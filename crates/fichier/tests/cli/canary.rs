//! The canary key: used through a whole session of commands, it never appears in output
//! (checked on every run by the harness), in argv (the harness refuses it), or in any file the
//! CLI wrote other than the key store.

use crate::harness::Env;

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn canary_key_stays_in_the_key_store() {
    let mut env = Env::new();
    env.run_stdin(&["auth", "login", "--store", "file"], env.key())
        .ok();
    let link = env.upload("c.txt", b"canary", 0);
    let script: &[&[&str]] = &[
        &["auth", "status"],
        &["auth", "status", "--json"],
        &["-vv", "account"],
        &["-vv", "mkdir", "-p", "/x/y"],
        &["-vv", "ls", "-R", "-l"],
        &["info", "/c.txt", "--json"],
        &["link", "/c.txt"],
        &["cp", "/c.txt", "/x"],
        &["mv", "/x/c.txt", "/x/y"],
        &["rename", "/x/y/c.txt", "d.txt"],
        &["rm", "-r", "/x"],
        &["attr", "/c.txt", "--cdn", "on"],
        &["share", "/", "--json"],
        &["remote", "ls"],
        &["ls", "/missing"],
    ];
    for args in script {
        env.run(args);
    }
    // The commands of the key-hygiene loop and the rest of the API: exec's own logs, ftp and
    // voucher answers and errors.
    let hygiene: &[&[&str]] = &[
        &["-vv", "exec", "--", "sh", "-c", "echo child-ran"],
        &["-vv", "exec", "--rclone", "--env", "MY_KEY", "--", "true"],
        &["exec", "--env", "1BAD", "--", "true"],
        &["exec", "--", "no-such-program-for-canary"],
        &["-vv", "ftp", "process"],
        &["-vv", "ftp", "users", "ls", "--json"],
        &["ftp", "users", "rm", "nobody"],
        &["ftp", "users", "add", "bad name"],
        &["ftp", "mode", "--json"],
        &["-vv", "voucher", "ls"],
        &["voucher", "check", "not-a-voucher-code"],
        &[
            "voucher",
            "use",
            "not-a-voucher-code",
            "--to",
            "x@example.com",
        ],
        &["files", "--all", "--json"],
        &["virus-scan", "/c.txt"],
    ];
    for args in hygiene {
        env.run(args);
    }
    env.run_stdin(
        &["ftp", "users", "add", "canary", "--password"],
        "canary-pass\n",
    )
    .ok();
    // `scan --fix` on a script holding the key: the diff masks it, and once written the
    // script no longer holds it (checked with every other file below).
    let leaked = env.root().join("leaked");
    std::fs::create_dir_all(&leaked).unwrap();
    std::fs::write(
        leaked.join("backup.sh"),
        format!(
            "#!/bin/sh\nexport FICHIER_API_KEY={}\nfichier upload a /b\n",
            env.key()
        ),
    )
    .unwrap();
    let dir = leaked.to_str().unwrap();
    env.run(&["-vv", "scan", "--fix", dir]).code(1);
    env.run(&["-vv", "scan", "--fix", "--yes", dir]).ok();
    env.run(&["info", link.as_str()]);
    // Environment and stdin sources, with verbose logging.
    env.env
        .push(("FICHIER_API_KEY".into(), env.key().to_owned()));
    env.run(&["-vv", "ls"]).ok();
    env.env.pop();
    env.run_stdin(&["-vv", "--api-key-file", "-", "ls"], env.key())
        .ok();

    // The default pacer (as users run it) keeps its shared state in the cache dir, in a file
    // named by a digest of the key.
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    env.run(&["ls"]).ok();
    let pacer_files: Vec<_> = std::fs::read_dir(env.root().join("cache/fichier"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pacer-"))
        .collect();
    assert_eq!(pacer_files.len(), 1, "one pacer state file per key");

    let mut files = Vec::new();
    files_under(env.root(), &mut files);
    let store = env.config_dir().join("credentials.toml");
    let mut seen_store = false;
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let has = bytes
            .windows(env.key().len())
            .any(|w| w == env.key().as_bytes());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(env.key()),
            "key in a file name: {}",
            f.display()
        );
        if f == store {
            seen_store = has;
        } else {
            assert!(!has, "the key leaked into {}", f.display());
        }
    }
    assert!(seen_store, "the credentials store should hold the key");
}
