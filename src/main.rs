/// mimalloc instead of glibc's malloc: under a state budget keys are evicted and
/// reloaded all the time, and glibc kept the freed memory of every thread's arena
/// in its free lists (RSS at about four times the budget); mimalloc returns freed
/// pages to the system and serves threads from pages of their own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ssa::cli::main()
}
