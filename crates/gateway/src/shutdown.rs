//! Stopping a replica without cutting off a request.
//!
//! On SIGTERM (what Kubernetes and `cluster.sh stop-replica` send) the server first
//! drains: for [`crate::Config::shutdown_drain_secs`] it keeps answering, but every
//! response says `Connection: close` and carries [`crate::proxy::DRAINING_HEADER`],
//! and `/readyz` answers 503 (so Kubernetes takes it out of its Service). The gateway
//! sends a draining replica nothing new while another can serve, and drops a
//! connection idle for longer than its keep-alive (`proxy::UPSTREAM_IDLE`, shorter
//! than the drain): when the server stops listening nothing is in flight there and no
//! connection to it is left in any pool; a request that still comes is refused before
//! anything is sent, which the gateway retries on another replica whatever the method.
//! Ctrl-C (SIGINT) skips the drain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

/// Whether the server is draining (shared by every worker).
#[derive(Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Middleware: while draining, `/readyz` answers 503 and every response closes its
/// connection. Needs `web::Data<Drain>` in the app; without it, does nothing.
pub async fn drain_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<Drain>>()
        .is_some_and(|drain| drain.is_draining());
    if draining && req.path() == "/readyz" {
        let (req, _) = req.into_parts();
        let response = HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "not_ready",
            "checks": {"shutdown": "draining before stopping"},
        }));
        let mut response = ServiceResponse::new(req, response).map_into_right_body();
        close_connection(&mut response);
        return Ok(response);
    }
    let mut response = next.call(req).await?.map_into_left_body();
    if draining {
        close_connection(&mut response);
    }
    Ok(response)
}

fn close_connection<B>(response: &mut ServiceResponse<B>) {
    let response = response.response_mut();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response.headers_mut().insert(
        HeaderName::from_static(crate::proxy::DRAINING_HEADER),
        HeaderValue::from_static("1"),
    );
}

/// Waits for SIGTERM (drain, then stop) or Ctrl-C (stop), then stops `server`
/// gracefully (in-flight requests finish).
pub async fn stop_on_signal(server: ServerHandle, drain: Drain, drain_for: Duration) {
    let terminated = async {
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = terminated => {
            tracing::info!(drain_secs = drain_for.as_secs(), "SIGTERM: draining before stopping");
            drain.start();
            tokio::time::sleep(drain_for).await;
        }
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("interrupted: stopping");
        }
    }
    server.stop(true).await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use actix_web::{test, App};

    use super::*;

    #[actix_web::test]
    async fn draining_closes_connections_and_fails_readiness() {
        let drain = Drain::default();
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(drain.clone()))
                .wrap(actix_web::middleware::from_fn(drain_middleware))
                .route(
                    "/readyz",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/v2/x",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                ),
        )
        .await;
        let ready =
            test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
        assert_eq!(ready.status(), 200);
        assert_ne!(
            ready.response().head().connection_type(),
            ConnectionType::Close
        );

        drain.start();
        let ready =
            test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
        assert_eq!(ready.status(), 503);
        let body: serde_json::Value = test::read_body_json(ready).await;
        assert_eq!(body["status"], "not_ready");
        let served =
            test::call_service(&app, test::TestRequest::get().uri("/v2/x").to_request()).await;
        assert_eq!(
            served.status(),
            200,
            "requests are still served while draining"
        );
        assert_eq!(
            served.response().head().connection_type(),
            ConnectionType::Close
        );
    }
}
