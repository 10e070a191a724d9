fn main() -> std::process::ExitCode {
    ssa::cli::main()
}
