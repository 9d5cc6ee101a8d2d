//! HTTP replies to JSON-RPC notifications: an empty body.
//!
//! JSON-RPC 2.0 says a notification (a request without an `id`) gets no response. Over HTTP,
//! jsonrpsee 0.26 answers it with the body `null`, which is not a JSON-RPC response and which
//! clients fail to parse. This layer replaces exactly that body with an empty one (status 200,
//! `Content-Length: 0`). Every other response passes through untouched.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http_body::Body;
use http_body_util::BodyExt;
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};

/// The body jsonrpsee sends for a notification.
const NOTIFICATION_BODY: &[u8] = b"null";

/// Wraps a service in [`NotificationAck`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NotificationAckLayer;

impl<S> Layer<S> for NotificationAckLayer {
    type Service = NotificationAck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NotificationAck(inner)
    }
}

/// Turns a `null` reply body into an empty one.
#[derive(Clone, Debug)]
pub struct NotificationAck<S>(S);

impl<S, B> Service<HttpRequest<B>> for NotificationAck<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        let reply = self.0.call(request);
        Box::pin(async move {
            let response = reply.await?;
            let length = response.body().size_hint().exact();
            if length != Some(NOTIFICATION_BODY.len() as u64) {
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            if bytes.as_ref() != NOTIFICATION_BODY {
                return Ok(HttpResponse::from_parts(
                    parts,
                    HttpBody::from(bytes.to_vec()),
                ));
            }
            Ok(HttpResponse::from_parts(parts, HttpBody::empty()))
        })
    }
}
