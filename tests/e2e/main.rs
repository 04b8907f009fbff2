//! End-to-end tests: SQL in, rows out, against the simulator over loopback.
