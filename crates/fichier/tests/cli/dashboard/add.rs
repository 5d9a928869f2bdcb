//! The add page's file upload: `.crawljob` and `.txt` lists through `/api/add/file`.

use reqwest::StatusCode;

use super::{TOKEN, csrf, http, queue_json, start_daemon, start_dashboard};
use crate::harness::Env;

#[test]
fn dashboard_reads_uploaded_crawljob_and_txt_files() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start_dashboard(&env, &dl);
    env.rt.block_on(async {
        let token = csrf(&server).await;
        let upload = |name: &'static str, text: &'static str| {
            let form = reqwest::multipart::Form::new()
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name),
                )
                .text("target", "");
            http()
                .post(format!("{}api/add/file", server.base))
                .header(TOKEN, &server.token)
                .header("x-csrf-token", &token)
                .multipart(form)
        };
        let job = "text=https://1fichier.com/?crawl00001\npackageName=Films\n\
                   downloadFolder=films\n\n\
                   text=https://megadl.fr/?crawl00002\nautoStart=false\n";
        let r = upload("two.crawljob", job).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!(report["added"].as_array().unwrap().len(), 2, "{report}");
        let q = queue_json(&server).await;
        let items = q["items"].as_array().unwrap();
        assert_eq!(items[0]["package"], "Films");
        assert_eq!(
            items[0]["target_dir"],
            dl.join("films").display().to_string()
        );
        assert_eq!(items[0]["state"], "queued");
        assert_eq!(items[1]["state"], "paused");
        assert_eq!(items[1]["origin"], "dashboard:two.crawljob");

        // A folder above the download folder: refused, nothing added.
        let r = upload(
            "up.crawljob",
            "text=https://1fichier.com/?crawl00003\ndownloadFolder=../..\n",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let err: serde_json::Value = r.json().await.unwrap();
        assert!(
            err["error"].as_str().unwrap().contains("up.crawljob"),
            "{err}"
        );
        let r = upload(
            "list.txt",
            "# mine\nhttps://1fichier.com/?crawl00004\nnot a link\n",
        )
        .send()
        .await
        .unwrap();
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!(report["added"].as_array().unwrap().len(), 1, "{report}");
        assert_eq!(report["ignored"][0], "not a link");
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            3
        );
    });
}

#[test]
fn add_errors_answer_with_their_status_as_json_for_the_api_and_escaped_in_the_pages() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start_dashboard(&env, &dl);
    env.rt.block_on(async {
        let token = csrf(&server).await;
        let post = |path: &str| {
            http()
                .post(format!("{}{path}", server.base))
                .header(TOKEN, &server.token)
                .header("x-csrf-token", &token)
        };
        // The caller's mistakes are 4xx with the reason.
        let r = post("api/add")
            .json(&serde_json::json!({ "links": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let err: serde_json::Value = r.json().await.unwrap();
        assert!(err["error"].as_str().unwrap().contains("no link"), "{err}");
        let r = post("api/action")
            .json(&serde_json::json!({ "op": "jump", "all": true }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = post("api/cnl/999/approve").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let err: serde_json::Value = r.json().await.unwrap();
        assert_eq!(err["error"], "no pending Click'n'Load request #999");
        // Up to the documented 4 MiB a list is read (here 3 MiB of comments and one link);
        // beyond, it is refused as too large, not as a malformed request.
        let mut list = "# padding line of a long link list\n".repeat((3 << 20) / 35);
        list.push_str("https://1fichier.com/?biglist001\n");
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(list.into_bytes()).file_name("long.txt"),
        );
        let r = post("api/add/file").multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!(report["added"].as_array().unwrap().len(), 1, "{report}");
        let big = vec![b'a'; 5 << 20];
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(big).file_name("big.txt"),
        );
        let r = post("api/add/file").multipart(form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // The no-JS form gets a page with the same status and the text escaped.
        let r = post("add")
            .form(&[
                ("links", "https://1fichier.com/?abcdefghij"),
                ("target", "<b>x</b>/../.."),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let page = r.text().await.unwrap();
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;/../.."), "{page}");
        assert!(!page.contains("<b>x</b>"), "{page}");
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            1,
            "only the long list's link was queued"
        );
    });
}

#[test]
fn a_crawljob_from_the_dashboard_cannot_place_files_outside_the_download_folder() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start_dashboard(&env, &dl);
    let autostart = env.root().join("home/.config/autostart");
    env.rt.block_on(async {
        let token = csrf(&server).await;
        let upload = |text: String| {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(text.into_bytes()).file_name("job.crawljob"),
            );
            http()
                .post(format!("{}api/add/file", server.base))
                .header(TOKEN, &server.token)
                .header("x-csrf-token", &token)
                .multipart(form)
                .send()
        };
        for folder in [
            autostart.display().to_string(),
            format!("{}/../home/.config/autostart", dl.display()),
        ] {
            let job = serde_json::json!([{
                "text": "https://1fichier.com/?autostart1",
                "downloadFolder": folder,
            }]);
            let r = upload(job.to_string()).await.unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{folder}");
            let err: serde_json::Value = r.json().await.unwrap();
            assert!(
                err["error"]
                    .as_str()
                    .unwrap()
                    .contains("outside the download folder"),
                "{err}"
            );
        }
        assert!(
            queue_json(&server).await["items"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        // An absolute folder inside the download folder is still fine.
        let inside = dl.join("series");
        let job = serde_json::json!([{
            "text": "https://1fichier.com/?insidedl01",
            "downloadFolder": inside.display().to_string(),
        }]);
        let r = upload(job.to_string()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let q = queue_json(&server).await;
        assert_eq!(q["items"][0]["target_dir"], inside.display().to_string());
    });
}

#[test]
fn a_crawljob_filename_names_the_downloaded_file_inside_its_folder() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let b = env.upload("b.bin", b"bee bytes", 0);
    let c = env.upload("c.bin", b"sea bytes", 0);
    let server = start_daemon(&env, &dl);
    env.rt.block_on(async {
        let job = serde_json::json!([
            { "text": b.as_str(), "downloadFolder": "fname-test", "filename": "renamed.txt" },
            { "text": c.as_str(), "downloadFolder": "fname-test", "filename": "../../escape.txt" },
        ]);
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(job.to_string().into_bytes()).file_name("f.crawljob"),
        );
        let r = http()
            .post(format!("{}api/add/file", server.base))
            .header(TOKEN, &server.token)
            .header("x-csrf-token", csrf(&server).await)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let deadline = std::time::Instant::now() + super::WAIT;
        loop {
            let q = queue_json(&server).await;
            let items = q["items"].as_array().unwrap();
            if items.len() == 2 && items.iter().all(|i| i["state"] == "done") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{q}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    let folder = dl.join("fname-test");
    assert_eq!(
        std::fs::read(folder.join("renamed.txt")).unwrap(),
        b"bee bytes"
    );
    assert!(!folder.join("b.bin").exists());
    // A name that climbs is made one harmless name in the same folder.
    assert!(!env.root().join("escape.txt").exists());
    assert!(!dl.join("escape.txt").exists());
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}
