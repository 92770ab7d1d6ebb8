//! The HTTP API: the router with every route (collected with its OpenAPI entry, so the
//! document at `/openapi.json` cannot miss one), and the layers around it; and the
//! metrics listener's router, which serves `/metrics` apart from the API.

pub mod auth;
pub mod deadline;
pub mod error;
pub mod extract;
pub mod json;
pub mod middleware;
pub mod openapi;
pub mod profiling;
pub mod proxies;
pub mod request_id;
pub mod routes;

use std::convert::Infallible;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use json::Json;
use middleware::StateLayer;
use routes::{
    admin, api_keys, auth as auth_routes, events, health, implementations, tenant, users,
};

pub use request_id::REQUEST_ID;

/// What the runtime serves ([`crate::app`]): a router, or the API's layers around one
/// ([`router`]), which each request reaches without the boxed service, and its clone,
/// that a router around them would add.
pub trait App:
    Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Every route with its OpenAPI entry.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(auth_routes::login))
        .routes(routes!(auth_routes::logout))
        .routes(routes!(auth_routes::change_password))
        .routes(routes!(auth_routes::mfa_enroll))
        .routes(routes!(auth_routes::mfa_confirm))
        .routes(routes!(auth_routes::me))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::deactivate))
        .routes(routes!(users::reactivate))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::get, api_keys::revoke))
        .routes(routes!(api_keys::rotate))
        .routes(routes!(implementations::list, implementations::create))
        .routes(routes!(implementations::get))
        .routes(routes!(implementations::cancel))
        .routes(routes!(implementations::results))
        .routes(routes!(events::events))
        .routes(routes!(tenant::get))
        .routes(routes!(tenant::audit))
        .routes(routes!(admin::list, admin::create))
        .routes(routes!(admin::get, admin::update))
        .routes(routes!(admin::verify))
        .routes(routes!(admin::revoke_platform_key))
}

/// The OpenAPI document, as served.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api().split_for_parts();
    openapi::finish(&mut doc);
    doc
}

/// The metrics listener's router: `/metrics`, and the CPU profiler for operators on the
/// host. It lists every tenant, so it is never on the API's listener, and its address
/// (`METRICS_LISTEN`) is loopback or reachable only by Prometheus.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .route(profiling::PATH, get(profiling::profile))
        .fallback(|| async { error::ApiError::not_found("route") })
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// The application's router with all layers. Those that need the matched route
/// (request metrics, audit) are on the routes; the others wrap the router as one
/// service, which a request clones once, where a layer on the routes is a boxed service
/// each request clones (and allocates) again. A `from_fn` layer would cost a boxed
/// service and boxed futures per request, so the two layers of this crate are services
/// of their own, each doing related work: around the router, the per-IP limit with the
/// deadline and the error shape ([`middleware::Edge`]); on the routes, metrics with
/// audit ([`middleware::Observe`]). tower-http's request spans and
/// events are logged at `debug`: the layer that makes them is on the routes only when
/// that level is on for `tower_http` (`RUST_LOG`), since it costs each request about a
/// microsecond for nothing otherwise (and, optional around the router, a request's move
/// through an `Either`); so requests the edge answers itself (429 per IP, 408) have no
/// span. Server errors are logged where they arise ([`error::ApiError`]).
pub fn router(state: AppState) -> impl App {
    let (routes, mut doc) = api().split_for_parts();
    openapi::finish(&mut doc);
    let doc = std::sync::Arc::new(doc);
    let routes = routes
        .route(
            "/openapi.json",
            get(move || std::future::ready(Json(doc.as_ref().clone()))),
        )
        .fallback(|| async { error::ApiError::not_found("route") })
        .layer(StateLayer::<middleware::Observe>::new(state.clone()))
        .with_state(state.clone());
    let traced = tracing::enabled!(target: "tower_http::trace::on_request", tracing::Level::DEBUG);
    let routes = if traced {
        routes.layer(TraceLayer::new_for_http())
    } else {
        routes
    };
    ServiceBuilder::new()
        .layer(request_id::RequestIdLayer)
        .map_response(IntoResponse::into_response)
        .layer(CatchPanicLayer::new())
        .layer(StateLayer::<middleware::Edge>::new(state.clone()))
        .layer(DefaultBodyLimit::max(state.settings.max_upload_bytes))
        .service(routes)
}
