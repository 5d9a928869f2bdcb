//! The add page's file upload: `.crawljob` and `.txt` lists through `/api/add/file`.

use reqwest::StatusCode;

use super::{TOKEN, csrf, http, queue_json, start_dashboard};
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
