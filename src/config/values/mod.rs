//! Typed values of framework.toml: every string that reaches an artifact is parsed here
//! into a type that can only hold a safe value for every syntax it is rendered into.
//!
//! Each type is a string in TOML and in the JSON Schema, tagged with a custom `format`.
//! The schema checker calls [`check_format`] with that tag, so a bad value is reported
//! with its location and a fix before serde ever sees it.

mod cron;
mod dsn;
mod endpoint;
mod image;
mod names;
mod net;
mod path;
mod quantity;
mod secret;
mod units;
mod value;

pub use cron::Cron;
pub use dsn::{PostgresUrl, RedisUrl};
pub use endpoint::{HostPort, HttpUrl};
pub use image::ImageRef;
pub use names::{
    Channel, Email, Identifier, Industry, Login, Name, PgExtension, PlanName, UnixName,
};
pub use net::{Cidr, DomainName, Ipv4Address, ListenAddr, SshHost};
pub use path::{AbsPath, S3Url};
pub use quantity::Quantity;
pub use scf_contract::{Duration, Rate};
pub use secret::SecretRef;
pub use units::{ByteSize, SavePoint};
pub(crate) use value::known;
pub use value::{StringValue, ValueError};

/// Checks `raw` against the value type whose schema `format` is `format`.
/// Returns `None` when no scf type owns that format.
pub fn check_format(format: &str, raw: &str) -> Option<Result<(), ValueError>> {
    fn check<T: StringValue>(raw: &str) -> Result<(), ValueError> {
        raw.parse::<T>().map(drop)
    }
    macro_rules! dispatch {
        ($($ty:ty),* $(,)?) => {
            $( if format == <$ty as StringValue>::FORMAT { return Some(check::<$ty>(raw)); } )*
        };
    }
    dispatch!(
        Duration,
        ByteSize,
        Rate,
        SavePoint,
        Cron,
        Cidr,
        DomainName,
        Ipv4Address,
        SshHost,
        ListenAddr,
        Name,
        Identifier,
        UnixName,
        Industry,
        Email,
        Login,
        Channel,
        HostPort,
        HttpUrl,
        PostgresUrl,
        RedisUrl,
        PgExtension,
        PlanName,
        AbsPath,
        S3Url,
        SecretRef,
        ImageRef,
        Quantity,
    );
    None
}
