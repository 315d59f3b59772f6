//! The GNU make jobserver shared by the executor and every sub-make.
//!
//! The executor creates a jobserver with `jobs` tokens. Starting a package
//! build takes one token, held until the package is done; the build's
//! commands get the jobserver through `MAKEFLAGS` (and inherited pipe file
//! descriptors), so a `make` inside uses its implicit slot (the package's
//! token) and takes further tokens from the same pool. At most `jobs`
//! compilers and package builds run at once, whatever mix of parallel
//! packages and parallel makes it comes from.

use std::io;
use std::process::Command;

/// A token: one running package build. Released when dropped.
pub(crate) type Token = jobserver::Acquired;

pub(crate) struct Jobs {
    client: jobserver::Client,
}

impl Jobs {
    pub(crate) fn new(jobs: usize) -> io::Result<Jobs> {
        Ok(Jobs {
            client: jobserver::Client::new(jobs.max(1))?,
        })
    }

    /// Waits for a free token.
    pub(crate) fn acquire(&self) -> io::Result<Token> {
        self.client.acquire()
    }

    /// Gives a command the jobserver: sets `MAKEFLAGS`/`MFLAGS` and lets the
    /// child inherit the pipe. Call after `env_clear`.
    pub(crate) fn configure(&self, cmd: &mut Command) {
        self.client.configure_make(cmd);
    }
}
