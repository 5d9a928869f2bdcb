//! The key (and passwords, and token URLs) never show in the `Debug`/`Display` of a client,
//! a builder, a pacer, an error, or any request type.

use std::sync::Arc;

use fichier_api::*;

/// A generated fake key, the same for the whole test binary.
fn canary() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(fichier_testkit::fake_key)
}
const PASS: &str = "canary-password-123";

fn key() -> ApiKey {
    ApiKey::parse(canary()).unwrap()
}

fn link() -> FileLink {
    FileLink::parse("https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab").unwrap()
}

fn assert_clean(what: &str, text: String) {
    assert!(!text.contains(canary()), "{what} shows the key: {text}");
    assert!(!text.contains(PASS), "{what} shows a password: {text}");
    assert!(
        !text.contains("p8123456789"),
        "{what} shows a download token: {text}"
    );
}

#[tokio::test]
async fn debug_never_contains_secrets() {
    let builder = Client::builder()
        .api_key(key())
        .api_url("http://127.0.0.1:9/v1/");
    assert_clean("ClientBuilder", format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_clean("Client", format!("{client:?}"));
    assert_clean("Client (pretty)", format!("{client:#?}"));
    assert_clean("Pacer", format!("{:?}", client.pacer()));
    assert_clean("ApiKey", format!("{:?} {}", key(), key()));
    let pass = || Some(Password::new(PASS));

    let settings = UserSettings {
        use_cdn: Some(true),
        ..Default::default()
    };
    let requests: Vec<(&str, String)> = vec![
        ("UserSettings", format!("{settings:?}")),
        (
            "DownloadTokenRequest",
            format!("{:?}", DownloadTokenRequest::new(link(), pass())),
        ),
        (
            "FileLsRequest",
            format!(
                "{:?}",
                FileLsRequest {
                    sharing_user: Some("a@example.com".into()),
                    ..FileLsRequest::folder(3)
                }
            ),
        ),
        (
            "FileInfoRequest",
            format!("{:?}", FileInfoRequest::new(link(), pass())),
        ),
        (
            "FileRmRequest",
            format!(
                "{:?}",
                FileRmRequest {
                    files: vec![FileToRemove {
                        url: link(),
                        code: pass()
                    }]
                }
            ),
        ),
        (
            "FileMvRequest",
            format!("{:?}", FileMvRequest::new([link()], 5)),
        ),
        (
            "FileCpRequest",
            format!(
                "{:?}",
                FileCpRequest {
                    pass: pass(),
                    ..FileCpRequest::new([link()], 5)
                }
            ),
        ),
        (
            "FileRenameRequest",
            format!("{:?}", FileRenameRequest::one(link(), "x")),
        ),
        (
            "FileChattrRequest",
            format!(
                "{:?}",
                FileChattrRequest {
                    pass: pass(),
                    ..FileChattrRequest::new([link()])
                }
            ),
        ),
        (
            "FolderLsRequest",
            format!("{:?}", FolderLsRequest::with_files(3)),
        ),
        (
            "FolderMkdirRequest",
            format!("{:?}", FolderMkdirRequest::new("n", 0)),
        ),
        (
            "FolderMvRequest",
            format!("{:?}", FolderMvRequest::rename(3, "n")),
        ),
        (
            "FolderShareRequest",
            format!(
                "{:?}",
                FolderShareRequest {
                    pass: pass(),
                    ..FolderShareRequest::new(3)
                }
            ),
        ),
        (
            "RemoteRequest",
            format!(
                "{:?}",
                RemoteRequest::new(["https://example.com/a".to_owned()], 0)
            ),
        ),
        (
            "FtpUserAddRequest",
            format!(
                "{:?}",
                FtpUserAddRequest::new("cam", Password::new(PASS), None)
            ),
        ),
        (
            "NodeFields",
            format!("{:?}", {
                let mut fields = NodeFields::new(0);
                fields.password = pass();
                fields
            }),
        ),
        (
            "DownloadToken",
            format!(
                "{:?} {}",
                DownloadToken::new("https://a-7.1fichier.com/p8123456789"),
                DownloadToken::new("https://a-7.1fichier.com/p8123456789")
            ),
        ),
    ];
    for (what, text) in requests {
        assert_clean(what, text);
    }

    // A call that fails (a port held closed): the error names the call, not secrets.
    let closed = fichier_testkit::ClosedPort::new();
    let client = Client::builder()
        .api_key(key())
        .api_url(closed.api_url())
        .pacer_config(PacerConfig::unthrottled())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.user_info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_clean("Error", format!("{err:?} {err}"));
    let _ = Arc::new(NoProgress);
}
