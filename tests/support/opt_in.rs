//! Slow tests that run only when asked for (README.md, "Slow tests").
#![allow(dead_code)]

/// Whether `var` is set to `1`. When it is not, says on stderr that `name`
/// did not run, `why`, and how to run it, so no skip is silent.
pub fn opted_in(var: &str, name: &str, why: &str) -> bool {
    if std::env::var(var).as_deref() == Ok("1") {
        return true;
    }
    eprintln!("NOT RUN: {name} {why}; set {var}=1 to run it (README.md, \"Slow tests\")");
    false
}

/// The internal toolchain's tests: binutils and gcc from source.
pub fn internal_toolchain(name: &str) -> bool {
    opted_in(
        "BBSDK_TEST_INTERNAL_TOOLCHAIN",
        name,
        "builds binutils and gcc from source",
    )
}
