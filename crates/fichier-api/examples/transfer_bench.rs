//! Upload and download throughput of the library against a local emulator, beside `curl`
//! doing the same download from the same token URL. Prints numbers; asserts nothing.
//!
//! Usage: `cargo run --release -p fichier-api --example transfer_bench [SIZE_MIB]` (default
//! 256). Loopback only; the file lives in a temp dir.

use std::sync::Arc;
use std::time::Instant;

use fichier_api::*;
use fichier_testkit::TestEmu;

#[tokio::main]
async fn main() {
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let t = TestEmu::start().await;
    let c = Client::builder()
        .api_url(t.api_url())
        .api_key(ApiKey::parse(t.key()).expect("generated key"))
        .pacer_config(PacerConfig::unthrottled())
        .build()
        .expect("client");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let mut x = 0x2545F4914F6CDD1Du64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for b in block.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            f.write_all(&block).expect("write");
        }
    }
    let rate = |secs: f64| mib as f64 / secs;

    let t0 = Instant::now();
    let up = c
        .upload_file(
            &UploadRequest::new(&path, ROOT_FOLDER),
            Arc::new(NoProgress),
        )
        .await
        .expect("upload");
    let up_s = t0.elapsed().as_secs_f64();

    let dest = dir.path().join("down.bin");
    let t0 = Instant::now();
    let mut file = tokio::fs::File::create(&dest).await.expect("create");
    let got = c
        .download_to(
            &DownloadRequest::new(up.link.clone()),
            &mut file,
            &NoProgress,
        )
        .await
        .expect("download");
    let down_s = t0.elapsed().as_secs_f64();
    assert_eq!(got.whirlpool.as_deref(), Some(up.whirlpool.as_str()));

    let token = c
        .download_token(&DownloadTokenRequest::new(up.link.clone(), None))
        .await
        .expect("token");
    let t0 = Instant::now();
    let mut sink = tokio::io::sink();
    c.download_range(&token, 0, None, &mut sink, &NoProgress)
        .await
        .expect("range");
    let raw_s = t0.elapsed().as_secs_f64();
    let token = c
        .download_token(&DownloadTokenRequest::new(up.link.clone(), None))
        .await
        .expect("token");
    let t0 = Instant::now();
    let status = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--noproxy",
            "*",
            token.expose_url(),
        ])
        .status();
    let curl_s = t0.elapsed().as_secs_f64();

    println!(
        "size: {mib} MiB, loopback emulator, load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "upload_file (with whirlpool + verify)  {up_s:7.2}s  {:7.1} MiB/s",
        rate(up_s)
    );
    println!(
        "download_to file (with whirlpool)      {down_s:7.2}s  {:7.1} MiB/s",
        rate(down_s)
    );
    println!(
        "download_range to a sink (no hash)     {raw_s:7.2}s  {:7.1} MiB/s",
        rate(raw_s)
    );
    match status {
        Ok(s) if s.success() => println!(
            "curl -o /dev/null (same emulator)      {curl_s:7.2}s  {:7.1} MiB/s  (curl time / download_range time {:.2})",
            rate(curl_s),
            curl_s / raw_s
        ),
        _ => println!("curl not available"),
    }
}
