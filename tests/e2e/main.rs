//! End-to-end tests of the real `deploywatch` binary.
