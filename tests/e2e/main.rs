//! End-to-end tests: SQL in, rows out, against the simulator over loopback.

mod custom;
mod decimals;
mod faults;
mod hostile;
mod odata;
mod pushdown;
mod slt;
mod sql;
mod support;
mod write_model;
mod writes;
