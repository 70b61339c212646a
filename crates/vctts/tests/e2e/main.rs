//! End-to-end tests: a real gateway and real workers as separate processes,
//! real HTTP on loopback, the deterministic `tone` test engine.
#![cfg(feature = "test-engine")]

mod bad_input;
mod cli;
mod cluster;
mod disk;
mod fakes;
mod faults;
mod fuzz;
mod harness;
mod security;
