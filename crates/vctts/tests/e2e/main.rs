//! End-to-end tests: a real gateway and real workers as separate processes,
//! real HTTP on loopback, the deterministic `tone` test engine.
#![cfg(feature = "test-engine")]

mod bad_input;
mod browser;
mod cli;
mod cluster;
mod disk;
mod engines;
mod fakes;
mod faults;
mod fuzz;
mod harness;
mod security;
