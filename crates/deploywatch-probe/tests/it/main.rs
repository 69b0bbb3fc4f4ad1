//! Integration tests of deploywatch-probe: real requests to real HTTP servers on loopback,
//! including hostile ones (never answering, endless bodies, redirect loops).

mod frontend;
mod probes;
mod registry;
mod support;
