fn main() {
    println!("ssa");
}
