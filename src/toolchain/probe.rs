//! Asks a compiler what it really produces: it compiles and links a test
//! program, then reads the ELF header (machine, class, float ABI) and the
//! program interpreter (which names the C library).
//!
//! The answer is remembered in the scratch directory next to a key made of
//! the compiler's path, size and modification time, the flags and `PATH`
//! (which wrapper scripts such as musl-gcc search), so a no-op `bbsdk make`
//! does not run the compiler at all. `bbsdk make clean` forgets it.

use std::path::Path;
use std::process::Command;

use crate::target::{Arch, Libc};

/// What a compiler produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Compiles and links the test program with `cc` and `flags` in `work`,
/// unless `work` holds the answer for the same compiler and flags.
pub fn probe(cc: &Path, flags: &[String], work: &Path) -> Result<Probe, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let key = crate::memo::program_key(cc, flags);
    crate::memo::remember(key, &work.join("probe.json"), || run_probe(cc, flags, work))
}

/// The trimmed standard output of `program args` (a program name is looked
/// up in `PATH`), remembered in `work` like the probe.
pub fn cached_output(program: &Path, args: &[&str], work: &Path) -> Result<String, String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let name: String = std::iter::once(program.display().to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let key = crate::memo::program_key(program, &args);
    crate::memo::remember(key, &work.join(format!("{name}.json")), || {
        let out = Command::new(program)
            .args(&args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} {} failed ({})",
                program.display(),
                args.join(" "),
                out.status
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
}

fn run_probe(cc: &Path, flags: &[String], work: &Path) -> Result<Probe, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A compiler script that counts its runs, then runs the host gcc.
    fn counting_cc(dir: &Path) -> std::path::PathBuf {
        let cc = dir.join("cc");
        let script = format!(
            "#!/bin/sh\necho run >> {}/runs\nexec gcc \"$@\"\n",
            dir.display()
        );
        std::fs::write(&cc, script).unwrap();
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        cc
    }

    fn runs(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("runs"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    #[test]
    fn answer_is_remembered_until_the_compiler_or_flags_change() {
        let dir = tempfile::tempdir().unwrap();
        let cc = counting_cc(dir.path());
        let work = dir.path().join("work");
        let first = probe(&cc, &["-O2".into()], &work).unwrap();
        let after_first = runs(dir.path());
        assert!(after_first >= 1, "the compiler ran");
        let second = probe(&cc, &["-O2".into()], &work).unwrap();
        assert_eq!(first, second);
        assert_eq!(runs(dir.path()), after_first, "second probe used the cache");

        // Other flags: probed again.
        probe(&cc, &["-Os".into()], &work).unwrap();
        let after_flags = runs(dir.path());
        assert!(after_flags > after_first);

        // A changed compiler (new size and mtime): probed again.
        let text = std::fs::read_to_string(&cc).unwrap() + "# upgraded\n";
        std::fs::write(&cc, text).unwrap();
        probe(&cc, &["-Os".into()], &work).unwrap();
        assert!(runs(dir.path()) > after_flags);
    }

    #[test]
    fn a_corrupt_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cc = counting_cc(dir.path());
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(work.join("probe.json"), "{not json").unwrap();
        let p = probe(&cc, &[], &work).unwrap();
        assert_eq!(p.arch, Arch::X86_64);
        assert!(runs(dir.path()) >= 1);
    }
}
