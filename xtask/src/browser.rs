//! `cargo xtask browser setup`: installs Chromium from Debian's packages for the HTML report's
//! screenshot test. Nothing happens when a Chromium is already on PATH.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

/// The executables the screenshot test looks for, in its order.
const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("setup") => setup(sh),
        _ => bail!("usage: cargo xtask browser setup"),
    }
}

pub(crate) fn setup(sh: &Shell) -> Result<()> {
    if let Some(found) =
        BROWSERS.iter().find(|name| cmd!(sh, "which {name}").quiet().ignore_stdout().run().is_ok())
    {
        eprintln!("{found} is already installed");
        return Ok(());
    }
    if cmd!(sh, "which apt-get").quiet().ignore_stdout().run().is_err() {
        bail!("Chromium is not installed and this machine has no apt-get: install Chromium by hand");
    }
    let is_root = cmd!(sh, "id -u").quiet().read().is_ok_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let command =
            if is_root { cmd!(sh, "apt-get {args...}") } else { cmd!(sh, "sudo -n apt-get {args...}") };
        command.env("DEBIAN_FRONTEND", "noninteractive").run()
    };
    let install = ["install", "-y", "--no-install-recommends", "chromium"];
    if apt(&install).is_err() {
        // A fresh machine may have no package lists yet.
        apt(&["update"])?;
        apt(&install)?;
    }
    Ok(())
}
