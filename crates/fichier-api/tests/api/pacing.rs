//! Pacing and the shared listing cache through real parts: clients sharing one state file (as
//! two processes of one user do), the emulator on 127.0.0.1, files on disk.

use std::time::Duration;

use fichier_api::*;
use fichier_testkit::TestEmu;

/// A client as the CLI builds it (documented windows, shared state file), on a clock that
/// jumps over waits so a test never sleeps.
fn paced(t: &TestEmu, state: &std::path::Path, fresh: bool) -> Client {
    Client::builder()
        .api_url(t.api_url())
        .api_key(ApiKey::parse(t.key()).unwrap())
        .pacer_config(PacerConfig {
            min_gap: Duration::from_millis(1),
            ..PacerConfig::default()
        })
        .pacer_state_file(state)
        .retry_policy(RetryPolicy::fast())
        .env_proxy(false)
        .fresh(fresh)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_listing_fetched_by_one_process_serves_the_next_and_sees_its_changes() {
    let t = TestEmu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cache/pacer-x.json");
    let first = paced(&t, &state, false);
    let root = FolderLsRequest::with_files(ROOT_FOLDER);
    assert!(first.folder_ls(&root).await.unwrap().sub_folders.is_empty());
    assert!(first.file_ls(ROOT_FOLDER).await.unwrap().items.is_empty());

    // "Another process": a new client on the same state file.
    let second = paced(&t, &state, false);
    let started = std::time::Instant::now();
    assert!(
        second
            .folder_ls(&root)
            .await
            .unwrap()
            .sub_folders
            .is_empty()
    );
    second.file_ls(ROOT_FOLDER).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "served from the shared listings without waiting for the 30 s file/ls window"
    );
    assert_eq!((t.calls("folder/ls"), t.calls("file/ls")), (1, 1));

    // Its own mutations show in the next process's listings without a call.
    let made = second
        .folder_mkdir(&FolderMkdirRequest::new("X", ROOT_FOLDER))
        .await
        .unwrap();
    let third = paced(&t, &state, false);
    let l = third.folder_ls(&root).await.unwrap();
    assert_eq!(l.sub_folders.len(), 1);
    assert_eq!(l.sub_folders[0].id, made.folder_id);
    assert!(
        third
            .file_ls(made.folder_id)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!((t.calls("folder/ls"), t.calls("file/ls")), (1, 1));

    // The listing file is private and stays beside the state file.
    let listings = dir.path().join("cache/listings-x.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&listings), 0o600);
        assert_eq!(mode(&state), 0o600);
        assert_eq!(mode(&dir.path().join("cache")), 0o700);
    }

    // `fresh` asks the service even inside the window (folder/ls has no window to wait for).
    let fresh = paced(&t, &state, true);
    assert_eq!(fresh.folder_ls(&root).await.unwrap().sub_folders.len(), 1);
    assert_eq!(t.calls("folder/ls"), 2);
}

#[tokio::test]
async fn folder_listings_are_not_held_to_the_file_ls_window() {
    let t = TestEmu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pacer.json");
    let c = paced(&t, &state, true);
    let root = FolderLsRequest::with_files(ROOT_FOLDER);
    let started = std::time::Instant::now();
    for _ in 0..3 {
        c.folder_ls(&root).await.unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(t.calls("folder/ls"), 3);
}

#[tokio::test]
async fn an_upload_edits_the_shared_listing_of_its_folder_instead_of_dropping_it() {
    let t = TestEmu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pacer-x.json");
    let first = paced(&t, &state, false);
    let root = FolderLsRequest::with_files(ROOT_FOLDER);
    assert!(first.folder_ls(&root).await.unwrap().items.is_empty());
    assert!(first.file_ls(ROOT_FOLDER).await.unwrap().items.is_empty());
    let other = first
        .folder_mkdir(&FolderMkdirRequest::new("other", ROOT_FOLDER))
        .await
        .unwrap()
        .folder_id;

    let data = crate::suite::bytes(70_000, 3);
    let path = dir.path().join("new.bin");
    std::fs::write(&path, &data).unwrap();
    let up = crate::suite::upload_path(
        &first,
        &path,
        "new.bin",
        ROOT_FOLDER,
        std::sync::Arc::new(NoProgress),
    )
    .await
    .unwrap();

    // "Another process" sees the new file in the cached listings, with its size and
    // whirlpool, and the other folder's listing was kept too: no listing call at all.
    let second = paced(&t, &state, false);
    let listed = second.folder_ls(&root).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let file = &listed.items[0];
    assert_eq!(
        (file.filename.as_str(), file.size, &file.link),
        ("new.bin", data.len() as u64, &up.link)
    );
    assert_eq!(
        file.checksum.as_deref(),
        Some(whirlpool_hex(&data).as_str())
    );
    let items = second.file_ls(ROOT_FOLDER).await.unwrap().items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].checksum.as_deref(), Some(up.whirlpool.as_str()));
    assert!(
        second
            .folder_ls(&FolderLsRequest::with_files(other))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!((t.calls("folder/ls"), t.calls("file/ls")), (1, 1));
    // What it sees is what the service lists.
    let live = paced(&t, &state, true).folder_ls(&root).await.unwrap();
    let view = |l: &FolderListing| {
        let items: Vec<_> = l
            .items
            .iter()
            .map(|i| (&i.link, &i.filename, i.size, &i.checksum))
            .collect();
        (l.file_count, l.size, format!("{items:?}"))
    };
    assert_eq!(view(&listed), view(&live));
    assert_eq!(t.calls("folder/ls"), 2);

    // A report that names a file twice cannot say which entry is which: that folder's
    // listing is dropped (the next one asks the service), the other folder's is kept.
    let twin = |n| NodeFile {
        path: path.clone(),
        name: "twin.bin".into(),
        len: n,
    };
    let sent = second
        .upload_to_node(
            &NodeFields::new(ROOT_FOLDER),
            &[twin(data.len() as u64), twin(data.len() as u64)],
            std::sync::Arc::new(NoProgress),
        )
        .await
        .unwrap();
    assert!(matches!(sent.answer, NodeAnswer::Report(_)));
    let third = paced(&t, &state, false);
    assert_eq!(third.folder_ls(&root).await.unwrap().items.len(), 3);
    assert_eq!(t.calls("folder/ls"), 3);
    third
        .folder_ls(&FolderLsRequest::with_files(other))
        .await
        .unwrap();
    assert_eq!(t.calls("folder/ls"), 3);
}

#[tokio::test]
async fn a_call_that_never_reached_the_service_takes_no_window_and_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pacer.json");
    // Held closed for the whole test: a released port could be taken by a parallel test.
    let closed = fichier_testkit::ClosedPort::new();
    let url = closed.api_url();
    let c = Client::builder()
        .api_url(&url)
        .api_key(ApiKey::parse(&fichier_testkit::fake_key()).unwrap())
        .pacer_state_file(&state)
        .env_proxy(false)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = c.file_ls(ROOT_FOLDER).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let attempts = err.attempts().expect("the attempts are counted");
    assert_eq!(attempts.count, 3, "{err}");
    assert!(err.to_string().contains("after 3 attempts over"), "{err}");
    // The window of file/ls was given back: a second call does not wait 30 s for it.
    let started = std::time::Instant::now();
    let again = c.file_ls(ROOT_FOLDER).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Transport);
    assert!(started.elapsed() < Duration::from_secs(6));
    let shared: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(
        shared["windows"].as_object().is_none_or(|w| w.is_empty()),
        "{shared}"
    );
}

#[tokio::test]
async fn a_cooldown_far_in_the_future_is_damaged_state_reset_without_waiting() {
    let t = TestEmu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pacer.json");
    let ten_years_ms = 10 * 365 * 24 * 3600 * 1000u64;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    std::fs::write(
        &state,
        serde_json::json!({
            "cooldown_until_ms": now_ms + ten_years_ms,
            "last_sent_ms": now_ms + ten_years_ms,
            "windows": {"user/info": now_ms + ten_years_ms},
        })
        .to_string(),
    )
    .unwrap();
    let c = paced(&t, &state, false);
    let started = std::time::Instant::now();
    c.user_info()
        .await
        .expect("no hang on a damaged state file");
    assert!(started.elapsed() < Duration::from_secs(5));
    let shared: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(shared["cooldown_until_ms"].as_u64().unwrap() < now_ms + 3_600_000);
}
