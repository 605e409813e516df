//! Android Digital Asset Links: which Android apps may use passkeys for this relying party, and the
//! `android:apk-key-hash:` origin each of them puts in its clientDataJSON.

use std::path::Path;

use data_encoding::{BASE64URL_NOPAD, HEXUPPER_PERMISSIVE};
use serde_json::{Value, json};

const RELATIONS: [&str; 2] = [
    "delegate_permission/common.handle_all_urls",
    "delegate_permission/common.get_login_creds",
];

/// Why the asset links could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssetLinksError {
    #[error("cannot read assetlinks file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("assetlinks file {path} is not a JSON array of statements: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("ANDROID_SHA256HASH `{0}` is not a colon-separated SHA-256 fingerprint")]
    Fingerprint(String),
}

/// An Android app allowed to use this relying party's passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndroidApp {
    pub package_name: String,
    /// The signing certificate's SHA-256, 32 bytes.
    pub fingerprint: Vec<u8>,
}

impl AndroidApp {
    /// Builds an app from `ANDROID_PACKAGENAME` and `ANDROID_SHA256HASH` (`AB:CD:…`).
    pub fn new(package_name: &str, fingerprint: &str) -> Result<Self, AssetLinksError> {
        let fingerprint = parse_fingerprint(fingerprint)
            .ok_or_else(|| AssetLinksError::Fingerprint(fingerprint.to_owned()))?;
        Ok(Self {
            package_name: package_name.to_owned(),
            fingerprint,
        })
    }

    /// The WebAuthn origin Android reports for this app.
    pub fn origin(&self) -> String {
        format!(
            "android:apk-key-hash:{}",
            BASE64URL_NOPAD.encode(&self.fingerprint)
        )
    }

    fn fingerprint_text(&self) -> String {
        let hex = data_encoding::HEXUPPER.encode(&self.fingerprint);
        hex.as_bytes()
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).expect("hex is ASCII"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// The statements served at `/.well-known/assetlinks.json` and the apps they name.
#[derive(Debug, Clone, Default)]
pub struct AssetLinks {
    statements: Vec<Value>,
    apps: Vec<AndroidApp>,
}

impl AssetLinks {
    /// Loads an optional assetlinks file and adds `extra` (from the environment) unless the file
    /// already names that package. As in the original, an app's first fingerprint is its origin.
    pub fn load(file: Option<&Path>, extra: Option<AndroidApp>) -> Result<Self, AssetLinksError> {
        let mut statements: Vec<Value> = match file {
            Some(path) => {
                let display = path.display().to_string();
                let text =
                    std::fs::read_to_string(path).map_err(|source| AssetLinksError::Read {
                        path: display.clone(),
                        source,
                    })?;
                serde_json::from_str(&text).map_err(|source| AssetLinksError::Parse {
                    path: display,
                    source,
                })?
            }
            None => Vec::new(),
        };
        let mut apps: Vec<AndroidApp> = statements.iter().filter_map(app_of).collect();
        if let Some(app) = extra
            && !apps.iter().any(|a| a.package_name == app.package_name)
        {
            statements.push(json!({
                "relation": RELATIONS,
                "target": {
                    "namespace": "android_app",
                    "package_name": app.package_name,
                    "sha256_cert_fingerprints": [app.fingerprint_text()],
                }
            }));
            apps.push(app);
        }
        Ok(Self { statements, apps })
    }

    /// The JSON array to serve.
    pub fn statements(&self) -> &[Value] {
        &self.statements
    }

    /// The apps named, in file order.
    pub fn apps(&self) -> &[AndroidApp] {
        &self.apps
    }

    /// The app with this package name, if any.
    pub fn app(&self, package_name: &str) -> Option<&AndroidApp> {
        self.apps.iter().find(|a| a.package_name == package_name)
    }
}

fn app_of(statement: &Value) -> Option<AndroidApp> {
    let target = statement.get("target")?;
    if target.get("namespace")?.as_str()? != "android_app" {
        return None;
    }
    let package_name = target.get("package_name")?.as_str()?;
    let first = target.get("sha256_cert_fingerprints")?.get(0)?.as_str()?;
    Some(AndroidApp {
        package_name: package_name.to_owned(),
        fingerprint: parse_fingerprint(first)?,
    })
}

fn parse_fingerprint(text: &str) -> Option<Vec<u8>> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let bytes = HEXUPPER_PERMISSIVE.decode(hex.as_bytes()).ok()?;
    (bytes.len() == 32).then_some(bytes)
}

/// Which origin a ceremony must carry, chosen from the request's User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedOrigin {
    /// A browser, iOS wallet or anything not recognised: the configured `ORIGIN`.
    Web,
    /// An Android wallet app named in the asset links.
    Android(String),
}

impl ExpectedOrigin {
    /// The original's rule: an Android UA that is not a browser names its app package before the
    /// first `/`; a package listed in the asset links expects its apk-key-hash origin. Everything
    /// else, including a missing UA (where the original crashes), expects `ORIGIN`.
    pub fn from_user_agent(user_agent: Option<&str>, links: &AssetLinks) -> Self {
        let Some(ua) = user_agent else {
            return Self::Web;
        };
        let product = ua.split('/').next().unwrap_or_default().trim();
        // Every browser UA starts with `Mozilla/` (or Opera's legacy `Opera/`); apps name themselves.
        let is_browser = matches!(product, "Mozilla" | "Opera");
        if is_browser || !ua.contains("Android") {
            return Self::Web;
        }
        match links.app(product) {
            Some(app) => Self::Android(app.package_name.clone()),
            None => Self::Web,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO_FINGERPRINT: &str = "47:CC:4E:EE:B9:50:59:A5:8B:E0:19:45:CA:0A:6D:59:16:F9:A9:C2:96:75:F8:F3:64:86:92:46:2B:7D:5D:5C";

    fn demo() -> AssetLinks {
        let app = AndroidApp::new("foundation.algorand.demo", DEMO_FINGERPRINT).unwrap();
        AssetLinks::load(None, Some(app)).unwrap()
    }

    #[test]
    fn the_demo_fingerprint_gives_the_recorded_origin() {
        let links = demo();
        assert_eq!(
            links.apps()[0].origin(),
            "android:apk-key-hash:R8xO7rlQWaWL4BlFygptWRb5qcKWdfjzZIaSRit9XVw"
        );
        let served = &links.statements()[0]["target"]["sha256_cert_fingerprints"][0];
        assert_eq!(served, DEMO_FINGERPRINT);
    }

    #[test]
    fn user_agents_pick_the_origin() {
        let links = demo();
        let app_ua = "foundation.algorand.demo/1.0 (Android 14; Pixel 8 Pro; google)";
        assert_eq!(
            ExpectedOrigin::from_user_agent(Some(app_ua), &links),
            ExpectedOrigin::Android("foundation.algorand.demo".into())
        );
        let chrome = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(
            ExpectedOrigin::from_user_agent(Some(chrome), &links),
            ExpectedOrigin::Web
        );
        let unknown_app = "com.example.other/2 (Android 13)";
        assert_eq!(
            ExpectedOrigin::from_user_agent(Some(unknown_app), &links),
            ExpectedOrigin::Web
        );
        assert_eq!(
            ExpectedOrigin::from_user_agent(None, &links),
            ExpectedOrigin::Web
        );
    }

    #[test]
    fn refuses_bad_fingerprints() {
        assert!(AndroidApp::new("p", "47:CC").is_err());
        assert!(AndroidApp::new("p", "zz").is_err());
    }
}
