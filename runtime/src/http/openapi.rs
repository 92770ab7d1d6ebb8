//! The OpenAPI document's frame: title, the bearer security scheme, and the error
//! responses every operation can give (each with the one error body), added to each
//! operation that does not document them itself.

use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};

use super::error::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AI Supply Chain Optimization Framework",
        description = "The runtime API that scf deploys. Tenant routes take `Authorization: Bearer <JWT or scfk. API key>`; the admin API takes a platform key (`scfp.`)."
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
struct Base;

/// The document before routes are added.
pub fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

const COMMON: [(&str, &str); 8] = [
    ("400", "Malformed request"),
    ("401", "Missing, invalid, expired or revoked credential"),
    ("403", "Role, scope or tenant status forbids this"),
    ("404", "No such resource in your tenant"),
    ("409", "Conflicts with current state or a plan limit"),
    ("415", "Body is not JSON"),
    ("422", "Request is well formed but invalid"),
    ("429", "Rate limited; see Retry-After"),
];

fn error_response(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .into()
}

/// Adds the security scheme and the common error responses.
pub fn finish(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ]
        .into_iter()
        .flatten()
        {
            for (code, description) in COMMON {
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| error_response(description));
            }
        }
    }
}
