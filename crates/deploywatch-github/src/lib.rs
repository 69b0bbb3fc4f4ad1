//! deploywatch-github
