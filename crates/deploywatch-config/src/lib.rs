//! deploywatch-config
