//! Absolute file-system paths and S3 locations, restricted to characters that are inert
//! in systemd, nginx, shell and YAML.

use super::value::{ValueError, charset, string_value};
use std::fmt;
use std::str::FromStr;

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/+@".contains(c)
}

/// An absolute, normalised path such as `/opt/ai-supply-chain`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbsPath(String);

impl AbsPath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `self/child`, for a child that is itself a safe relative path.
    pub fn join(&self, child: &str) -> AbsPath {
        let base = self.0.trim_end_matches('/');
        AbsPath(format!("{base}/{}", child.trim_start_matches('/')))
    }
}

impl FromStr for AbsPath {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let help = "write an absolute path of letters, digits and . _ - + @ /, such as `/opt/ai-supply-chain`";
        if !raw.starts_with('/') {
            return Err(ValueError::new(
                format!("`{}` is not an absolute path", raw.escape_debug()),
                help,
            ));
        }
        if let Some(c) = raw.chars().find(|c| !path_char(*c)) {
            return Err(ValueError::new(
                format!(
                    "`{}` contains `{}`, which is not allowed in a path",
                    raw.escape_debug(),
                    c.escape_debug()
                ),
                help,
            ));
        }
        if raw.len() > 1
            && (raw.ends_with('/')
                || raw
                    .split('/')
                    .skip(1)
                    .any(|seg| seg.is_empty() || seg == "." || seg == ".."))
        {
            return Err(ValueError::new(
                format!("`{raw}` is not normalised"),
                "remove empty, `.` and `..` segments and any trailing slash",
            ));
        }
        if raw.len() > 1024 {
            return Err(ValueError::new(
                "the path is longer than 1024 characters",
                help,
            ));
        }
        Ok(Self(raw.to_string()))
    }
}

impl fmt::Display for AbsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_value!(
    AbsPath,
    "absolute-path",
    "An absolute path, e.g. `/opt/ai-supply-chain`."
);

/// An S3 location `s3://bucket/prefix` for off-site backups.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Url {
    /// The bucket name.
    pub bucket: String,
    /// The key prefix, without leading or trailing slashes; may be empty.
    pub prefix: String,
}

impl FromStr for S3Url {
    type Err = ValueError;
    fn from_str(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                format!("`{}` is not an S3 location", raw.escape_debug()),
                "write s3://BUCKET or s3://BUCKET/PREFIX, such as `s3://backups/ai-supply-chain`",
            )
        };
        let rest = raw.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        let bucket_ok = charset(bucket, 63, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'
        }) && bucket.len() >= 3;
        let prefix_ok = prefix.is_empty()
            || (charset(prefix, 512, path_char)
                && !prefix.split('/').any(|s| s.is_empty() || s == ".."));
        if bucket_ok && prefix_ok {
            Ok(Self {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            })
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

string_value!(
    S3Url,
    "s3-url",
    "An S3 location, e.g. `s3://bucket/prefix`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_absolute_normal_and_plain() {
        assert!("/opt/ai-supply-chain".parse::<AbsPath>().is_ok());
        for bad in [
            "opt/x",
            "/opt/../etc",
            "/opt//x",
            "/opt/x/",
            "/opt/x y",
            "/opt/$HOME",
            "/opt/x;rm",
            "/opt/x\n",
            "/opt/\"x\"",
            "/opt/{x}",
        ] {
            assert!(bad.parse::<AbsPath>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "/opt/app"
                .parse::<AbsPath>()
                .unwrap()
                .join("static")
                .as_str(),
            "/opt/app/static"
        );
    }

    #[test]
    fn s3_locations() {
        let u: S3Url = "s3://my-bucket/backups/scf/".parse().unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("my-bucket", "backups/scf")
        );
        assert!("s3://ab".parse::<S3Url>().is_err());
        assert!("https://x/y".parse::<S3Url>().is_err());
        assert!("s3://bucket/a b".parse::<S3Url>().is_err());
    }
}
