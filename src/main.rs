fn main() -> std::process::ExitCode {
    bbsdk::cli::main()
}
