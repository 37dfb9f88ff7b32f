//! Benchmarks only: see `benches/web.rs`.
