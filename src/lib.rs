//! bbsdk: build small Linux root filesystems and container images from source.
pub mod fetch;
pub mod kconfig;
