//! Asks a compiler what it really produces: it compiles and links a test
//! program, then reads the ELF header (machine, class, float ABI) and the
//! program interpreter (which names the C library).

use std::path::Path;
use std::process::Command;

use crate::target::{Arch, Libc};

/// What a compiler produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub arch: Arch,
    pub libc: Libc,
    /// ARM only: EABI hard-float flag set in the ELF header.
    pub hard_float: bool,
    /// `cc -dumpversion`.
    pub version: String,
    /// `cc -dumpmachine`.
    pub machine: String,
}

const TEST_PROGRAM: &str = "#include <stdio.h>\nint main(void) { puts(\"bbsdk\"); return 0; }\n";

/// Compiles and links the test program with `cc` and `flags` in `work`.
pub fn probe(cc: &Path, flags: &[String], work: &Path) -> Result<Probe, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let src = work.join("probe.c");
    let out = work.join("probe");
    std::fs::write(&src, TEST_PROGRAM).map_err(|e| format!("{}: {e}", src.display()))?;
    let res = Command::new(cc)
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cc.display()))?;
    if !res.status.success() {
        return Err(format!(
            "{} cannot build a test program:\n{}",
            cc.display(),
            String::from_utf8_lossy(&res.stderr).trim_end()
        ));
    }
    let bytes = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let elf = parse_elf(&bytes).ok_or_else(|| format!("{}: not an ELF file", out.display()))?;
    let ask = |arg: &str| {
        Command::new(cc)
            .args(flags)
            .arg(arg)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    Ok(Probe {
        arch: elf.arch,
        libc: elf.libc,
        hard_float: elf.hard_float,
        version: ask("-dumpversion"),
        machine: ask("-dumpmachine"),
    })
}

struct Elf {
    arch: Arch,
    libc: Libc,
    hard_float: bool,
}

fn parse_elf(b: &[u8]) -> Option<Elf> {
    if b.len() < 52 || &b[0..4] != b"\x7fELF" {
        return None;
    }
    let class64 = b[4] == 2;
    let le = b[5] == 1;
    let u16_at = |o: usize| -> Option<u16> {
        let s: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let u64_at = |o: usize| -> Option<u64> {
        let s: [u8; 8] = b.get(o..o + 8)?.try_into().ok()?;
        Some(if le {
            u64::from_le_bytes(s)
        } else {
            u64::from_be_bytes(s)
        })
    };
    let arch = match (u16_at(18)?, class64) {
        (62, true) => Arch::X86_64,
        (183, true) => Arch::Aarch64,
        (40, false) => Arch::Armv7,
        _ => return None,
    };
    let (flags, phoff, phentsize, phnum) = if class64 {
        (
            u32_at(48)?,
            u64_at(32)? as usize,
            u16_at(54)? as usize,
            u16_at(56)? as usize,
        )
    } else {
        (
            u32_at(36)?,
            u32_at(28)? as usize,
            u16_at(42)? as usize,
            u16_at(44)? as usize,
        )
    };
    // EF_ARM_ABI_FLOAT_HARD
    let hard_float = arch == Arch::Armv7 && flags & 0x400 != 0;
    // PT_INTERP names the dynamic loader: ld-musl-* or ld-linux-*. A static
    // binary has none; then look for musl's or glibc's marks in the binary.
    let mut interp: Option<String> = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(ph)? == 3 {
            let (off, size) = if class64 {
                (u64_at(ph + 8)? as usize, u64_at(ph + 32)? as usize)
            } else {
                (u32_at(ph + 4)? as usize, u32_at(ph + 16)? as usize)
            };
            let s = b.get(off..off + size)?;
            interp = Some(
                String::from_utf8_lossy(s)
                    .trim_end_matches('\0')
                    .to_string(),
            );
        }
    }
    let libc = match interp {
        Some(i) if i.contains("ld-musl") => Libc::Musl,
        Some(_) => Libc::Glibc,
        None => {
            if memchr::memmem::find(b, b"GLIBC_").is_some()
                || memchr::memmem::find(b, b"glibc").is_some()
            {
                Libc::Glibc
            } else {
                Libc::Musl
            }
        }
    };
    Some(Elf {
        arch,
        libc,
        hard_float,
    })
}
