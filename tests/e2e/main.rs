//! End-to-end tests: SQL in, rows out, against the simulator over loopback.

mod odata;
mod pushdown;
mod sql;
mod support;
