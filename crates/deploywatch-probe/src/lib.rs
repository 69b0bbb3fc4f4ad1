//! deploywatch-probe
