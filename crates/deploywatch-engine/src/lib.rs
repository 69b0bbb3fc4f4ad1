//! deploywatch-engine
