//! `remote add | ls | info --wait` against the emulator fetching from a loopback server.

use crate::harness::Env;

#[test]
fn remote_upload_roundtrip() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/Incoming"]).ok();
    let (url, _guard) = env
        .rt
        .block_on(fichier_testkit::serve_static(b"remote bytes".to_vec()));
    let missing = url.replace("file.bin", "missing");
    let missing = if missing == url {
        format!("{url}/missing")
    } else {
        missing
    };

    let j = env
        .run(&["remote", "add", &url, "--to", "/Incoming", "--json"])
        .json();
    let id = j["id"].as_u64().unwrap();
    assert_eq!(j["folder"], "/Incoming");
    let ids = id.to_string();

    let j = env
        .run(&["remote", "info", &ids, "--wait", "--json"])
        .json();
    assert_eq!(j["done"], true);
    assert_eq!(j["results"][0]["ok"], true);
    let link = j["results"][0]["link"].as_str().unwrap().to_owned();
    let info = env.run(&["info", &link, "--json"]).json();
    assert_eq!(info["size"], 12);

    let j = env.run(&["remote", "ls", "--json"]).json();
    assert!(
        j["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|job| job["id"] == id)
    );
    let human = env.run(&["remote", "ls"]);
    assert!(human.ok().contains(&ids));

    // A job whose only URL fails: exit 2 after printing the result.
    let j = env.run(&["remote", "add", &missing, "--json"]).json();
    let bad = j["id"].as_u64().unwrap().to_string();
    let out = env.run(&["remote", "info", &bad, "--wait", "--timeout", "120"]);
    out.code(2);
    assert!(out.stdout.contains("failed"), "{}", out.stdout);

    // Invalid URLs are refused locally.
    env.run(&["remote", "add", "not-a-url"]).code(2);
}
