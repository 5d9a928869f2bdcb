//! Behaviour on a terminal: colour only there and never with NO_COLOR; `rm` asks first.
//! (The hidden key prompt is not driven here: input typed ahead of the prompt would be echoed
//! by the terminal before the prompt turns echo off, which is how terminals work.)

use crate::harness::Env;

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let mut env = Env::logged_in();
    env.run(&["mkdir", "/Blue"]).ok();
    // Piped: never colour, even without NO_COLOR.
    env.env.push(("NO_COLOR".into(), String::new()));
    assert!(!env.run(&["ls"]).ok().contains('\x1b'));
    let out = env.run_pty(&["ls"], "");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("\x1b[1;34mBlue/"), "{:?}", out.stdout);
    env.env.push(("NO_COLOR".into(), "1".into()));
    let out = env.run_pty(&["ls"], "");
    assert!(!out.stdout.contains('\x1b'), "{:?}", out.stdout);
}

#[test]
fn rm_asks_on_a_terminal() {
    let env = Env::logged_in();
    env.upload("keep.txt", b"k", 0);
    let out = env.run_pty(&["rm", "/keep.txt"], "n\n");
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("Delete 1 file(s) and 0 folder(s)?"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("nothing was deleted"), "{}", out.stdout);
    env.run(&["info", "/keep.txt"]).ok();
    let out = env.run_pty(&["rm", "/keep.txt"], "y\n");
    assert_eq!(out.code, 0, "{}", out.stdout);
    env.run(&["info", "/keep.txt"]).code(2);
    // --force never asks.
    env.upload("gone.txt", b"g", 0);
    let out = env.run_pty(&["rm", "-f", "/gone.txt"], "");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains("[y/N]"), "{}", out.stdout);
}
