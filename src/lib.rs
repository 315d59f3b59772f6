//! bbsdk: build small Linux root filesystems and container images from source.
pub mod build;
pub mod cli;
pub mod defconfig;
pub mod fetch;
pub mod image;
pub mod info;
pub mod kconfig;
pub mod legal;
pub mod make;
pub mod memo;
pub mod package;
pub mod plan;
pub mod project;
pub mod rootfs;
pub mod target;
pub mod toolchain;
pub mod tui;
