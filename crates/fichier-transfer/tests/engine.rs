//! The transfer engine against the emulator over real loopback sockets and real files:
//! round trips of trees, odd names and sizes, and every injected fault of issue 5.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fichier_api::{
    ApiKey, Client, FileLink, FolderId, FolderLsRequest, NodeAnswer, NodeFields, NodeFile,
    PacerConfig, RetryPolicy,
};
use fichier_emu::{Fault, FaultPlan};
use fichier_testkit::{Config, TestEmu};
use fichier_transfer::{
    DownloadInput, DownloadOptions, Engine, EngineConfig, Event, RecordEvents, Summary, UploadDest,
    UploadOptions,
};
use rand::{Rng, SeedableRng};

struct Env {
    /// The emulator on 127.0.0.1:0 with a Premium account (fichier-testkit).
    test: TestEmu,
    key: String,
    work: tempfile::TempDir,
}

impl std::ops::Deref for Env {
    type Target = TestEmu;
    fn deref(&self) -> &TestEmu {
        &self.test
    }
}

async fn env_with(f: impl FnOnce(&mut Config)) -> Env {
    let test = TestEmu::start_with(f).await;
    let key = test.key().to_owned();
    Env {
        test,
        key,
        work: tempfile::tempdir().unwrap(),
    }
}

async fn env() -> Env {
    env_with(|_| {}).await
}

fn client_with(env: &Env, pacer: PacerConfig) -> Client {
    Client::builder()
        .api_url(env.emu.api_url())
        .api_key(ApiKey::parse(&env.key).unwrap())
        .pacer_config(pacer)
        .retry_policy(RetryPolicy::fast())
        .build()
        .unwrap()
}

fn engine_with(env: &Env, pacer: PacerConfig, f: impl FnOnce(&mut EngineConfig)) -> Engine {
    let mut cfg = EngineConfig::default();
    f(&mut cfg);
    Engine::new(client_with(env, pacer), cfg)
}

fn engine(env: &Env) -> Engine {
    engine_with(env, PacerConfig::unthrottled(), |_| {})
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    v
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// Every regular file under `root`, relative path -> bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// `dir/`: the directory's contents (rsync-style trailing slash).
fn contents(dir: &Path) -> PathBuf {
    PathBuf::from(format!("{}/", dir.display()))
}

fn assert_clean(s: &Summary) {
    assert!(
        s.is_success(),
        "failures: {:#?} stopped: {:?}",
        s.failures,
        s.stopped
    );
}

async fn upload(
    engine: &Engine,
    srcs: &[PathBuf],
    dest: &[&str],
    opts: &UploadOptions,
) -> (Summary, Arc<RecordEvents>) {
    let comps: Vec<String> = dest.iter().map(|s| s.to_string()).collect();
    let id = engine.ensure_folder_path(&comps).await.unwrap();
    let ev = Arc::new(RecordEvents::new());
    let s = engine
        .upload(
            srcs,
            &UploadDest {
                folder: id,
                path: comps,
            },
            opts,
            ev.clone(),
        )
        .await;
    (s, ev)
}

async fn download(
    engine: &Engine,
    inputs: &[&str],
    opts: &DownloadOptions,
) -> (Summary, Arc<RecordEvents>) {
    let inputs: Vec<DownloadInput> = inputs
        .iter()
        .map(|i| DownloadInput::parse(i).unwrap())
        .collect();
    let ev = Arc::new(RecordEvents::new());
    let s = engine.download(&inputs, opts, ev.clone()).await;
    (s, ev)
}

/// Uploads `len` random bytes (from `seed`) as `name` into the root: the bytes and the link.
async fn uploaded(env: &Env, eng: &Engine, name: &str, seed: u64, len: usize) -> (Vec<u8>, String) {
    let data = random_bytes(seed, len);
    let src = env.work.path().join(name);
    write(&src, &data);
    let (s, ev) = upload(eng, &[src], &[], &UploadOptions::default()).await;
    assert_clean(&s);
    (data, links(&ev).pop().unwrap())
}

fn links(ev: &RecordEvents) -> Vec<String> {
    ev.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Done { link, .. } => link,
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_round_trip_with_odd_names_then_skip_identical() {
    let env = env().await;
    let src = env.work.path().join("Photos 2026");
    let mut files = [
        ("a.txt", 1usize),
        ("nested/deeper/été 漢字.bin", 1000),
        ("nested/it's \"quoted\" #1 & 100%.dat", 300 * 1024),
        ("nested/spaces  in  name .log", 5 << 20),
        ("big/segmented.iso", 12 << 20),
    ];
    for (i, (name, size)) in files.iter().enumerate() {
        write(&src.join(name), &random_bytes(i as u64, *size));
    }
    std::fs::create_dir_all(src.join("empty dir")).unwrap();
    files.sort();
    let eng = engine(&env);
    let mut opts = UploadOptions::default();
    opts.recursive = true;
    opts.jobs = 3;
    let (s, _) = upload(&eng, std::slice::from_ref(&src), &["Backups"], &opts).await;
    assert_clean(&s);
    assert_eq!(s.done, files.len());

    // The tree exists remotely, empty folder included.
    let c = client_with(&env, PacerConfig::unthrottled());
    let backups = sub_folder(&c, 0, "Backups").await;
    let photos = sub_folder(&c, backups, "Photos 2026").await;
    let p = c
        .folder_ls(&FolderLsRequest::with_files(photos))
        .await
        .unwrap();
    let mut subs: Vec<_> = p.sub_folders.iter().map(|f| f.name.clone()).collect();
    subs.sort();
    assert_eq!(subs, ["big", "empty dir", "nested"]);

    // Again: everything identical is skipped, nothing is uploaded twice.
    let (again, _) = upload(&eng, std::slice::from_ref(&src), &["Backups"], &opts).await;
    assert_clean(&again);
    assert_eq!((again.done, again.skipped), (0, files.len()));

    // Download the folder tree with segments, compare byte for byte.
    let out = env.work.path().join("out");
    let mut dopts = DownloadOptions::new(&out);
    dopts.recursive = true;
    dopts.jobs = 3;
    dopts.segments = Some(4);
    let (d, _) = download(&eng, &["/Backups/Photos 2026"], &dopts).await;
    assert_clean(&d);
    assert_eq!(d.done, files.len());
    assert_eq!(tree(&out.join("Photos 2026")), tree(&src));
    assert!(out.join("Photos 2026/empty dir").is_dir());
    // No leftovers.
    assert!(
        tree(&out)
            .keys()
            .all(|k| !k.ends_with(".part") && !k.ends_with(".state"))
    );

    // A second download finds identical files and skips them; a different one is refused.
    let (d2, _) = download(&eng, &["/Backups/Photos 2026"], &dopts).await;
    assert_eq!((d2.done, d2.skipped, d2.failed), (0, files.len(), 0));
    std::fs::write(out.join("Photos 2026/a.txt"), b"changed").unwrap();
    let (d3, _) = download(
        &eng,
        &["/Backups/Photos 2026/a.txt"],
        &DownloadOptions::new(out.join("Photos 2026")),
    )
    .await;
    assert_eq!(d3.failed, 1);
    assert!(
        d3.failures[0].error.contains("already exists and differs"),
        "{:?}",
        d3.failures
    );
    let mut ow = DownloadOptions::new(out.join("Photos 2026"));
    ow.overwrite = true;
    let (d4, _) = download(&eng, &["/Backups/Photos 2026/a.txt"], &ow).await;
    assert_clean(&d4);
    assert_eq!(
        std::fs::read(out.join("Photos 2026/a.txt")).unwrap(),
        random_bytes(0, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_mib_file_segmented_both_ways() {
    let env = env().await;
    let eng = engine(&env);
    let (data, link) = uploaded(&env, &eng, "huge.bin", 42, 100 << 20).await;
    let out = env.work.path().join("dl");
    let (d, ev) = download(&eng, &[&link], &DownloadOptions::new(&out)).await;
    assert_clean(&d);
    // Default segmentation for a big file: 3 connections, one token.
    assert!(
        ev.events()
            .iter()
            .any(|e| matches!(e, Event::Started { connections: 3, .. }))
    );
    let tokens = env.calls("download/get_token");
    assert_eq!(tokens, 1);
    assert!(std::fs::read(out.join("huge.bin")).unwrap() == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_file_problems_do_not_stop_the_batch() {
    let env = env().await;
    let dir = env.work.path().join("mixed");
    write(&dir.join("good.txt"), b"hello");
    write(&dir.join("empty.txt"), b"");
    write(&dir.join("bad\nname.txt"), b"newline in the name");
    write(&dir.join(format!("{}.txt", "x".repeat(251))), b"too long");
    let eng = engine(&env);
    let mut opts = UploadOptions::default();
    opts.recursive = true;
    let missing = env.work.path().join("no-such-file");
    let (s, _) = upload(&eng, &[contents(&dir), missing, dir.clone()], &[], &opts).await;
    // good.txt twice (contents of dir into /, and dir itself into /mixed); 2 bad files
    // twice, and the missing one; the empty file is skipped (twice), not failed.
    assert_eq!(s.done, 2, "{:#?}", s.failures);
    assert_eq!(s.failed, 5, "{:#?}", s.failures);
    assert_eq!(s.skipped, 2, "{:#?}", s.failures);
    let text = format!("{:?}", s.failures);
    assert!(text.contains("control characters"), "{text}");
    assert!(text.contains("at most 250"), "{text}");
    assert!(text.contains("no-such-file"), "{text}");
    // A directory without -r is a clear per-item error.
    let (s, _) = upload(
        &eng,
        std::slice::from_ref(&dir),
        &[],
        &UploadOptions::default(),
    )
    .await;
    assert_eq!(s.failed, 1);
    assert_eq!(
        s.failures[0].problem,
        Some(fichier_transfer::Problem::LocalDirectory { path: dir.clone() })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_growing_while_uploaded_fails_and_leaves_nothing() {
    let env = env().await;
    let path = env.work.path().join("growing.log");
    write(&path, &random_bytes(7, 2 << 20));
    // The file grows once bytes have been sent.
    let (s, _) = upload_changing(&env, &path, |p| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(b"one more line\n").unwrap();
    })
    .await;
    assert_eq!(s.failed, 1);
    assert!(
        s.failures[0]
            .error
            .contains("changed while it was being uploaded"),
        "{:?}",
        s.failures
    );
    let c = client_with(&env, PacerConfig::unthrottled());
    assert!(
        c.file_ls(0).await.unwrap().items.is_empty(),
        "the inconsistent copy was removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_and_truncation_at_random_offsets_resume_byte_identical() {
    let env = env().await;
    let eng = engine(&env);
    let (data, link) = uploaded(&env, &eng, "r.bin", 3, 9 << 20).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let mut plan = FaultPlan::new();
    for call in 1..=6u64 {
        let at = rng.random_range(1..(2 << 20));
        let fault = if call % 2 == 0 {
            Fault::Truncate { after_bytes: at }
        } else {
            Fault::Reset { after_bytes: at }
        };
        plan = plan.on_call("download", call, fault);
    }
    env.emu.set_fault_plan(plan);
    for segments in [1u32, 3] {
        let out = env.work.path().join(format!("out{segments}"));
        let mut opts = DownloadOptions::new(&out);
        opts.segments = Some(segments);
        let (d, ev) = download(&eng, &[&link], &opts).await;
        assert_clean(&d);
        assert!(
            std::fs::read(out.join("r.bin")).unwrap() == data,
            "segments {segments}"
        );
        if segments == 1 {
            assert!(
                ev.events()
                    .iter()
                    .any(|e| matches!(e, Event::Retrying { .. }))
            );
        }
        env.emu.set_fault_plan(FaultPlan::new().on_call(
            "download",
            2,
            Fault::Reset { after_bytes: 12345 },
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_mid_file_is_renewed() {
    // Tokens live 1 s; each connection is capped at 1 MiB/s, so the file takes about 3 s.
    let env = env_with(|c| {
        c.token_ttl = Duration::from_secs(1);
    })
    .await;
    let eng = engine(&env);
    let (data, link) = uploaded(&env, &eng, "t.bin", 5, 6 << 20).await;
    // Each GET is cut after 1.5 MiB, so the next GET comes after the token expired.
    env.emu.set_fault_plan(
        FaultPlan::new()
            .rule(
                "download",
                1,
                3,
                Fault::Reset {
                    after_bytes: 3 << 19,
                },
            )
            .download_bandwidth(1 << 20),
    );
    let out = env.work.path().join("out");
    let mut opts = DownloadOptions::new(&out);
    opts.segments = Some(2);
    let (d, _) = download(&eng, &[&link], &opts).await;
    assert_clean(&d);
    assert!(std::fs::read(out.join("t.bin")).unwrap() == data);
    let log = env.emu.request_log();
    let tokens = log
        .iter()
        .filter(|r| r.endpoint == "download/get_token")
        .count();
    assert!(tokens >= 2, "expected a renewal, got {tokens} token(s)");
    assert!(
        log.iter()
            .any(|r| r.endpoint == "download" && r.status == 410)
    );
    // An injected expiry on the very first GET is renewed too.
    env.emu
        .set_fault_plan(FaultPlan::new().on_call("download", 1, Fault::ExpiredToken));
    let out2 = env.work.path().join("out2");
    let (d, _) = download(&eng, &[&link], &DownloadOptions::new(&out2)).await;
    assert_clean(&d);
    assert!(std::fs::read(out2.join("t.bin")).unwrap() == data);
}

/// A log date `YYYY-MM-DD HH:MM:SS` (whole seconds).
fn logged_at(at: &str) -> fichier_api::jiff::civil::DateTime {
    fichier_api::jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", at).unwrap()
}

/// Waits (polling the condition, no assumption about timing) until `f` holds, 60 s at most.
/// Uploads `path` to the root at 1 MiB/s (about 2 s for 2 MiB), running `change` on the file
/// once its first bytes were sent: a file that changes while it is uploaded.
async fn upload_changing(
    env: &Env,
    path: &Path,
    change: impl FnOnce(&Path) + Send + 'static,
) -> (Summary, Arc<RecordEvents>) {
    let eng = engine_with(env, PacerConfig::unthrottled(), |c| {
        c.limit_rate = Some(1 << 20)
    });
    let rec = Arc::new(RecordEvents::new());
    let (p2, r2) = (path.to_path_buf(), rec.clone());
    let changer = tokio::spawn(async move {
        wait_until(|| r2.bytes_total() > 0).await;
        change(&p2);
    });
    let s = eng
        .upload(
            &[path.to_path_buf()],
            &UploadDest::root(),
            &UploadOptions::default(),
            rec.clone(),
        )
        .await;
    changer.await.unwrap();
    (s, rec)
}

/// The id of the folder `name` directly under `parent` (which must hold it).
async fn sub_folder(c: &Client, parent: u64, name: &str) -> u64 {
    let listing = c.folder_ls(&FolderLsRequest::new(parent)).await.unwrap();
    listing
        .sub_folders
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no folder {name:?} under {parent}"))
        .id
}

async fn wait_until(f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_lock_mid_batch_pauses_everything_then_completes() {
    let env = env().await;
    let dir = env.work.path().join("batch");
    for i in 0..5 {
        write(
            &dir.join(format!("f{i}.txt")),
            format!("file {i}").as_bytes(),
        );
    }
    let mut pacer = PacerConfig::unthrottled();
    pacer.flood_cooldown_start = Duration::from_secs(2);
    pacer.flood_cooldown_max = Duration::from_secs(4);
    let eng = engine_with(&env, pacer, |_| {});
    env.emu
        .set_fault_plan(FaultPlan::new().on_call("upload/get_upload_server", 3, Fault::flood()));
    let mut opts = UploadOptions::default();
    opts.recursive = true;
    opts.jobs = 1;
    opts.batch_files = 1;
    let (s, _) = upload(&eng, &[contents(&dir)], &[], &opts).await;
    assert_clean(&s);
    assert_eq!(s.done, 5);
    let log = env.emu.request_log();
    let flood = log
        .iter()
        .position(|r| r.status == 403)
        .expect("the flood answer");
    let at = logged_at(&log[flood].at);
    let next = &log[flood + 1];
    // The cooldown is 2 s: the next request is logged at least 2 whole seconds later (full
    // timestamps, so a run across midnight compares right).
    assert!(
        logged_at(&next.at).duration_since(at).as_secs() >= 2,
        "request {next:?} sent during the cooldown (flood at {})",
        log[flood].at
    );
    let c = client_with(&env, PacerConfig::unthrottled());
    assert_eq!(c.file_ls(0).await.unwrap().items.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_end_pl_and_lost_upload_answers_leave_no_duplicate() {
    let env = env().await;
    let dir = env.work.path().join("u");
    write(&dir.join("one.bin"), &random_bytes(1, 200_000));
    write(&dir.join("two.bin"), &random_bytes(2, 300_000));
    write(&dir.join("three.bin"), &random_bytes(3, 5 << 20));
    let eng = engine(&env);
    // end.pl fails 6 times in a row (more than the client's own retries), then the upload
    // answer of the next request is lost after the file was stored.
    env.emu.set_fault_plan(
        FaultPlan::new()
            .rule("end", 1, 6, Fault::status(500))
            .on_call("upload", 2, Fault::Reset { after_bytes: 0 }),
    );
    let mut opts = UploadOptions::default();
    opts.recursive = true;
    opts.batch_files = 1;
    opts.jobs = 1;
    let (s, _) = upload(&eng, &[contents(&dir)], &["Dest"], &opts).await;
    assert_clean(&s);
    assert_eq!(s.done, 3);
    let c = client_with(&env, PacerConfig::unthrottled());
    let dest = sub_folder(&c, 0, "Dest").await;
    let mut names: Vec<_> = c
        .file_ls(dest)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|f| f.filename)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["one.bin", "three.bin", "two.bin"],
        "exactly one copy of each"
    );
}

/// Stores `src` under `name` (any name, even one the engine refuses) through the node
/// primitive, for a download test to fetch.
async fn seed(c: &Client, src: &Path, name: &str, folder: FolderId) -> FileLink {
    let file = NodeFile {
        path: src.to_owned(),
        name: name.to_owned(),
        len: std::fs::metadata(src).unwrap().len(),
    };
    let sent = c
        .upload_to_node(
            &NodeFields::new(folder),
            &[file],
            Arc::new(fichier_api::NoProgress),
        )
        .await
        .unwrap();
    let NodeAnswer::Report(report) = sent.answer else {
        panic!("seed upload of {name:?}: {:?}", sent.answer);
    };
    let stored = report.links.iter().find(|l| l.filename == name);
    stored.expect("stored under its name").download.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_shared_folders_and_the_connection_cap() {
    let env = env().await;
    let c = client_with(&env, PacerConfig::unthrottled());
    let src = env.work.path().join("payload.bin");
    let data = random_bytes(11, 3 << 20);
    write(&src, &data);
    // A file stored under names that would escape a naive output dir.
    let mut got = Vec::new();
    for name in ["..", ".", ".hidden"] {
        got.push(seed(&c, &src, name, 0).await);
    }
    let eng = engine_with(&env, PacerConfig::unthrottled(), |c| c.connections = 2);
    let out = env.work.path().join("safe");
    let mut opts = DownloadOptions::new(&out);
    opts.segments = Some(3);
    opts.jobs = 3;
    let inputs: Vec<String> = got.iter().map(|l| l.to_string()).collect();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (e2, p2) = (eng.clone(), peak.clone());
    let sampler = tokio::spawn(async move {
        loop {
            p2.fetch_max(
                e2.connections_in_use(),
                std::sync::atomic::Ordering::Relaxed,
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let (d, _) = download(&eng, &refs, &opts).await;
    sampler.abort();
    assert_clean(&d);
    assert!(peak.load(std::sync::atomic::Ordering::Relaxed) <= 2);
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".hidden", "_.", "_.."]);
    assert!(!env.work.path().join("payload.bin.part").exists());

    // A public shared folder protected by a password.
    let folder = c
        .folder_mkdir(&fichier_api::FolderMkdirRequest::new("shared", 0))
        .await
        .unwrap()
        .folder_id;
    seed(&c, &src, "in share.bin", folder).await;
    let mut share = fichier_api::FolderShareRequest::new(folder);
    share.public = Some(true);
    share.pass = Some(fichier_api::Password::new("sesame123"));
    let url = c
        .folder_share(&share)
        .await
        .unwrap()
        .url
        .expect("a public URL");
    let out = env.work.path().join("from-share");
    let mut opts = DownloadOptions::new(&out);
    let (d, _) = download(&eng, &[&url], &opts).await;
    assert_eq!(d.failed, 1, "no password: refused");
    opts.password = Some(fichier_api::Password::new("sesame123"));
    let (d, _) = download(&eng, &[&url], &opts).await;
    assert_clean(&d);
    assert!(std::fs::read(out.join("in share.bin")).unwrap() == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_segmented_download_resumes_from_state() {
    let env = env().await;
    let eng = engine(&env);
    let (data, link) = uploaded(&env, &eng, "s.bin", 8, 8 << 20).await;
    // The first 4 GETs end early, then every GET gets 503s long enough to exhaust the retries:
    // the run fails and keeps .part + .part.state.
    env.emu.set_fault_plan(
        FaultPlan::new()
            .rule(
                "download",
                1,
                4,
                Fault::Truncate {
                    after_bytes: 700_000,
                },
            )
            .rule("download", 5, 100, Fault::status(503)),
    );
    let out = env.work.path().join("out");
    let mut opts = DownloadOptions::new(&out);
    opts.segments = Some(4);
    let (d, _) = download(&eng, &[&link], &opts).await;
    assert_eq!(d.failed, 1);
    assert!(out.join("s.bin.part").exists() && out.join("s.bin.part.state").exists());
    assert!(!out.join("s.bin").exists());
    // Kept for the message below: what the first run recorded (a failure of this test once,
    // under a heavily loaded machine, started the second run from 0).
    let recorded =
        String::from_utf8_lossy(&std::fs::read(out.join("s.bin.part.state")).unwrap()).into_owned();
    let part_len = std::fs::metadata(out.join("s.bin.part")).unwrap().len();
    env.emu.clear_faults();
    let (d, ev) = download(&eng, &[&link], &opts).await;
    assert_clean(&d);
    let resumed = ev.events().iter().find_map(|e| match e {
        Event::Started { resumed_from, .. } => Some(*resumed_from),
        _ => None,
    });
    assert!(
        resumed.unwrap() > 0,
        "resumed from {resumed:?}; the first run left a .part of {part_len} bytes and this \
         state: {recorded}"
    );
    assert!(std::fs::read(out.join("s.bin")).unwrap() == data);
    assert!(!out.join("s.bin.part.state").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_shrinking_while_uploaded_is_retried_from_the_file() {
    let env = env().await;
    let path = env.work.path().join("shrinking.bin");
    let data = random_bytes(11, 2 << 20);
    write(&path, &data);
    let (s, rec) = upload_changing(&env, &path, |p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(100_000)
            .unwrap();
    })
    .await;
    assert_clean(&s);
    // The node never got a short body: one copy, of the file as it is now.
    let c = client_with(&env, PacerConfig::unthrottled());
    let items = c.file_ls(0).await.unwrap().items;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].size, 100_000);
    assert!(
        rec.events()
            .iter()
            .any(|e| matches!(e, Event::Retrying { reason, .. } if reason.contains("shrank"))),
        "{:?}",
        rec.events()
    );
}

/// How many retry events a run emitted.
fn retries(ev: &RecordEvents) -> usize {
    ev.events()
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_retries_follow_the_policy_cap_for_segments_and_files() {
    let env = env().await;
    let eng = engine(&env);
    let (data, link) = uploaded(&env, &eng, "cap.bin", 21, 100_000).await;
    let tries = RetryPolicy::fast().max_attempts as usize;

    // Cuts before any byte, one fewer than the cap: the segment resumes and the file is whole.
    env.emu.set_fault_plan(FaultPlan::new().rule(
        "download",
        1,
        tries as u64 - 1,
        Fault::Reset { after_bytes: 0 },
    ));
    let before = env.calls("download");
    let out = env.work.path().join("ok");
    let (d, ev) = download(&eng, &[&link], &DownloadOptions::new(&out)).await;
    assert_clean(&d);
    assert!(std::fs::read(out.join("cap.bin")).unwrap() == data);
    assert_eq!(env.calls("download") - before, tries);
    assert_eq!(retries(&ev), tries - 1);

    // Every GET cut: each file attempt makes `tries` legs, and the file `tries` attempts
    // (the cap is the same everywhere: no `min(3)`, no extra leg).
    env.emu.set_fault_plan(FaultPlan::new().rule(
        "download",
        1,
        1000,
        Fault::Reset { after_bytes: 0 },
    ));
    let before = env.calls("download");
    let out = env.work.path().join("never");
    let (d, ev) = download(&eng, &[&link], &DownloadOptions::new(&out)).await;
    assert_eq!(d.failed, 1);
    assert_eq!(env.calls("download") - before, tries * tries);
    assert_eq!(retries(&ev), tries * tries - 1);
    let why = &d.failures[0].error;
    assert!(
        why.contains(&format!("after {tries} attempts over")),
        "{why}"
    );
    env.emu.clear_faults();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_retries_follow_the_policy_cap_and_the_final_error_says_so() {
    let env = env().await;
    let eng = engine(&env);
    let src = env.work.path().join("up.bin");
    write(&src, &random_bytes(22, 50_000));
    let tries = RetryPolicy::fast().max_attempts as usize;

    // Server errors on the node, one fewer than the cap: uploaded once, no duplicate.
    env.emu.set_fault_plan(FaultPlan::new().rule(
        "upload",
        1,
        tries as u64 - 1,
        Fault::status(500),
    ));
    let before = env.calls("upload");
    let (s, ev) = upload(
        &eng,
        std::slice::from_ref(&src),
        &["A"],
        &UploadOptions::default(),
    )
    .await;
    assert_clean(&s);
    assert_eq!(env.calls("upload") - before, tries);
    assert_eq!(retries(&ev), tries - 1);

    // Always failing: exactly `tries` requests, and the final error counts them.
    env.emu
        .set_fault_plan(FaultPlan::new().rule("upload", 1, 1000, Fault::status(500)));
    let before = env.calls("upload");
    let (s, ev) = upload(
        &eng,
        std::slice::from_ref(&src),
        &["B"],
        &UploadOptions::default(),
    )
    .await;
    assert_eq!(s.failed, 1);
    assert_eq!(env.calls("upload") - before, tries);
    assert_eq!(retries(&ev), tries - 1);
    let why = &s.failures[0].error;
    assert!(
        why.contains(&format!("after {tries} attempts over")),
        "{why}"
    );
    env.emu.clear_faults();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_r_fails_an_unlistable_folder_as_one_item_and_gets_the_rest() {
    let env = env().await;
    let src = env.work.path().join("Top");
    write(&src.join("t.bin"), b"top");
    write(&src.join("A/a.bin"), b"in a");
    write(&src.join("B/b.bin"), b"in b");
    let mut opts = UploadOptions::default();
    opts.recursive = true;
    let (s, _) = upload(&engine(&env), &[src], &[], &opts).await;
    assert_clean(&s);

    // A fresh engine lists / (to resolve /Top), then /Top, then /Top/A: that listing fails
    // every attempt the client makes; /Top/B comes after it.
    let tries = RetryPolicy::fast().max_attempts as u64;
    env.emu
        .set_fault_plan(FaultPlan::new().rule("folder/ls", 3, tries, Fault::status(500)));
    let out = env.work.path().join("out");
    let mut opts = DownloadOptions::new(&out);
    opts.recursive = true;
    let (d, _) = download(&engine(&env), &["/Top"], &opts).await;
    env.emu.clear_faults();
    assert_eq!((d.done, d.failed), (2, 1), "{:#?}", d.failures);
    assert_eq!(d.failures[0].name, "/Top/A/");
    assert!(std::fs::read(out.join("Top/t.bin")).unwrap() == b"top");
    assert!(std::fs::read(out.join("Top/B/b.bin")).unwrap() == b"in b");
    assert!(
        !out.join("Top/A").exists(),
        "nothing is made of a folder not seen"
    );
}
