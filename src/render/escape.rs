//! Escaping filters, one per target syntax. Values are validated long before they reach a
//! template; these filters make anything that slipped through inert rather than live.

use minijinja::{Environment, Error, ErrorKind};

/// Registers every filter under its template name.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("env_value", env_value);
    env.add_filter("shell", shell);
    env.add_filter("sql_ident", sql_ident);
    env.add_filter("sql_literal", sql_literal);
    env.add_filter("nginx", nginx);
    env.add_filter("systemd", systemd);
    env.add_filter("pg_conf", pg_conf);
}

fn refuse_control(value: &str, syntax: &str) -> Result<(), Error> {
    if value.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("a control character cannot be written into {syntax}"),
        ));
    }
    Ok(())
}

fn plain(value: &str, extra: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// A value in an env file read by systemd's `EnvironmentFile=` and by compose.
pub fn env_value(value: &str) -> Result<String, Error> {
    refuse_control(value, "an env file")?;
    if plain(value, "_./:@,+=-") {
        return Ok(value.to_string());
    }
    if value.contains('\'') {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a single quote cannot be written into an env file value",
        ));
    }
    Ok(format!("'{value}'"))
}

/// A POSIX shell word.
pub fn shell(value: &str) -> Result<String, Error> {
    refuse_control(value, "a shell script")?;
    if plain(value, "_./:@,+=-") {
        return Ok(value.to_string());
    }
    Ok(format!("'{}'", value.replace('\'', r"'\''")))
}

/// A quoted SQL identifier.
pub fn sql_ident(value: &str) -> Result<String, Error> {
    refuse_control(value, "SQL")?;
    Ok(format!("\"{}\"", value.replace('"', "\"\"")))
}

/// A quoted SQL string literal.
pub fn sql_literal(value: &str) -> Result<String, Error> {
    refuse_control(value, "SQL")?;
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// An nginx directive argument.
pub fn nginx(value: &str) -> Result<String, Error> {
    refuse_control(value, "nginx configuration")?;
    if plain(value, "_./:@,+=-") {
        return Ok(value.to_string());
    }
    if value.contains('$') {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a `$` would start an nginx variable",
        ));
    }
    Ok(format!(
        "\"{}\"",
        value.replace('\\', r"\\").replace('"', "\\\"")
    ))
}

/// A systemd unit setting value (specifiers and line continuations neutralised).
pub fn systemd(value: &str) -> Result<String, Error> {
    refuse_control(value, "a systemd unit")?;
    Ok(value.replace('%', "%%").replace('\\', r"\\"))
}

/// A postgresql.conf value.
pub fn pg_conf(value: &str) -> Result<String, Error> {
    refuse_control(value, "postgresql.conf")?;
    Ok(format!(
        "'{}'",
        value.replace('\\', r"\\").replace('\'', "''")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_are_inert_or_refused() {
        assert_eq!(env_value("a b").unwrap(), "'a b'");
        assert!(env_value("a\nB=1").is_err());
        assert!(env_value("it's").is_err());
        assert_eq!(shell("a'b;rm").unwrap(), r"'a'\''b;rm'");
        assert_eq!(sql_ident("x\"; DROP").unwrap(), "\"x\"\"; DROP\"");
        assert_eq!(sql_literal("o'neil").unwrap(), "'o''neil'");
        assert_eq!(nginx("a;b").unwrap(), "\"a;b\"");
        assert_eq!(systemd("100%").unwrap(), "100%%");
        assert_eq!(pg_conf("it's").unwrap(), "'it''s'");
    }
}
