//! End-to-end test suite of acusql: see `tests/`.
