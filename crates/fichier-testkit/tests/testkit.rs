//! The test kit itself: a started emulator answers with the provisioned key, the fixtures are
//! found, and the static server serves its bytes.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn test_emu_fixtures_and_static_server() {
    let t = fichier_testkit::TestEmu::start().await;
    assert_eq!(t.key().len(), 32);
    assert!(t.api_url().starts_with("http://127.0.0.1:") && t.api_url().ends_with("/v1/"));
    let body = "{}";
    let mut s = tokio::net::TcpStream::connect(t.emu.addr()).await.unwrap();
    let req = format!(
        "POST /v1/user/info.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        t.key(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"email\":\"owner@example.com\""));

    let k = fichier_testkit::fake_key();
    assert!(k.len() == 32 && k.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(
        fichier_testkit::fixtures_dir()
            .join("file_ls.json")
            .is_file()
    );

    let (url, guard) = fichier_testkit::serve_static(b"static bytes".to_vec()).await;
    assert!(url.starts_with("http://127.0.0.1:"));
    let out = get(guard.addr, "/file.bin", "").await;
    assert!(
        out.starts_with("HTTP/1.1 200") && out.ends_with("static bytes"),
        "{out}"
    );
    assert!(
        get(guard.addr, "/missing", "")
            .await
            .starts_with("HTTP/1.1 404")
    );

    let custom = fichier_testkit::TestEmu::start_with(|c| {
        c.limits(fichier_testkit::Limits::scaled());
    })
    .await;
    assert_ne!(custom.emu.addr(), t.emu.addr());
}
