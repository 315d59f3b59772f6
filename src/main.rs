// mimalloc: the Kconfig engine allocates many small objects; the system
// allocator costs about a third of a Buildroot-size load (measured with callgrind).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bbsdk::cli::main()
}
