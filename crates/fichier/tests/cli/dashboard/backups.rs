//! The Backups page: the runs of `fichier backup` read from its journal, names escaped.

use reqwest::StatusCode;

use super::{get, http, start_dashboard};
use crate::harness::Env;

#[test]
fn the_backups_page_lists_runs_from_the_backup_journal_escaped() {
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
    env.rt.block_on(async {
        // Before any backup: said plainly, and the API answers an empty list.
        let page = get(&server, "backups").await.text().await.unwrap();
        assert!(page.contains("No backup has run"), "{page}");
    });

    let src = env.root().join("<b>src</b>");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    env.run(&["backup", src.to_str().unwrap(), "/Bk"]).ok();

    env.rt.block_on(async {
        let v: serde_json::Value = get(&server, "api/backups").await.json().await.unwrap();
        let run = &v["runs"][0];
        assert_eq!(run["state"], "done", "{v}");
        assert!(
            run["profile"].as_str().unwrap().contains("<b>src</b>=>/Bk"),
            "{v}"
        );
        assert!(
            run["summary"].as_str().unwrap().contains("1 uploaded"),
            "{v}"
        );

        let page = get(&server, "backups").await.text().await.unwrap();
        assert!(page.contains("&lt;b&gt;src&lt;/b&gt;=&gt;/Bk"), "{page}");
        assert!(!page.contains("<b>src</b>"), "the name is shown inert");
        assert!(page.contains("1 uploaded"), "{page}");
        // Without the token: refused like every page.
        let r = http()
            .get(format!("{}backups", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    });
}
