//! The behaviour suite: plain async functions taking a client and a scratch folder, run
//! against the emulator in every `cargo test` (`behaviour_emu.rs`) and against the real
//! service only when `FICHIER_API_TEST_KEY` holds a key (`behaviour_real.rs`).
//!
//! Every function creates what it needs inside the scratch folder; [`cleanup`] deletes it.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fichier_api::*;

/// A folder created for one run, plus a local temp dir.
pub struct Scratch {
    pub folder: FolderId,
    pub dir: tempfile::TempDir,
}

/// Deterministic pseudo-random bytes (no extra dependency, different per seed).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn unique() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// An observer that counts what it is told (parts of an upload, chunks of a range).
#[derive(Default)]
pub struct Counting {
    pub starts: AtomicU64,
    pub bytes: AtomicU64,
}

impl Progress for Counting {
    fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}

impl PartObserver for Counting {
    fn part_started(&self, _index: usize, _len: u64) {
        self.starts.fetch_add(1, Ordering::Relaxed);
    }
    fn part_bytes(&self, _index: usize, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}

/// A file the node stored, checked against what was sent.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub link: FileLink,
    pub filename: String,
    pub size: u64,
    pub whirlpool: String,
}

/// Sends one local file through the node primitive and checks the report lists it with the
/// streamed size and whirlpool (the verification a caller of the primitive owes).
pub async fn upload_path(
    c: &Client,
    path: &std::path::Path,
    name: &str,
    folder: FolderId,
    observer: Arc<dyn PartObserver>,
) -> Result<Uploaded> {
    let len = std::fs::metadata(path).expect("local file").len();
    let file = NodeFile {
        path: path.to_owned(),
        name: name.to_owned(),
        len,
    };
    let sent = c
        .upload_to_node(&NodeFields::new(folder), &[file], observer)
        .await?;
    let report = match sent.answer {
        NodeAnswer::Report(r) => r,
        NodeAnswer::Failed { error, .. } => return Err(error),
        other => panic!("unexpected answer {other:?}"),
    };
    let part = &sent.parts[0];
    let ours = part.whirlpool.clone().expect("the whole file was streamed");
    let l = report
        .links
        .iter()
        .find(|l| l.filename == name)
        .expect("the report lists the file");
    assert_eq!(l.size, len, "stored size");
    assert!(same_whirlpool(&l.whirlpool, &ours), "stored whirlpool");
    Ok(Uploaded {
        link: l.download.clone(),
        filename: l.filename.clone(),
        size: l.size,
        whirlpool: ours,
    })
}

/// Bytes `[start, end)` of a file through one token and the ranged GET primitive, resumed
/// from where a cut left off (with the same token) until complete.
pub async fn read_range(
    c: &Client,
    token: &DownloadToken,
    start: u64,
    end: Option<u64>,
    progress: &dyn Progress,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // A test resumes a handful of cuts at most; more is a bug, not bad luck.
    for _ in 0..10 {
        let from = start + out.len() as u64;
        if end.is_some_and(|e| from >= e) {
            return Ok(out);
        }
        let mut body = match c.range_get(token, from, end).await? {
            RangeAnswer::Body(b) => b,
            RangeAnswer::Cut(_) => continue,
            RangeAnswer::Refused(e) => return Err(e),
            other => panic!("unexpected answer {other:?}"),
        };
        loop {
            match body.next_chunk(progress).await {
                Ok(Some(chunk)) => out.extend_from_slice(&chunk),
                // Every byte the answer announced (to `end`, or to the file's end) is here.
                Ok(None) => return Ok(out),
                Err(_) => break,
            }
        }
    }
    panic!("the range from {start} was still cut after 10 tries");
}

/// A whole file (token, then ranged GETs) into memory.
pub async fn download(c: &Client, link: &FileLink, password: Option<Password>) -> Result<Vec<u8>> {
    let token = c
        .download_token(&DownloadTokenRequest::new(link.clone(), password))
        .await?;
    read_range(c, &token, 0, None, &NoProgress).await
}

/// Creates the scratch folder under the root.
pub async fn make_scratch(c: &Client) -> Scratch {
    let name = format!("fichier-api-suite-{}", unique());
    let created = c
        .folder_mkdir(&FolderMkdirRequest::new(&name, ROOT_FOLDER))
        .await
        .expect("mkdir scratch");
    assert_eq!(created.name, name);
    Scratch {
        folder: created.folder_id,
        dir: tempfile::tempdir().unwrap(),
    }
}

/// Deletes everything under the scratch folder, then the folder.
pub async fn cleanup(c: &Client, folder: FolderId) {
    let listing = c
        .folder_ls(&FolderLsRequest::with_files(folder))
        .await
        .expect("list scratch");
    if !listing.items.is_empty() {
        c.file_rm(&FileRmRequest::new(
            listing.items.iter().map(|f| f.link.clone()),
        ))
        .await
        .expect("rm files");
    }
    for sub in listing.sub_folders {
        Box::pin(cleanup(c, sub.id)).await;
    }
    c.folder_rm(folder).await.expect("rm scratch folder");
}

/// Writes `data` to a file in the scratch dir and uploads it.
pub async fn upload_bytes(
    c: &Client,
    s: &Scratch,
    folder: FolderId,
    name: &str,
    data: &[u8],
) -> Uploaded {
    let path = s.dir.path().join(name);
    std::fs::write(&path, data).unwrap();
    let progress = Arc::new(Counting::default());
    let up = upload_path(c, &path, name, folder, progress.clone())
        .await
        .expect("upload");
    assert_eq!(up.filename, name);
    assert_eq!(up.size, data.len() as u64);
    assert_eq!(up.whirlpool, whirlpool_hex(data));
    assert_eq!(progress.bytes.load(Ordering::Relaxed), data.len() as u64);
    assert_eq!(progress.starts.load(Ordering::Relaxed), 1);
    up
}

/// `user/info`: an account that may use the API.
pub async fn account(c: &Client) {
    let me = c.user_info().await.expect("user/info");
    assert!(!me.email.is_empty());
    assert!(me.offer.is_customer(), "{:?}", me.offer);
}

/// Upload, then info, then download (whole, to memory) with the whirlpool checked.
pub async fn round_trip(c: &Client, s: &Scratch) -> (FileLink, Vec<u8>) {
    let data = bytes(300 * 1024 + 17, 1);
    let up = upload_bytes(c, s, s.folder, "round-trip.bin", &data).await;

    let info = c.file_info(&up.link, None).await.expect("file/info");
    assert_eq!(info.filename, "round-trip.bin");
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(info.folder_id, Some(s.folder));
    assert!(same_whirlpool(
        info.checksum.as_deref().unwrap(),
        &up.whirlpool
    ));
    assert!(info.date.is_some());

    let token = c
        .download_token(&DownloadTokenRequest::new(up.link.clone(), None))
        .await
        .expect("token");
    let progress = Counting::default();
    let out = read_range(c, &token, 0, None, &progress)
        .await
        .expect("download");
    assert_eq!(out, data);
    assert_eq!(whirlpool_hex(&out), up.whirlpool);
    assert_eq!(progress.bytes.load(Ordering::Relaxed), data.len() as u64);

    (up.link, data)
}

/// Ranged reads: a middle slice, a resumed tail, and several ranges with one token.
pub async fn ranged_reads(c: &Client, link: &FileLink, data: &[u8]) {
    let token = c
        .download_token(&DownloadTokenRequest::new(link.clone(), None))
        .await
        .expect("token");
    let middle = read_range(c, &token, 1000, Some(5000), &NoProgress)
        .await
        .expect("ranged download");
    assert_eq!(middle, &data[1000..5000]);

    let mut tail = data[..7777].to_vec();
    tail.extend(
        read_range(c, &token, 7777, None, &NoProgress)
            .await
            .expect("resumed download"),
    );
    assert_eq!(tail, data);

    let mut seg = Vec::new();
    for (a, b) in [(0u64, 10u64), (10, 4096), (4096, data.len() as u64)] {
        let RangeAnswer::Body(mut body) = c.range_get(&token, a, Some(b)).await.expect("range")
        else {
            panic!("range [{a}, {b}) not served");
        };
        assert_eq!((body.start(), body.len()), (a, b - a));
        assert_eq!(body.total(), Some(data.len() as u64));
        while let Some(chunk) = body.next_chunk(&NoProgress).await.expect("chunk") {
            seg.extend_from_slice(&chunk);
        }
    }
    assert_eq!(seg, data);
}

/// Folders: mkdir, list, rename, move, remove.
pub async fn folder_lifecycle(c: &Client, s: &Scratch) {
    let a = c
        .folder_mkdir(&FolderMkdirRequest::new("a", s.folder))
        .await
        .expect("mkdir a");
    let b = c
        .folder_mkdir(&FolderMkdirRequest::new("b", s.folder))
        .await
        .expect("mkdir b");
    let listing = c
        .folder_ls(&FolderLsRequest::new(s.folder))
        .await
        .expect("folder/ls");
    let mut names: Vec<_> = listing
        .sub_folders
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    assert!(listing.sub_folders.iter().all(|f| f.create_date.is_some()));

    let renamed = c
        .folder_mv(&FolderMvRequest::rename(a.folder_id, "a2"))
        .await
        .expect("rename folder");
    assert_eq!(renamed.new_name.as_deref(), Some("a2"));
    c.folder_mv(&FolderMvRequest::move_to(a.folder_id, b.folder_id))
        .await
        .expect("move folder");
    let inside_b = c
        .folder_ls(&FolderLsRequest::new(b.folder_id))
        .await
        .expect("ls b");
    assert_eq!(inside_b.sub_folders.len(), 1);
    assert_eq!(inside_b.sub_folders[0].name, "a2");
    assert_eq!(inside_b.name, "b");

    c.folder_rm(a.folder_id).await.expect("rm a2");
    let err = c
        .folder_ls(&FolderLsRequest::new(a.folder_id))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    c.folder_rm(b.folder_id).await.expect("rm b");
}

/// Files: rename, chattr (description, password), copy, move, remove; passwords enforced.
pub async fn file_mutations(c: &Client, s: &Scratch) {
    let sub = c
        .folder_mkdir(&FolderMkdirRequest::new("sub", s.folder))
        .await
        .expect("mkdir sub");
    let up = upload_bytes(c, s, s.folder, "m.txt", b"mutations\n").await;

    let r = c
        .file_rename(&FileRenameRequest::one(up.link.clone(), "m2.txt"))
        .await
        .expect("rename");
    assert_eq!(r.urls[0].new_filename, "m2.txt");
    let same = c
        .file_rename(&FileRenameRequest::one(up.link.clone(), "m2.txt"))
        .await
        .unwrap_err();
    assert!(!same.is_retryable(), "{same}");

    let ch = FileChattrRequest {
        description: Some("desc".into()),
        ..FileChattrRequest::new([up.link.clone()])
    };
    assert_eq!(c.file_chattr(&ch).await.expect("chattr").updated, Some(1));
    let info = c.file_info(&up.link, None).await.unwrap();
    assert_eq!(info.description.as_deref(), Some("desc"));
    assert_eq!(info.filename, "m2.txt");

    let cp = c
        .file_cp(&FileCpRequest::new([up.link.clone()], sub.folder_id))
        .await
        .expect("cp");
    let copy = cp.urls[0].to_url.clone();
    assert_ne!(copy, up.link);
    assert_eq!(
        c.file_info(&copy, None).await.unwrap().folder_id,
        Some(sub.folder_id)
    );

    let mv = FileMvRequest {
        rename: Some("moved.txt".into()),
        ..FileMvRequest::new([up.link.clone()], sub.folder_id)
    };
    c.file_mv(&mv).await.expect("mv");
    let files = c.file_ls(sub.folder_id).await.expect("ls sub");
    let mut names: Vec<_> = files.items.iter().map(|f| f.filename.as_str()).collect();
    names.sort();
    assert_eq!(names, ["m2.txt", "moved.txt"]);

    // Password: missing and wrong are told apart, right one works.
    let pw = FileChattrRequest {
        pass: Some(Password::new("s3cret-pass")),
        ..FileChattrRequest::new([copy.clone()])
    };
    c.file_chattr(&pw).await.expect("set password");
    let missing = c.file_info(&copy, None).await.unwrap_err();
    assert!(
        matches!(
            missing,
            Error::NotAllowed {
                reason: NotAllowedReason::PasswordMissing,
                ..
            }
        ),
        "{missing}"
    );
    let wrong = c
        .file_info(&copy, Some(&Password::new("nope-nope")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            Error::NotAllowed {
                reason: NotAllowedReason::PasswordInvalid,
                ..
            }
        ),
        "{wrong}"
    );
    assert!(
        c.file_info(&copy, Some(&Password::new("s3cret-pass")))
            .await
            .unwrap()
            .password
    );
    let wrong_dl = download(c, &copy, Some(Password::new("nope-nope")))
        .await
        .unwrap_err();
    assert_eq!(wrong_dl.kind(), ErrorKind::NotAllowed, "{wrong_dl}");

    let rm = c
        .file_rm(&FileRmRequest::new([copy.clone()]))
        .await
        .expect("rm");
    assert_eq!(rm.removed, Some(1));
    let gone = c.file_info(&copy, None).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

/// Two uploads with one name in one folder: both kept, distinct links.
pub async fn duplicate_names(c: &Client, s: &Scratch) {
    let sub = c
        .folder_mkdir(&FolderMkdirRequest::new("dups", s.folder))
        .await
        .expect("mkdir");
    let a = upload_bytes(c, s, sub.folder_id, "same.txt", b"first\n").await;
    let b = upload_bytes(c, s, sub.folder_id, "same.txt", b"second!\n").await;
    assert_ne!(a.link, b.link);
    let list = c.file_ls(sub.folder_id).await.expect("ls");
    assert_eq!(
        list.items
            .iter()
            .filter(|f| f.filename == "same.txt")
            .count(),
        2
    );
}

/// A link that does not exist: not found, not retryable, code kept.
pub async fn missing_file(c: &Client) {
    let link = FileLink::parse("https://1fichier.com/?zzzzzzzzzz0000000000").unwrap();
    let err = c.file_info(&link, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!err.is_retryable());
    assert!(err.message().is_some());
}

/// Public share of a folder, listed through the website JSON.
pub async fn public_share(c: &Client, s: &Scratch) {
    let sub = c
        .folder_mkdir(&FolderMkdirRequest::new("shared", s.folder))
        .await
        .expect("mkdir");
    upload_bytes(c, s, sub.folder_id, "pub.txt", b"public\n").await;
    let shared = c
        .folder_share(&FolderShareRequest {
            public: Some(true),
            ..FolderShareRequest::new(sub.folder_id)
        })
        .await
        .expect("share");
    let url = shared.url.expect("share url");
    let files = c
        .shared_folder_ls(&url, None)
        .await
        .expect("shared listing");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, "pub.txt");
    assert_eq!(files[0].size, 7);
    let listing = c
        .folder_ls(&FolderLsRequest::new(sub.folder_id))
        .await
        .unwrap();
    assert!(listing.shared.is_some());
    c.folder_share(&FolderShareRequest {
        public: Some(false),
        ..FolderShareRequest::new(sub.folder_id)
    })
    .await
    .expect("unshare");
}

/// Upload node selection.
pub async fn upload_server(c: &Client) {
    let s = c.upload_server().await.expect("get_upload_server");
    assert!(!s.host.is_empty());
    assert!(!s.id.is_empty());
}

/// Remote-upload job listing.
pub async fn remote_jobs_list(c: &Client) {
    c.remote_ls().await.expect("remote/ls");
}
