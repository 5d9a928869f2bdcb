//! `fichier man`: the man page (roff), generated from the clap definitions.

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::error::Exit;

/// Prints `fichier.1` on stdout, with one section per subcommand appended.
pub fn run() -> Exit {
    let cmd = Cli::command();
    let mut out = Vec::new();
    if clap_mangen::Man::new(cmd.clone()).render(&mut out).is_err() {
        crate::printer::write_stderr(&crate::printer::tagged(
            crate::printer::Tag::Error,
            "cannot render the man page",
            false,
        ));
        return Exit::Fatal;
    }
    // The top-level page lists subcommands; append each one's options so `man fichier` is
    // complete without one page per subcommand.
    for sub in cmd.get_subcommands() {
        let name = format!("fichier {}", sub.get_name());
        // clap wants a static name; the process ends right after printing.
        let sub = sub.clone().name(&*Box::leak(name.clone().into_boxed_str()));
        let _ = writeln!(out, ".SH \"{}\"", name.to_uppercase());
        let mut section = Vec::new();
        let man = clap_mangen::Man::new(sub.clone());
        let _ = man.render_description_section(&mut section);
        let _ = man.render_options_section(&mut section);
        if sub.has_subcommands() {
            let _ = man.render_subcommands_section(&mut section);
        }
        // Demote the sub-page's sections to sub-sections.
        let text = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
        out.extend_from_slice(text.as_bytes());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out) {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(_) => Exit::Fatal,
    }
}
