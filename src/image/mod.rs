//! Image writers. Each reads a [`crate::rootfs::Manifest`] and nothing else:
//! never the build tree, never the target directory directly.

pub mod inputs;
pub mod tar;
