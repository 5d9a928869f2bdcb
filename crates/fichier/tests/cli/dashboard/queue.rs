//! The queue page in a real browser: adding, pausing, resuming, reordering and retrying
//! items, and the live view following the runner (the daemon's or a test's) to the end.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use reqwest::StatusCode;

use super::browser::{browser, driver, open, shot, state_of, wait_for};
use super::{TOKEN, WAIT, csrf, data_dir, http, start_daemon, start_dashboard};
use crate::harness::Env;

#[test]
fn browser_adds_links_pauses_and_resumes_one_then_watches_them_finish_with_the_daemon() {
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let a = env.upload("alpha.bin", &vec![7u8; 300_000], 0);
    let hostile = "<img src=x onerror=alert(1)>\"'&amp;.txt";
    let h = env.upload(hostile, b"inert", 0);
    let g = env.upload("gamma.bin", b"gamma", 0);
    let server = start_dashboard(&env, &dl);
    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "add").await;
        shot(&b, "add.png").await;
        let links = format!(
            "{}\n{}\nhttps://example.com/not-ours",
            a.as_str(),
            h.as_str()
        );
        b.find(Locator::Css("#links"))
            .await
            .unwrap()
            .send_keys(&links)
            .await
            .unwrap();
        b.find(Locator::Css("#package"))
            .await
            .unwrap()
            .send_keys("<script>alert(2)</script>")
            .await
            .unwrap();
        b.find(Locator::Css("#add-submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#item-1[data-state=queued]").await;
        wait_for(&b, "#item-2[data-state=queued]").await;
        // A package with terminal escapes and a bidi override, through the JSON API; the
        // open page gets the new row live.
        let r = http()
            .post(format!("{}api/add", server.base))
            .header(TOKEN, &server.token)
            .header("x-csrf-token", csrf(&server).await)
            .json(&serde_json::json!({
                "links": [g.as_str()],
                "package": "esc\u{1b}[31mred\u{202e}txt.exe",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        wait_for(&b, "#item-3[data-state=queued]").await;
        let pkg = b.find(Locator::Css("#item-1 .c-pkg")).await.unwrap();
        assert_eq!(pkg.text().await.unwrap(), "<script>alert(2)</script>");

        // Pause one (the page calls the JSON API; the live stream redraws the row).
        b.find(Locator::Css("#item-1 .b-pause"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#item-1[data-state=paused]").await;
        assert_eq!(state_of(&b, 2).await, "queued");
        b.find(Locator::Css("#item-1 .b-resume"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#item-1[data-state=queued]").await;
        b.close().await.unwrap();
    });
    drop(server);

    // The daemon works the queue; the open page follows it live to "done".
    let server = start_daemon(&env, &dl);
    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "").await;
        wait_for(&b, "#live:not([hidden])").await;
        wait_for(&b, "#item-1[data-state=done]").await;
        wait_for(&b, "#item-2[data-state=done]").await;
        wait_for(&b, "#item-3[data-state=done]").await;
        // The hostile name is text: the cell holds it literally, no element was made of it,
        // and no script ran.
        let name = b
            .find(Locator::Css("#item-2 .name"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            name.contains("<img src=x onerror=alert(1)>\"'&amp;"),
            "{name}"
        );
        let pkg = b
            .find(Locator::Css("#item-3 .c-pkg"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            pkg.contains("\u{fffd}[31m") && !pkg.contains('\u{1b}'),
            "{pkg:?}"
        );
        let imgs = b
            .find_all(Locator::Css("#queue img, #queue script"))
            .await
            .unwrap();
        assert!(imgs.is_empty());
        assert!(b.get_alert_text().await.is_err(), "a script of a name ran");
        // The same on a freshly server-rendered page.
        b.refresh().await.unwrap();
        wait_for(&b, "#item-2[data-state=done]").await;
        let pkg = b
            .find(Locator::Css("#item-3 .c-pkg"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            pkg.contains("\u{fffd}[31m") && !pkg.contains('\u{1b}'),
            "{pkg:?}"
        );
        assert!(
            b.find_all(Locator::Css("#queue img"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(b.get_alert_text().await.is_err());

        open(&b, &server, "account").await;
        let account = wait_for(&b, "#account").await.text().await.unwrap();
        assert!(
            account.contains("Offer") && account.contains("premium"),
            "{account}"
        );
        assert!(!b.source().await.unwrap().contains(env.key()));
        shot(&b, "account.png").await;
        // A phone-sized window: the queue becomes one card per item, nothing cut off.
        b.set_window_size(390, 844).await.unwrap();
        open(&b, &server, "").await;
        wait_for(&b, "#item-1").await;
        let overflow = b
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            overflow,
            serde_json::Value::Bool(false),
            "the page scrolls sideways"
        );
        b.close().await.unwrap();
    });
    assert_eq!(
        std::fs::read(dl.join("alpha.bin")).unwrap(),
        vec![7u8; 300_000]
    );
}

/// Adds an item straight to the store (as a runner's view of it is set up below).
fn seed(store: &fichier_queue::QueueStore, id: &str, name: &str, size: u64) -> i64 {
    use fichier_queue::{AddOutcome, NewItem};
    let item = NewItem {
        source: format!("https://1fichier.com/?{id}"),
        target_dir: PathBuf::from("/srv/downloads"),
        package: Some("Holiday 2026".to_owned()),
        name: Some(name.to_owned()),
        size: Some(size),
        origin: "cli".to_owned(),
        ..NewItem::default()
    };
    match store.add(item).unwrap() {
        AddOutcome::Added(id) => id,
        AddOutcome::Duplicate { .. } => panic!("duplicate seed"),
    }
}

#[test]
fn browser_follows_progress_and_state_reasons_live() {
    use fichier_queue::{QueueStore, Selector, State};
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
    // The test plays the runner on the same store, through the store's own runner calls.
    let store = QueueStore::open(&data_dir(&env).join("queue.sqlite")).unwrap();
    let lease = Duration::from_secs(600);
    let mib = 1u64 << 20;
    let film = seed(&store, "seedfilm01", "holiday-film.mkv", 1400 * mib);
    let photos = seed(&store, "seedphoto1", "photos.zip", 300 * mib);
    let notes = seed(&store, "seednotes1", "notes.pdf", 2 * mib);
    let gone = seed(&store, "seedgone01", "old-backup.tar", 80 * mib);
    let later = seed(&store, "seedlater1", "extras.iso", 700 * mib);
    store.pause(&Selector::Id(later)).unwrap();
    let claim = |want: i64| {
        let item = store.claim_next("test", lease).unwrap().expect("a claim");
        assert_eq!(item.id, want);
    };
    claim(film);
    store
        .set_state(film, "test", State::Downloading, None, None, false)
        .unwrap();
    store
        .set_progress(film, "test", 100 * mib, 12 * mib, Some(108))
        .unwrap();
    claim(photos);
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(4);
    store
        .set_state(
            photos,
            "test",
            State::Waiting,
            Some("flood cooldown: 1fichier asked to wait"),
            Some(until),
            true,
        )
        .unwrap();
    claim(notes);
    store
        .finish(notes, "test", Path::new("/srv/downloads/notes.pdf"))
        .unwrap();
    claim(gone);
    store
        .set_state(
            gone,
            "test",
            State::Offline,
            Some("the file was deleted from 1fichier"),
            None,
            false,
        )
        .unwrap();

    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "").await;
        wait_for(&b, "#live:not([hidden])").await;
        let row = wait_for(&b, &format!("#item-{film}[data-state=downloading]")).await;
        let text = row.text().await.unwrap();
        assert!(text.contains("7%") && text.contains("12.0 MiB/s"), "{text}");
        assert!(text.contains("1m 48s"), "{text}");
        let waiting = b
            .find(Locator::Css(&format!("#item-{photos} .reason")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            waiting.contains("flood cooldown") && waiting.contains("until"),
            "{waiting}"
        );

        shot(&b, "queue.png").await;
        b.set_window_size(390, 844).await.unwrap();
        b.refresh().await.unwrap();
        wait_for(&b, "#live:not([hidden])").await;
        shot(&b, "queue-phone.png").await;
        b.set_window_size(1200, 860).await.unwrap();
        b.refresh().await.unwrap();
        wait_for(&b, "#live:not([hidden])").await;

        // The runner moves on: the open page follows without reloading.
        let marker: serde_json::Value = b
            .execute("window.__same_page = 1; return 1;", vec![])
            .await
            .unwrap();
        assert_eq!(marker, 1);
        store
            .set_progress(film, "test", 700 * mib, 20 * mib, Some(35))
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let text = b
                .find(Locator::Css(&format!("#item-{film}")))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains("50%") && text.contains("20.0 MiB/s") && text.contains("35s") {
                break;
            }
            assert!(Instant::now() < deadline, "progress never updated: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        store
            .set_state(
                film,
                "test",
                State::Failed,
                Some("the connection was reset 5 times"),
                None,
                true,
            )
            .unwrap();
        wait_for(&b, &format!("#item-{film}[data-state=failed]")).await;
        let reason = b
            .find(Locator::Css(&format!("#item-{film} .reason")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(reason, "the connection was reset 5 times");
        let same: serde_json::Value = b
            .execute("return window.__same_page || 0;", vec![])
            .await
            .unwrap();
        assert_eq!(same, 1, "the page reloaded instead of updating");
        // Retry from the page: back to queued.
        b.find(Locator::Css(&format!("#item-{film} .b-retry")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, &format!("#item-{film}[data-state=queued]")).await;
        // Reorder: the paused item to the top.
        b.find(Locator::Css(&format!("#item-{later} .b-move[value=top]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let first = b
                .find(Locator::Css("#queue tbody tr"))
                .await
                .unwrap()
                .attr("id")
                .await
                .unwrap();
            if first.as_deref() == Some(format!("item-{later}").as_str()) {
                break;
            }
            assert!(Instant::now() < deadline, "the row never moved: {first:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        b.close().await.unwrap();
    });
}
