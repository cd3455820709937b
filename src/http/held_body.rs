//! A response body that holds something — a client's request slot, the connection's
//! request-in-flight mark — until the body has been sent or dropped. A request is in flight
//! until its last byte leaves, not until its handler returns: a download streams long after.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

pub struct HeldBody<B, H> {
    inner: B,
    _held: H,
}

impl<B, H> HeldBody<B, H> {
    pub fn new(inner: B, held: H) -> Self {
        Self { inner, _held: held }
    }
}

impl<B: Body + Unpin, H: Unpin> Body for HeldBody<B, H> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
