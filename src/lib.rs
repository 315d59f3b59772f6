//! bbsdk: build small Linux root filesystems and container images from source.
pub mod cli;
pub mod defconfig;
pub mod kconfig;
pub mod tui;
