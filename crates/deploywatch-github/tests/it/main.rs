//! Integration tests of the GitHub client against the fake GitHub (`deploywatch-fakehub`) on
//! loopback: real HTTP, GitHub's example bodies, ETags and rate-limit headers.

mod device;
mod discover;
mod limits;
mod reads;
mod writes;

use deploywatch_core::Sha;
use deploywatch_fakehub::FakeHub;
use deploywatch_github::{GitHub, RepoRef};

/// A full 40-character SHA made of one repeated hex digit, e.g. `sha('a')`.
fn sha(digit: char) -> Sha {
    Sha::parse(&digit.to_string().repeat(40)).expect("hex digit")
}

fn shop() -> RepoRef {
    RepoRef::new("acme", "shop")
}

async fn hub() -> FakeHub {
    FakeHub::start().await.expect("the fake GitHub starts")
}

/// An unauthenticated client of the fake, at its root like api.github.com.
fn client(hub: &FakeHub) -> GitHub {
    GitHub::new(&hub.api_url(), None).expect("client builds")
}
