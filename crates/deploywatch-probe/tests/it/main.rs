//! Integration tests of deploywatch-probe: real requests to real HTTP servers on loopback,
//! including hostile ones (never answering, endless bodies, redirect loops).

mod addresses;
mod corpus;
mod frontend;
mod health;
mod probes;
mod props;
mod real_registry;
mod registry;
mod support;
