//! Integration tests of the fake GitHub, over real loopback HTTP with reqwest and octocrab.

mod conditional;
mod device_flow;
mod discovery;
mod examples_source;
mod limits;
mod octocrab_models;
mod rest;
mod support;
mod writes;
