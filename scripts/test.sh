#!/usr/bin/env bash
# The whole test suite: host set-up, formatting, lints, then every test.
# Slow real builds are opt-in: see README.md ("Slow tests").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-host.sh
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
