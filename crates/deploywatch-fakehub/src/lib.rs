//! deploywatch-fakehub
