//! Prints the whirlpool of a file the way the library computes it (used by
//! `bench/whirlpool.sh` to compare with `rhash --whirlpool`).
//!
//! Usage: `whirlpool [--pipe] FILE`. `--pipe` hashes through `HashPipe` fed from async reads
//! (hashing on its own thread) instead of `whirlpool_file`.

use std::time::Instant;

use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (pipe, path) = match args.as_slice() {
        [flag, path] if flag == "--pipe" => (true, path.clone()),
        [path] => (false, path.clone()),
        _ => {
            eprintln!("usage: whirlpool [--pipe] FILE");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let hex = if pipe {
        let mut f = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {path}: {e}");
                std::process::exit(1);
            }
        };
        let hasher = fichier_api::HashPipe::start();
        loop {
            let mut buf = bytes::BytesMut::with_capacity(512 * 1024);
            match f.read_buf(&mut buf).await {
                Ok(0) => break,
                Ok(_) => hasher.feed(buf.freeze()).await,
                Err(e) => {
                    eprintln!("error: {path}: {e}");
                    std::process::exit(1);
                }
            }
        }
        hasher.finish().await
    } else {
        fichier_api::whirlpool_file(&path).await
    };
    match hex {
        Ok(h) => {
            let secs = start.elapsed().as_secs_f64();
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            println!("{h}  {path}");
            eprintln!("{:.1} MiB/s", len as f64 / 1048576.0 / secs.max(1e-9));
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
