//! In-memory implementations of the ports that keep real state, record every call, and fail
//! on demand — for tests of tagcore and of anything built on it (enabled by the `testing`
//! feature). Nothing here is a canned answer: the registry stores manifests and tags, the
//! verifier holds signatures per digest, the audit sink keeps releases by tag.

mod audit;
mod registry;
mod verifier;

use std::future::Future;

pub use audit::{MemoryAudit, StoredRelease};
pub use registry::{Call, Fault, Hook, MemoryRegistry, MemorySource};
pub use verifier::MemoryVerifier;

/// Runs a future to completion on the current thread (the ports' futures never wait on IO).
pub fn block_on<F: Future>(f: F) -> F::Output {
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
