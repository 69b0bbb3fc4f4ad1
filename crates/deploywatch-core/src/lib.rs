//! deploywatch-core
