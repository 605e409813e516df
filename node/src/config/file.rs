//! The optional TOML file: any of the options, keyed as the flags are (`rp-id`, `p2p-listen`,
//! …). Unknown keys and ill-typed values are errors that name the file and the key, so a typo
//! cannot silently fall back to a default.

use std::path::Path;

use super::{Cli, ConfigError};

pub(super) fn load(path: &Path) -> Result<Cli, ConfigError> {
    let error = |reason: String| ConfigError::File {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| error(err.to_string()))?;
    toml::from_str(&text).map_err(|err| error(err.to_string().trim_end().replace('\n', " ")))
}
