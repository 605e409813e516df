//! The configuration in effect, as TOML keyed like the file (`--print-config`), so an operator
//! sees every value the node will use, defaults included. Secrets are shown only as set or not.

use toml::{Table, Value};

use super::{Config, LogFormat};

fn secs(d: std::time::Duration) -> Value {
    Value::Integer(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn int(n: impl TryInto<i64>) -> Value {
    Value::Integer(n.try_into().unwrap_or(i64::MAX))
}

fn text(s: impl ToString) -> Value {
    Value::String(s.to_string())
}

fn list<T: std::fmt::Display>(items: &[T]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| Value::String(item.to_string()))
            .collect(),
    )
}

fn secret(set: bool) -> Value {
    text(if set { "<set>" } else { "<unset>" })
}

/// Every option with the value in effect.
pub fn to_toml(config: &Config) -> String {
    let mut t = Table::new();
    let mut put = |key: &str, value: Value| {
        t.insert(key.to_owned(), value);
    };
    put("host", text(config.http_addr.ip()));
    put("port", int(config.http_addr.port()));
    put("rp-id", text(&config.rp_id));
    put("origin", text(&config.origin));
    put("rp-name", text(&config.rp_name));
    put("data-dir", text(config.data_dir.display()));
    put("database-url", text(config.database_url()));
    if let Some(app) = &config.android_app {
        put("android-packagename", text(&app.package_name));
    }
    if let Some(file) = &config.assetlinks_file {
        put("assetlinks-file", text(file.display()));
    }
    put("ios-app-ids", list(&config.apple_app_ids));
    if let Some(algod) = &config.algod {
        put("algod-server", text(&algod.server));
        if let Some(port) = &algod.port {
            put("algod-port", text(port));
        }
        put("algod-token", secret(algod.token.is_some()));
    }
    put("session-secret", secret(config.session_secret.is_some()));
    put("session-secure", Value::Boolean(config.session_secure));
    put("session-ttl-secs", secs(config.session_ttl));
    put("max-body-bytes", int(config.max_body_bytes));
    put("ceremony-timeout-secs", secs(config.ceremony_timeout));
    if let Some(dir) = &config.static_dir {
        put("static-dir", text(dir.display()));
    }
    put("demo", Value::Boolean(config.demo));
    let format = match config.log_format {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    put("log-format", text(format));
    let bridge = &config.bridge;
    put("link-ttl-secs", secs(bridge.link_ttl));
    put("max-links-per-socket", int(bridge.max_links_per_socket));
    put("max-parked-links", int(bridge.max_parked_links));
    put("signal-buffer-count", int(bridge.buffer.count));
    put("signal-buffer-bytes", int(bridge.buffer.bytes));
    put("signal-buffer-secs", secs(bridge.buffer.ttl));
    put("max-signal-bytes", int(bridge.max_signal_bytes));
    put("max-payload-bytes", int(bridge.max_payload_bytes));
    put("fido-rate-per-minute", int(config.fido_rate.per_minute));
    put("link-rate-per-minute", int(bridge.link_rate.per_minute));
    put("trust-proxy", Value::Boolean(bridge.trust_proxy));
    let mesh = &config.mesh;
    put("p2p-listen", list(&mesh.listen));
    put("bootstrap", list(&mesh.bootstrap));
    put("p2p-external", list(&mesh.external));
    put(
        "p2p-max-connections-per-peer",
        int(mesh.max_connections_per_peer),
    );
    put("p2p-max-incoming", int(mesh.max_incoming_connections));
    put("p2p-idle-timeout-secs", secs(mesh.idle_timeout));
    toml::to_string(&t).expect("a table of plain values serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What --print-config prints is itself a valid file (secrets aside) naming every option.
    #[test]
    fn the_effective_configuration_reads_back_as_a_file() {
        let printed = to_toml(&Config::default());
        let mut table: Table = toml::from_str(&printed).unwrap();
        table.remove("session-secret");
        let cli: crate::config::Cli = toml::from_str(&toml::to_string(&table).unwrap()).unwrap();
        assert_eq!(cli.port, Some(3000));
        assert_eq!(cli.max_parked_links, Some(100_000));
        assert!(
            printed.contains("session-secret = \"<unset>\""),
            "{printed}"
        );
    }
}
