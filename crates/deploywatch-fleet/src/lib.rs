//! deploywatch-fleet
