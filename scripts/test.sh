#!/usr/bin/env bash
# The whole test suite: host set-up, formatting, lints, then every test.
# Slow real builds are opt-in: see README.md ("Slow tests").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-host.sh
cargo fmt --check
cargo clippy --all-targets -- -D warnings
# Benchmarks run once each in test mode (a quick check that they work), then
# doc-tests, then every unit and integration test.
cargo test --benches
cargo test --doc
cargo test --lib --bins --tests
