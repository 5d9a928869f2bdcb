//! Throughput of the two transfer primitives (`upload_to_node`, `range_get`) against a local
//! emulator, beside `curl` doing the same download from the same token URL. Prints numbers;
//! asserts only that the bytes arrived. Whole-file verified transfers are the engine's
//! (`bench/transfer.sh`).
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
    let len = std::fs::metadata(&path).expect("bench file").len();
    let file = NodeFile {
        path: path.clone(),
        name: "bench.bin".into(),
        len,
    };
    let sent = c
        .upload_to_node(&NodeFields::new(ROOT_FOLDER), &[file], Arc::new(NoProgress))
        .await
        .expect("upload");
    let up_s = t0.elapsed().as_secs_f64();
    let NodeAnswer::Report(report) = sent.answer else {
        panic!("upload failed: {:?}", sent.answer);
    };
    let link = report.links[0].download.clone();
    assert_eq!(
        sent.parts[0].whirlpool.as_deref(),
        Some(report.links[0].whirlpool.as_str())
    );

    let token = c
        .download_token(&DownloadTokenRequest::new(link.clone(), None))
        .await
        .expect("token");
    let t0 = Instant::now();
    let RangeAnswer::Body(mut body) = c.range_get(&token, 0, None).await.expect("range") else {
        panic!("no body");
    };
    let mut got = 0u64;
    while let Some(chunk) = body.next_chunk(&NoProgress).await.expect("chunk") {
        got += chunk.len() as u64;
    }
    assert_eq!(got, len);
    let raw_s = t0.elapsed().as_secs_f64();
    let token = c
        .download_token(&DownloadTokenRequest::new(link.clone(), None))
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
        "upload_to_node (with whirlpool)        {up_s:7.2}s  {:7.1} MiB/s",
        rate(up_s)
    );
    println!(
        "range_get, bytes dropped (no hash)     {raw_s:7.2}s  {:7.1} MiB/s",
        rate(raw_s)
    );
    match status {
        Ok(s) if s.success() => println!(
            "curl -o /dev/null (same emulator)      {curl_s:7.2}s  {:7.1} MiB/s  (curl time / range_get time {:.2})",
            rate(curl_s),
            curl_s / raw_s
        ),
        _ => println!("curl not available"),
    }
}
