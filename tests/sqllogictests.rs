//! Runs the `.slt` files under `tests/slt` against the simulator.
fn main() {}
