//! Builds the demo pages (`demo/`, bundled from liquid-client with esbuild) into OUT_DIR, where
//! `http::demo` embeds them, so the node serves them with no files beside the binary. Needs
//! Node.js and npm; the npm packages are installed once into demo/node_modules.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let demo = Path::new(&manifest).join("../demo");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("demo");
    for watched in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo::rerun-if-changed={}", demo.join(watched).display());
    }
    if !demo.join("node_modules").is_dir() {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&demo),
            "npm ci in demo/ (Node.js and npm are needed to build the demo pages)",
        );
    }
    run(
        Command::new("node")
            .arg("build.mjs")
            .arg(&out)
            .current_dir(&demo),
        "node demo/build.mjs",
    );
}

fn run(command: &mut Command, what: &str) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("{what} failed: {status}"),
        Err(err) => panic!("{what} could not start: {err}"),
    }
}
