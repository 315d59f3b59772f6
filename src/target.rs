//! The target machine: architecture and C library, and the names other tools
//! use for them (GNU tuple, OCI platform, qemu-user name).

use std::collections::BTreeMap;

/// A CPU architecture bbsdk builds for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Arch {
    X86_64,
    Aarch64,
    Armv7,
}

/// A C library.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Libc {
    Glibc,
    Musl,
}

/// Where the built code runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub arch: Arch,
    pub libc: Libc,
    /// ARM float ABI: true for hard-float (`gnueabihf`/`musleabihf`).
    pub hard_float: bool,
}

impl Target {
    /// The target a configuration describes (`BBSDK_ARCH_*`, `BBSDK_LIBC_*`).
    pub fn from_values(values: &BTreeMap<String, String>) -> Result<Target, String> {
        let on = |k: &str| values.get(k).is_some_and(|v| v == "y");
        let arch = if on("BBSDK_ARCH_X86_64") {
            Arch::X86_64
        } else if on("BBSDK_ARCH_AARCH64") {
            Arch::Aarch64
        } else if on("BBSDK_ARCH_ARMV7") {
            Arch::Armv7
        } else {
            return Err("the configuration selects no architecture (BBSDK_ARCH_*)\n  hint: load a defconfig or pick one in `bbsdk menuconfig`".into());
        };
        let libc = if on("BBSDK_LIBC_MUSL") {
            Libc::Musl
        } else if on("BBSDK_LIBC_GLIBC") {
            Libc::Glibc
        } else {
            return Err("the configuration selects no C library (BBSDK_LIBC_*)".into());
        };
        let hard_float = !on("BBSDK_ARMV7_SOFTFP");
        Ok(Target {
            arch,
            libc,
            hard_float,
        })
    }

    /// The CPU part of the GNU tuple.
    pub fn gnu_cpu(&self) -> &'static str {
        match self.arch {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Armv7 => "arm",
        }
    }

    /// The ABI part of the GNU tuple.
    pub fn gnu_abi(&self) -> &'static str {
        match (self.arch, self.libc, self.hard_float) {
            (Arch::Armv7, Libc::Glibc, true) => "gnueabihf",
            (Arch::Armv7, Libc::Glibc, false) => "gnueabi",
            (Arch::Armv7, Libc::Musl, true) => "musleabihf",
            (Arch::Armv7, Libc::Musl, false) => "musleabi",
            (_, Libc::Glibc, _) => "gnu",
            (_, Libc::Musl, _) => "musl",
        }
    }

    /// bbsdk's own GNU tuple, e.g. `aarch64-bbsdk-linux-musl`.
    pub fn gnu_tuple(&self) -> String {
        format!("{}-bbsdk-linux-{}", self.gnu_cpu(), self.gnu_abi())
    }

    /// OCI `architecture` and `variant`.
    pub fn oci_platform(&self) -> (&'static str, Option<&'static str>) {
        match self.arch {
            Arch::X86_64 => ("amd64", None),
            Arch::Aarch64 => ("arm64", Some("v8")),
            Arch::Armv7 => ("arm", Some("v7")),
        }
    }

    /// The qemu-user name (`qemu-<name>-static`).
    pub fn qemu(&self) -> &'static str {
        match self.arch {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Armv7 => "arm",
        }
    }

    /// A short stable name, e.g. `aarch64-musl`.
    pub fn name(&self) -> String {
        let arch = match self.arch {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Armv7 => "armv7",
        };
        let libc = match self.libc {
            Libc::Glibc => "glibc",
            Libc::Musl => "musl",
        };
        format!("{arch}-{libc}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_for_each_target() {
        let t = Target::from_values(&values(&[
            ("BBSDK_ARCH_ARMV7", "y"),
            ("BBSDK_LIBC_GLIBC", "y"),
        ]))
        .unwrap();
        assert_eq!(t.gnu_tuple(), "arm-bbsdk-linux-gnueabihf");
        assert_eq!(t.oci_platform(), ("arm", Some("v7")));
        assert_eq!(t.qemu(), "arm");
        let t = Target::from_values(&values(&[
            ("BBSDK_ARCH_AARCH64", "y"),
            ("BBSDK_LIBC_MUSL", "y"),
        ]))
        .unwrap();
        assert_eq!(t.gnu_tuple(), "aarch64-bbsdk-linux-musl");
        assert_eq!(t.oci_platform(), ("arm64", Some("v8")));
        assert_eq!(t.name(), "aarch64-musl");
        let t = Target::from_values(&values(&[
            ("BBSDK_ARCH_X86_64", "y"),
            ("BBSDK_LIBC_MUSL", "y"),
        ]))
        .unwrap();
        assert_eq!(t.gnu_tuple(), "x86_64-bbsdk-linux-musl");
        assert_eq!(t.oci_platform(), ("amd64", None));
        assert!(Target::from_values(&values(&[])).is_err());
    }
}
