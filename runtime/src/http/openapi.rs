//! The OpenAPI document's frame: title, the bearer security scheme, and the error
//! responses every operation can give (each with the one error body), added to each
//! operation that does not document them itself; and [`DemandUpload`], the schema of a
//! JSON upload, whose reader (`optimize::long`) keeps its serde types private.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use crate::optimize::input::{MAX_QUANTITY, MAX_SKU_CHARS, PARAM_COLUMNS};

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

/// A JSON demand upload, as the document describes it: an array of records, or
/// `{"demand": [records], "parameters": [per-SKU parameters]}`.
pub struct DemandUpload;

impl ToSchema for DemandUpload {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DemandUpload")
    }
}

impl PartialSchema for DemandUpload {
    fn schema() -> RefOr<Schema> {
        let string_or_integer = |description: &str| {
            OneOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(MAX_SKU_CHARS)),
                )
                .item(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some(description))
        };
        let records = || {
            let record = ObjectBuilder::new()
                .property("sku", string_or_integer("SKU id"))
                .property(
                    "period",
                    string_or_integer("an integer or a YYYY-MM-DD date, the same kind throughout"),
                )
                .property(
                    "quantity",
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .minimum(Some(0.0))
                        .maximum(Some(MAX_QUANTITY))
                        .description(Some("units demanded in the period")),
                )
                .required("sku")
                .required("period")
                .required("quantity")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            ArrayBuilder::new().items(record).min_items(Some(1))
        };
        let parameters = PARAM_COLUMNS
            .iter()
            .fold(
                ObjectBuilder::new().property("sku", string_or_integer("SKU id")),
                |object, column| {
                    object.property(column.name, ObjectBuilder::new().schema_type(Type::Number))
                },
            )
            .required("sku")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let document = ObjectBuilder::new()
            .property("demand", records())
            .property("parameters", ArrayBuilder::new().items(parameters))
            .required("demand")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(records())
            .item(document)
            .description(Some(
                "Demand records, alone or with per-SKU parameters (lead time, costs, MOQ)",
            ))
            .into()
    }
}
