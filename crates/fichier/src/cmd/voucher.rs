//! `fichier voucher ls | check CODE | use CODE --to EMAIL`: vouchers (prepaid offers that
//! resellers own and credit to accounts).
//!
//! A code is worth money to whoever holds it: `voucher ls` shows the codes (it is how a
//! reseller gets them to hand out), and `check`/`use` accept `-` to read the code from
//! standard input so it stays out of shell history and `ps`.

use std::io::BufRead as _;

use serde::Serialize;

use crate::cli::{VoucherCheckArgs, VoucherCommand, VoucherUseArgs};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::printer::{Align, Style};

/// Runs a `voucher` subcommand.
pub async fn run(ctx: &mut Context, cmd: VoucherCommand) -> anyhow::Result<Exit> {
    match cmd {
        VoucherCommand::Ls => ls(ctx).await,
        VoucherCommand::Check(a) => check(ctx, a).await,
        VoucherCommand::Use(a) => use_voucher(ctx, a).await,
    }
}

/// JSON of `voucher ls`.
#[derive(Serialize)]
struct VouchersJson {
    vouchers: Vec<VoucherJson>,
}

/// JSON of `voucher use`.
#[derive(Serialize)]
struct UsedJson {
    /// Always true: a refused voucher is an error, never a document.
    used: bool,
    user_email: String,
}

/// One voucher in `voucher ls --json`.
#[derive(Serialize)]
struct VoucherJson {
    voucher: String,
    service: String,
}

async fn ls(ctx: &mut Context) -> anyhow::Result<Exit> {
    let vouchers = ctx.client().await?.vouchers_ls().await?;
    if ctx.printer.json_mode() {
        let list: Vec<VoucherJson> = vouchers
            .into_iter()
            .map(|v| VoucherJson {
                voucher: v.voucher,
                service: v.service,
            })
            .collect();
        ctx.printer.json(&VouchersJson { vouchers: list });
        return Ok(Exit::Ok);
    }
    if vouchers.is_empty() {
        ctx.printer.status("No unused vouchers.");
        return Ok(Exit::Ok);
    }
    let mut rows = vec![vec![
        ("VOUCHER".to_owned(), Style::Bold),
        ("SERVICE".to_owned(), Style::Bold),
    ]];
    for v in &vouchers {
        rows.push(vec![
            (v.voucher.clone(), Style::Plain),
            (v.service.clone(), Style::Plain),
        ]);
    }
    ctx.printer.table(&[Align::Left, Align::Left], &rows);
    Ok(Exit::Ok)
}

/// The code as given (`-`: the first line of stdin), checked for its shape.
fn read_code(raw: &str) -> anyhow::Result<String> {
    let code = if raw == "-" {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Failure::fatal("cannot read the voucher from standard input").with_cause(e.to_string())
        })?;
        line.trim().to_owned()
    } else {
        raw.trim().to_owned()
    };
    if code.is_empty() {
        return Err(Failure::usage("the voucher code is empty")
            .with_hint("give the code, or `-` to read it from standard input")
            .into());
    }
    let ok = code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-=".contains(&b));
    if !ok {
        return Err(Failure::usage(
            "the voucher code has characters a voucher cannot have (letters and digits only)",
        )
        .with_hint("copy the code again (32 letters and digits)")
        .into());
    }
    Ok(code)
}

/// JSON of `voucher check`.
#[derive(Serialize)]
struct CheckJson {
    valid: bool,
    service: Option<String>,
}

async fn check(ctx: &mut Context, args: VoucherCheckArgs) -> anyhow::Result<Exit> {
    let code = read_code(&args.voucher)?;
    let answer = ctx.client().await?.vouchers_check(&code).await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&CheckJson {
            valid: answer.valid,
            service: answer.service.clone(),
        });
    } else if answer.valid {
        ctx.printer.line(&format!(
            "valid{}",
            answer
                .service
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ));
    } else {
        ctx.printer.line("not valid");
        ctx.printer
            .status("The voucher is unknown or was already used.");
    }
    // Like `test`: scripts branch on the exit code.
    Ok(if answer.valid {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

async fn use_voucher(ctx: &mut Context, args: VoucherUseArgs) -> anyhow::Result<Exit> {
    let email = args.to.trim();
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(
            Failure::usage(format!("`{email}` is not an e-mail address"))
                .with_hint("give the e-mail address of the 1fichier account to credit")
                .into(),
        );
    }
    let code = read_code(&args.voucher)?;
    let client = ctx.client().await?;
    // Checked first: a read that proves the key works (so a refusal of `use` naming "no such
    // user" is about the address, not the key) and stops an unknown or used code early.
    if !client.vouchers_check(&code).await?.valid {
        return Err(Failure::usage("the voucher is unknown or was already used")
            .with_hint("check the code (`fichier voucher check CODE`); nothing was credited")
            .into());
    }
    match client.vouchers_use(&code, email).await {
        Ok(_) => {}
        Err(fichier_api::Error::BadKey { .. }) => {
            return Err(Failure::usage(format!(
                "1fichier knows no account with the address {email}"
            ))
            .with_hint("check the address; nothing was credited")
            .into());
        }
        Err(e) => return Err(e.into()),
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&UsedJson {
            used: true,
            user_email: email.to_string(),
        });
    } else {
        ctx.printer
            .status(&format!("Credited the voucher to {email}."));
    }
    Ok(Exit::Ok)
}
