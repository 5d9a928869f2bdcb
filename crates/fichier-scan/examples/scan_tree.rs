//! Benchmark and demo driver: scans paths (or a repository's history) and prints findings,
//! a summary and the elapsed time on stderr. Used by `bench/scan-throughput.sh`.
//!
//! Usage: `scan_tree [--strict] [--json|--sarif] [--git|--staged] PATH...`

use std::time::Instant;

use fichier_scan::{ScanOptions, Scanner, render_json, render_sarif, render_summary, render_text};

fn main() {
    let mut strict = false;
    let mut format = "text";
    let mut mode = "paths";
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--strict" => strict = true,
            "--json" => format = "json",
            "--sarif" => format = "sarif",
            "--git" => mode = "git",
            "--staged" => mode = "staged",
            _ => paths.push(arg),
        }
    }
    if paths.is_empty() {
        paths.push(".".to_owned());
    }
    let scanner = Scanner::new(ScanOptions {
        strict,
        ..ScanOptions::default()
    });
    let started = Instant::now();
    let result = match mode {
        "git" => scanner.scan_git_history(paths[0].as_ref()),
        "staged" => scanner.scan_staged(paths[0].as_ref()),
        _ => scanner.scan_paths(&paths),
    };
    let elapsed = started.elapsed();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(i32::from(fichier_scan::EXIT_ERROR));
        }
    };
    match format {
        "json" => println!("{}", render_json(&report)),
        "sarif" => println!("{}", render_sarif(&report, env!("CARGO_PKG_VERSION"))),
        _ => print!("{}", render_text(&report)),
    }
    eprintln!("{}", render_summary(&report));
    let mib = report.stats.bytes as f64 / (1024.0 * 1024.0);
    eprintln!(
        "scanned {} inputs, {mib:.1} MiB in {:.3} s ({:.0} MiB/s); skipped {} binary, {} large",
        report.stats.scanned,
        elapsed.as_secs_f64(),
        mib / elapsed.as_secs_f64().max(1e-9),
        report.stats.skipped_binary,
        report.stats.skipped_large
    );
    std::process::exit(i32::from(report.exit_code()));
}
