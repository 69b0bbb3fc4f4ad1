//! deploywatch-store
