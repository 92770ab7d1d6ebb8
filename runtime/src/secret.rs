//! A string that must never reach a log, an error message or an artifact: its `Debug`
//! and `Display` print a placeholder, and only [`Secret::expose`] gives the value. And
//! [`redact_urls`], for text that may hold a URL with a password in it (`DATABASE_URL`,
//! `REDIS_URL`, `--database-url`, or an error quoting one).

use std::fmt;

/// A secret value; printing it shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `text` with the password of every `scheme://user:password@host` in it replaced by `***`
/// (`postgres://user:***@host/db`). A URL runs to the next blank or quote, and its user
/// part to its last `@`, so a malformed URL (an unescaped `@` or `/` in the password) is
/// masked too, if anything more than needed.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || "\"'`<>".contains(c))
            .unwrap_or(after.len());
        let (url, tail) = after.split_at(end);
        match url
            .rfind('@')
            .and_then(|at| Some((at, url[..at].find(':')?)))
        {
            Some((at, colon)) => {
                out.push_str(&url[..=colon]);
                out.push_str("***");
                out.push_str(&url[at..]);
            }
            None => out.push_str(url),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords_and_nothing_else() {
        let cases = [
            (
                "postgres://user:hunter2@host:5432/db",
                "postgres://user:***@host:5432/db",
            ),
            (
                "redis://:hunter2@127.0.0.1:6379/0",
                "redis://:***@127.0.0.1:6379/0",
            ),
            (
                "postgresql://framework@127.0.0.1/db",
                "postgresql://framework@127.0.0.1/db",
            ),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            (
                "DATABASE_URL=\"mysql://u:p@ss/w0rd@h/db\" is invalid, see https://x.org/a:b@c",
                "DATABASE_URL=\"mysql://u:***@h/db\" is invalid, see https://x.org/a:***@c",
            ),
            (
                "cannot reach a://u:1@h and b://v:2@k.",
                "cannot reach a://u:***@h and b://v:***@k.",
            ),
            ("no url here: a:b@c", "no url here: a:b@c"),
        ];
        for (text, redacted) in cases {
            assert_eq!(redact_urls(text), redacted, "{text}");
        }
    }

    #[test]
    fn printing_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
