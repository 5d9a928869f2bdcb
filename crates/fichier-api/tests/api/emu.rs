//! The behaviour suite against `fichier-emu` on 127.0.0.1:0, plus what only an emulator can
//! stage: free accounts, bad keys, flood answers, cut and expired downloads, server errors on
//! mutations, broken upload reports.

use crate::suite;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fichier_api::*;
use fichier_testkit::{Fault, FaultPlan, Offer, TestEmu, fake_key, serve_static};
use tokio::time::Instant;

fn builder(t: &TestEmu, key: &str) -> ClientBuilder {
    Client::builder()
        .api_url(t.api_url())
        .api_key(ApiKey::parse(key).unwrap())
        .pacer_config(PacerConfig::unthrottled())
        .retry_policy(RetryPolicy::fast())
        .env_proxy(false)
}

fn client(t: &TestEmu) -> Client {
    builder(t, t.key()).build().unwrap()
}

#[tokio::test]
async fn generic_suite_on_emulator() {
    let t = TestEmu::start().await;
    let c = client(&t);
    suite::account(&c).await;
    suite::upload_server(&c).await;
    let s = suite::make_scratch(&c).await;
    let (link, data) = suite::round_trip(&c, &s).await;
    suite::ranged_reads(&c, &link, &data).await;
    suite::folder_lifecycle(&c, &s).await;
    suite::file_mutations(&c, &s).await;
    suite::duplicate_names(&c, &s).await;
    suite::missing_file(&c).await;
    suite::public_share(&c, &s).await;
    suite::remote_jobs_list(&c).await;
    suite::cleanup(&c, s.folder).await;
    let root = c
        .folder_ls(&FolderLsRequest::new(ROOT_FOLDER))
        .await
        .unwrap();
    assert!(
        root.sub_folders.is_empty(),
        "cleanup left {:?}",
        root.sub_folders
    );
}

#[tokio::test]
async fn the_key_never_reaches_the_request_log_unmasked() {
    let t = TestEmu::start().await;
    let c = client(&t);
    c.user_info().await.unwrap();
    let log = format!("{:?}", t.emu.request_log());
    assert!(!log.contains(t.key()), "{log}");
}

#[tokio::test]
async fn settings_scan_remote_ftp_vouchers() {
    let t = TestEmu::start().await;
    let c = client(&t);
    let set = UserSettings {
        ru_report: Some(false),
        use_cdn: Some(true),
        ..Default::default()
    };
    let me = c.user_settings_set(&set).await.expect("set");
    assert_eq!((me.ru_report, me.use_cdn), (Some(false), Some(true)));
    assert!(c.user_settings_set(&UserSettings::default()).await.is_err());

    // Remote upload from a loopback server, polled until done.
    let payload = suite::bytes(5000, 9);
    let (url, _guard) = serve_static(payload.clone()).await;
    let job = c
        .remote_request(&RemoteRequest::new([url.clone()], ROOT_FOLDER))
        .await
        .expect("remote/request");
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        let info = c.remote_info(job.id).await.expect("remote/info");
        if info.is_done() {
            break info;
        }
        assert!(Instant::now() < deadline, "remote job never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(info.result[0].ok, "{info:?}");
    let link = info.result[0].download_link.clone().unwrap();
    let file = c.file_info(&link, None).await.unwrap();
    assert_eq!(
        file.checksum.as_deref(),
        Some(whirlpool_hex(&payload).as_str())
    );
    assert!(c.remote_ls().await.unwrap().iter().any(|j| j.id == job.id));
    assert!(matches!(
        c.file_scan(&link).await.unwrap(),
        ScanResult::Clean { .. }
    ));
    assert!(
        c.remote_request(&RemoteRequest::new(["not a url".to_owned()], 0))
            .await
            .is_err()
    );

    // FTP sub-accounts.
    c.ftp_users_add(&FtpUserAddRequest::new(
        "camera01",
        Password::new("ftp-pass-01"),
        None,
    ))
    .await
    .expect("ftp add");
    assert!(
        c.ftp_users_ls()
            .await
            .unwrap()
            .iter()
            .any(|u| u.user == "camera01")
    );
    c.ftp_users_rm("camera01").await.expect("ftp rm");
    assert!(c.ftp_users_ls().await.unwrap().is_empty());
    c.ftp_process().await.expect("ftp process");

    // Vouchers.
    let code = t
        .emu
        .create_voucher(fichier_testkit::TEST_EMAIL, "premium-1-month")
        .unwrap();
    assert!(
        c.vouchers_ls()
            .await
            .unwrap()
            .iter()
            .any(|v| v.voucher == code)
    );
    assert!(c.vouchers_check(&code).await.unwrap().valid);
    t.emu
        .create_account("friend@example.org", Offer::Free)
        .unwrap();
    c.vouchers_use(&code, "friend@example.org")
        .await
        .expect("use voucher");
    assert!(!c.vouchers_check(&code).await.unwrap().valid);
}

#[tokio::test]
async fn free_account_and_bad_key() {
    let t = TestEmu::start().await;
    let free = t
        .emu
        .create_account("free@example.com", Offer::Free)
        .unwrap();
    let c = builder(&t, &free.api_key).build().unwrap();
    let err = c.user_info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotCustomer, "{err}");
    assert!(!err.is_retryable());
    assert!(err.code().is_some());

    let c = builder(&t, &fake_key()).build().unwrap();
    let err = c.file_ls(ROOT_FOLDER).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::BadKey | ErrorKind::NotAuthenticated),
        "{err}"
    );
    assert!(!err.is_retryable());
    // Not retried: one request only.
    assert_eq!(t.calls("file/ls"), 1);
}

/// A clock that only moves when the pacer sleeps (and then jumps to the deadline): windows
/// and caches become deterministic however slow the machine is, and waits cost nothing.
#[derive(Debug)]
struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap()
    }
    fn sleep_until(
        &self,
        deadline: Instant,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let mut offset = self.offset.lock().unwrap();
        *offset = (*offset).max(deadline.saturating_duration_since(self.base));
        Box::pin(std::future::ready(()))
    }
    fn wall_now(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + *self.offset.lock().unwrap()
    }
}

/// A clock that stands still until the test moves it: every sleep waits for
/// [`GatedClock::advance`], so what happens during a wait is decided by events, not timing.
#[derive(Debug)]
struct GatedClock {
    base: Instant,
    offset: tokio::sync::watch::Sender<Duration>,
    sleeping: Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for GatedClock {
    fn default() -> Self {
        GatedClock {
            base: Instant::now(),
            offset: tokio::sync::watch::Sender::new(Duration::ZERO),
            sleeping: Arc::default(),
        }
    }
}

impl GatedClock {
    fn advance(&self, d: Duration) {
        self.offset.send_modify(|o| *o += d);
    }
    fn sleeping(&self) -> usize {
        self.sleeping.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Clock for GatedClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.borrow()
    }
    fn sleep_until(
        &self,
        deadline: Instant,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let mut rx = self.offset.subscribe();
        let target = deadline.saturating_duration_since(self.base);
        let sleeping = self.sleeping.clone();
        Box::pin(async move {
            if *rx.borrow() >= target {
                return;
            }
            sleeping.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = rx.wait_for(|o| *o >= target).await;
            sleeping.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        })
    }
    fn wall_now(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + *self.offset.borrow()
    }
}

/// Yields until `cond` holds (bounded, so a broken build fails instead of hanging).
async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while !cond().await {
        assert!(
            std::time::Instant::now() < give_up,
            "never happened: {what}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn flood_answer_starts_a_cooldown_during_which_nothing_is_sent() {
    let t = TestEmu::start().await;
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("file/ls", 1, Fault::flood()));
    let clock = Arc::new(GatedClock::default());
    let cooldown = Duration::from_millis(1000);
    let c = builder(&t, t.key())
        .pacer_config(PacerConfig {
            flood_cooldown_start: cooldown,
            flood_cooldown_max: Duration::from_secs(2),
            ..PacerConfig::unthrottled()
        })
        .clock(clock.clone())
        .build()
        .unwrap();

    // The first call gets the flood answer and sits out the cooldown on the stopped clock.
    let c1 = c.clone();
    let first = tokio::spawn(async move { c1.file_ls(ROOT_FOLDER).await });
    until("the client waits out the cooldown", async || {
        clock.sleeping() == 1 && c.pacer().cooldown_remaining().await.is_some()
    })
    .await;
    assert_eq!(c.pacer().cooldown_remaining().await, Some(cooldown));
    // A second call queues behind it; the clock has not moved, so nothing can be sent.
    let c2 = c.clone();
    let second = tokio::spawn(async move { c2.user_info().await });
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(!first.is_finished() && !second.is_finished());
    assert_eq!(
        t.emu.request_log().len(),
        1,
        "nothing is sent during the cooldown"
    );

    clock.advance(cooldown);
    first
        .await
        .unwrap()
        .expect("file/ls succeeds after the cooldown");
    // The queued call still keeps the minimum gap after the first one's re-send.
    clock.advance(Duration::from_secs(1));
    let other = second.await.unwrap().expect("user/info after the cooldown");
    assert!(!other.email.is_empty());
    let eps: Vec<_> = t
        .emu
        .request_log()
        .iter()
        .map(|r| (r.endpoint.clone(), r.status))
        .collect();
    assert_eq!(eps.len(), 3, "{eps:?}");
    assert_eq!(eps[0], ("file/ls".to_string(), 403), "{eps:?}");
    assert!(c.pacer().cooldown_remaining().await.is_none());

    // With no flood retries the error surfaces, with its wait.
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("file/ls", 1, Fault::flood()));
    let c = builder(&t, t.key())
        .pacer_config(PacerConfig {
            flood_cooldown_start: cooldown,
            ..PacerConfig::unthrottled()
        })
        .retry_policy(RetryPolicy {
            flood_retries: 0,
            ..RetryPolicy::fast()
        })
        .build()
        .unwrap();
    let err = c.file_ls(ROOT_FOLDER).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FloodLocked);
    assert_eq!(err.retry_after(), Some(cooldown));
    assert_eq!(err.code(), Some(374));
}

#[tokio::test]
async fn state_file_shares_the_cooldown_between_clients() {
    let t = TestEmu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pacer.json");
    let cfg = PacerConfig {
        flood_cooldown_start: Duration::from_millis(400),
        state_file: Some(state.clone()),
        ..PacerConfig::unthrottled()
    };
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("user/info", 1, Fault::flood()));
    // One manual clock for both "processes": the cooldown lasts until someone waits it out.
    let clock = Arc::new(ManualClock::default());
    let a = builder(&t, t.key())
        .pacer_config(cfg.clone())
        .clock(clock.clone())
        .retry_policy(RetryPolicy {
            flood_retries: 0,
            ..RetryPolicy::fast()
        })
        .build()
        .unwrap();
    let b = builder(&t, t.key())
        .pacer_config(cfg)
        .clock(clock)
        .build()
        .unwrap();
    assert_eq!(
        a.user_info().await.unwrap_err().kind(),
        ErrorKind::FloodLocked
    );
    assert!(
        b.pacer().cooldown_remaining().await.is_some(),
        "the other client must see the cooldown"
    );
    b.file_ls(ROOT_FOLDER)
        .await
        .expect("after the shared cooldown");
    let log = t.emu.request_log();
    assert_eq!(log.len(), 2);
}

#[tokio::test]
async fn listings_and_user_info_are_cached_and_mutations_update_them() {
    let t = TestEmu::start().await;
    let c = builder(&t, t.key())
        .pacer_config(PacerConfig {
            listing_window: Duration::from_secs(30),
            user_info_window: Duration::from_secs(300),
            ..PacerConfig::unthrottled()
        })
        .clock(Arc::new(ManualClock::default()))
        .build()
        .unwrap();
    c.user_info().await.unwrap();
    c.user_info().await.unwrap();
    assert_eq!(t.calls("user/info"), 1);
    c.file_ls(ROOT_FOLDER).await.unwrap();
    c.file_ls(ROOT_FOLDER).await.unwrap();
    assert_eq!(t.calls("file/ls"), 1);
    let root = FolderLsRequest::with_files(ROOT_FOLDER);
    assert!(c.folder_ls(&root).await.unwrap().sub_folders.is_empty());
    let made = c
        .folder_mkdir(&FolderMkdirRequest::new("x", ROOT_FOLDER))
        .await
        .unwrap();
    // The library's own change is applied to the cached listing: no new call shows it.
    let l = c.folder_ls(&root).await.unwrap();
    assert_eq!(l.sub_folders.len(), 1);
    assert_eq!(l.sub_folders[0].id, made.folder_id);
    assert_eq!(t.calls("folder/ls"), 1, "served from the edited cache");
    // A new folder is known to be empty.
    let inner = c
        .folder_ls(&FolderLsRequest::with_files(made.folder_id))
        .await
        .unwrap();
    assert!(inner.items.is_empty() && inner.sub_folders.is_empty());
    assert_eq!(t.calls("folder/ls"), 1);
    // Removing it updates the parent too; the truth agrees.
    c.folder_rm(made.folder_id).await.unwrap();
    assert!(c.folder_ls(&root).await.unwrap().sub_folders.is_empty());
    assert_eq!(t.calls("folder/ls"), 1);
    c.file_ls(ROOT_FOLDER).await.unwrap();
    assert_eq!(t.calls("file/ls"), 1);
}

#[tokio::test]
async fn a_cut_range_resumes_with_the_same_token_and_a_refused_token_says_so() {
    let t = TestEmu::start().await;
    let c = client(&t);
    let s = suite::make_scratch(&c).await;
    let data = suite::bytes(200_000, 3);
    let up = suite::upload_bytes(&c, &s, s.folder, "cut.bin", &data).await;
    let token = c
        .download_token(&DownloadTokenRequest::new(up.link.clone(), None))
        .await
        .unwrap();

    // A body cut after 70,000 bytes is an error at that point, never a short success; the
    // next range from there, with the same token, completes the file.
    t.emu.set_fault_plan(FaultPlan::new().on_call(
        "download",
        1,
        Fault::Truncate {
            after_bytes: 70_000,
        },
    ));
    // (How much of the cut body reaches the reader depends on the socket's timing.)
    let mut got = Vec::new();
    let cut = match c.range_get(&token, 0, None).await.unwrap() {
        RangeAnswer::Body(mut body) => loop {
            match body.next_chunk(&NoProgress).await {
                Ok(Some(chunk)) => got.extend_from_slice(&chunk),
                Ok(None) => panic!("a truncated body passed as complete"),
                Err(e) => break e,
            }
        },
        RangeAnswer::Cut(e) => e,
        other => panic!("unexpected answer {other:?}"),
    };
    assert!(cut.is_retryable(), "{cut}");
    assert!(got.len() <= 70_000, "{}", got.len());
    assert_eq!(got, data[..got.len()]);
    got.extend(
        suite::read_range(&c, &token, got.len() as u64, None, &NoProgress)
            .await
            .unwrap(),
    );
    assert_eq!(got, data);
    assert_eq!(t.calls("download"), 2);

    // An expired token is refused as such (the caller renews it), not cut.
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("download", 1, Fault::ExpiredToken));
    let answer = c.range_get(&token, 10, None).await.unwrap();
    let RangeAnswer::Refused(e) = answer else {
        panic!("expected a refusal, got {answer:?}");
    };
    assert_eq!(e.kind(), ErrorKind::TokenExpired, "{e}");
    t.emu.clear_faults();
    suite::cleanup(&c, s.folder).await;
}

#[tokio::test]
async fn a_200_to_a_ranged_request_is_refused() {
    // A server that ignores Range and always sends the whole file.
    let (url, _guard) = serve_static(suite::bytes(1000, 5)).await;
    let t = TestEmu::start().await;
    let c = client(&t);
    let token = DownloadToken::new(url);
    let err = c.range_get(&token, 10, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("200"), "{err}");
    // From offset 0 without a range, a 200 is the normal answer.
    let whole = suite::read_range(&c, &token, 0, None, &NoProgress)
        .await
        .unwrap();
    assert_eq!(whole.len(), 1000);
}

#[tokio::test]
async fn mutations_check_state_before_any_resend() {
    let t = TestEmu::start().await;
    let c = client(&t);
    let s = suite::make_scratch(&c).await;
    let sub = c
        .folder_mkdir(&FolderMkdirRequest::new("dest", s.folder))
        .await
        .unwrap();
    let up = suite::upload_bytes(&c, &s, s.folder, "a.txt", b"aaaa\n").await;

    // 500 before the handler ran: state shows no move, so it is re-sent once.
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("file/mv", 1, Fault::status(500)));
    c.file_mv(&FileMvRequest::new([up.link.clone()], sub.folder_id))
        .await
        .expect("mv after check");
    assert_eq!(t.calls("file/mv"), 2);
    assert_eq!(
        c.file_info(&up.link, None).await.unwrap().folder_id,
        Some(sub.folder_id)
    );

    // Reset after the handler ran: the removal is visible, so it is not re-sent.
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("file/rm", 1, Fault::Reset { after_bytes: 0 }));
    let rm = c
        .file_rm(&FileRmRequest::new([up.link.clone()]))
        .await
        .expect("rm confirmed by state");
    assert_eq!(rm.removed, Some(1));
    assert_eq!(t.calls("file/rm"), 1);

    // A copy cannot be checked: the outcome is reported unknown, never blindly re-sent.
    let up2 = suite::upload_bytes(&c, &s, s.folder, "b.txt", b"bbbb\n").await;
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("file/cp", 1, Fault::status(502)));
    let err = c
        .file_cp(&FileCpRequest::new([up2.link.clone()], sub.folder_id))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(t.calls("file/cp"), 1);

    // Reads are simply retried on temporary failures.
    t.emu.set_fault_plan(
        FaultPlan::new()
            .on_call("file/info", 1, Fault::MalformedJson)
            .on_call("file/info", 2, Fault::status(503)),
    );
    c.file_info(&up2.link, None)
        .await
        .expect("info after retries");
    t.emu.clear_faults();
    suite::cleanup(&c, s.folder).await;
}

#[tokio::test]
async fn end_pl_is_retried_through_the_attempt_loop_and_bad_reports_never_pass() {
    let t = TestEmu::start().await;
    let c = client(&t);
    let s = suite::make_scratch(&c).await;
    let path = s.dir.path().join("up.bin");
    let data = suite::bytes(120_000, 7);
    std::fs::write(&path, &data).unwrap();
    let none = || Arc::new(NoProgress);

    // end.pl fails once: the report is fetched again, once.
    t.emu
        .set_fault_plan(FaultPlan::new().on_call("end", 1, Fault::status(503)));
    let up = suite::upload_path(&c, &path, "up.bin", s.folder, none())
        .await
        .expect("upload");
    assert_eq!(up.whirlpool, whirlpool_hex(&data));
    assert_eq!(t.calls("end"), 2);

    // end.pl keeps failing: exactly the policy's attempts, and the final error says so.
    t.emu
        .set_fault_plan(FaultPlan::new().rule("end", 1, 1000, Fault::status(503)));
    let before = t.calls("end");
    let server = c.upload_server().await.unwrap();
    let err = c.upload_report(&server).await.unwrap_err();
    let tries = RetryPolicy::fast().max_attempts;
    assert_eq!(t.calls("end") - before, tries as usize);
    assert_eq!(err.attempts().map(|a| a.count), Some(tries), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("after {tries} attempts over")),
        "{err}"
    );

    // An HTML report, or one with no links, is never a success: the report call fails…
    for body in [
        "<html>Upload finished</html>",
        r#"{"incoming":0,"links":[]}"#,
    ] {
        t.emu.set_fault_plan(FaultPlan::new().rule(
            "end",
            1,
            20,
            Fault::Status {
                status: 200,
                body: Some(body.into()),
            },
        ));
        let server = c.upload_server().await.unwrap();
        let err = c.upload_report(&server).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    }
    // …and so does an upload whose report stays unusable (the emulator, like the service,
    // stores the file only once end.pl is requested, so nothing is left behind).
    t.emu.set_fault_plan(FaultPlan::new().rule(
        "end",
        1,
        1000,
        Fault::Status {
            status: 200,
            body: Some("<html>Upload finished</html>".into()),
        },
    ));
    let sub2 = c
        .folder_mkdir(&FolderMkdirRequest::new("h", s.folder))
        .await
        .unwrap();
    let err = suite::upload_path(&c, &path, "up.bin", sub2.folder_id, none())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    t.emu.clear_faults();
    let listed = c.file_ls(sub2.folder_id).await.unwrap().items;
    assert!(listed.is_empty(), "{listed:?}");

    // A local file that cannot be read is reported on its part, not as a panic.
    let missing = NodeFile {
        path: s.dir.path().join("missing.bin"),
        name: "missing.bin".into(),
        len: 10,
    };
    let sent = c
        .upload_to_node(&NodeFields::new(s.folder), &[missing], none())
        .await
        .unwrap();
    let why = sent.parts[0].local_error.clone().expect("a local error");
    assert!(why.contains("cannot read it"), "{why}");
    assert!(matches!(sent.answer, NodeAnswer::Failed { .. }));
}

/// Collects everything the library logs, at every level.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_never_contain_the_key_or_a_token() {
    let buf = LogBuffer::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = TestEmu::start().await;
    let c = client(&t);
    let s = suite::make_scratch(&c).await;
    let up = suite::upload_bytes(&c, &s, s.folder, "log.bin", &suite::bytes(50_000, 11)).await;
    let token = c
        .download_token(&DownloadTokenRequest::new(up.link.clone(), None))
        .await
        .unwrap();
    // Cut a download, fail a read and flood a call so the retry and cooldown lines are
    // logged too.
    t.emu.set_fault_plan(
        FaultPlan::new()
            .on_call(
                "download",
                1,
                Fault::Truncate {
                    after_bytes: 10_000,
                },
            )
            .on_call("file/info", 1, Fault::status(503))
            .on_call("file/ls", 1, Fault::flood()),
    );
    suite::read_range(&c, &token, 0, None, &NoProgress)
        .await
        .unwrap();
    c.file_info(&up.link, None).await.unwrap();
    c.file_ls(s.folder).await.unwrap();

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying"),
        "expected retry lines in the log:\n{logs}"
    );
    assert!(
        logs.contains("flood"),
        "expected the cooldown line in the log:\n{logs}"
    );
    assert!(!logs.contains(t.key()), "the key leaked into the logs");
    let secret_path = token.expose_url().rsplit('/').next().unwrap();
    assert!(!logs.contains(secret_path), "a token leaked into the logs");
    // No token URL at all (every token of the emulator lives under /dl/).
    assert!(
        !logs.contains("/dl/"),
        "a token URL leaked into the logs:\n{logs}"
    );
}

#[tokio::test]
async fn listing_options_password_shares_and_part_resume() {
    let t = TestEmu::start().await;
    let c = client(&t);
    let s = suite::make_scratch(&c).await;
    let data = suite::bytes(90_000, 21);
    let up = suite::upload_bytes(&c, &s, s.folder, "opt.bin", &data).await;

    // Whole-account listing and date filters (dates sent as Paris local time).
    let all = c
        .file_ls_with(&FileLsRequest::all_files())
        .await
        .expect("all files");
    assert!(all.items.iter().any(|f| f.link == up.link));
    let past = parse_date("2000-01-01 00:00:00").unwrap().unwrap();
    let after = FileLsRequest {
        sent_after: Some(past.clone()),
        ..FileLsRequest::folder(s.folder)
    };
    assert_eq!(c.file_ls_with(&after).await.unwrap().items.len(), 1);
    let before = FileLsRequest {
        sent_before: Some(past),
        ..FileLsRequest::folder(s.folder)
    };
    assert!(c.file_ls_with(&before).await.unwrap().items.is_empty());
    let info = c
        .file_info_with(&FileInfoRequest::new(up.link.clone(), None))
        .await
        .unwrap();
    assert_eq!(info.size, data.len() as u64);

    // A password-protected public share.
    let shared = c
        .folder_share(&FolderShareRequest {
            public: Some(true),
            pass: Some(Password::new("share-pass")),
            ..FolderShareRequest::new(s.folder)
        })
        .await
        .expect("share with password");
    let url = shared.url.expect("share url");
    let files = c
        .shared_folder_ls(&url, Some(&Password::new("share-pass")))
        .await
        .expect("listing with password");
    assert_eq!(files.len(), 1);
    let err = c.shared_folder_ls(&url, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAllowed, "{err}");
    let err = c
        .shared_folder_ls("https://1fichier.com/dir/NoSuchShare1", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        c.shared_folder_ls("not a share!", None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );

    suite::cleanup(&c, s.folder).await;
}

#[tokio::test]
async fn user_info_answer_is_shared_between_processes_through_the_state_file() {
    let t = TestEmu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = PacerConfig {
        user_info_window: Duration::from_secs(300),
        state_file: Some(dir.path().join("pacer.json")),
        ..PacerConfig::unthrottled()
    };
    let a = builder(&t, t.key())
        .pacer_config(cfg.clone())
        .build()
        .unwrap();
    let b = builder(&t, t.key())
        .pacer_config(cfg.clone())
        .build()
        .unwrap();
    let first = a.user_info().await.unwrap();
    // The second "process" is inside the 5-minute window: it reuses the answer instead of
    // calling (or being refused).
    let second = b.user_info().await.expect("shared answer");
    assert_eq!(first.email, second.email);
    assert_eq!(t.calls("user/info"), 1);
    // Without the shared answer, the window refuses rather than risk a flood lock.
    let state = std::fs::read_to_string(dir.path().join("pacer.json")).unwrap();
    assert!(!state.contains(t.key()));
    let mut v: serde_json::Value = serde_json::from_str(&state).unwrap();
    v["answers"] = serde_json::json!({});
    std::fs::write(dir.path().join("pacer.json"), v.to_string()).unwrap();
    let c = builder(&t, t.key()).pacer_config(cfg).build().unwrap();
    let err = c.user_info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Paced, "{err}");
    assert!(err.retry_after().unwrap() > Duration::from_secs(200));
    assert_eq!(t.calls("user/info"), 1);
}

#[tokio::test]
async fn an_upload_makes_cached_listings_stale() {
    let t = TestEmu::start().await;
    let c = builder(&t, t.key())
        .pacer_config(PacerConfig {
            listing_window: Duration::from_secs(30),
            ..PacerConfig::unthrottled()
        })
        .clock(Arc::new(ManualClock::default()))
        .build()
        .unwrap();
    let s = suite::make_scratch(&c).await;
    assert!(c.file_ls(s.folder).await.unwrap().items.is_empty());
    suite::upload_bytes(&c, &s, s.folder, "fresh.txt", b"fresh\n").await;
    // Within the window, but after an upload: a real listing, not the cached empty one.
    assert_eq!(c.file_ls(s.folder).await.unwrap().items.len(), 1);
}
