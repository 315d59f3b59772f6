//! bbsdk: build small Linux root filesystems and container images from source.
pub mod build;
pub mod cli;
pub mod defconfig;
pub mod fetch;
pub mod kconfig;
pub mod package;
pub mod plan;
pub mod target;
