//! Real JavaScript clients from npm (`tests/js`), driven from Rust: a socket.io-client socket
//! scripted over stdin/stdout, and one-shot scripts such as liquid-client's `link`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long a test waits for something a client should see.
pub const WAIT: Duration = Duration::from_secs(15);

/// `tests/js`, with its npm packages installed; fails loudly when they are not.
pub fn js_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        dir.join("node_modules/socket.io-client").is_dir(),
        "npm packages missing in {}: run scripts/test.sh, which runs `npm ci` there",
        dir.display()
    );
    dir
}

fn node(script: &str) -> Command {
    let dir = js_dir();
    let mut command = Command::new("node");
    command
        .arg(dir.join(script))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// One socket.io-client socket in its own Node process.
pub struct JsSocket {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    backlog: Vec<Value>,
    next_ack: u64,
    pub id: String,
}

impl JsSocket {
    /// Connects to a node (its base URL) and waits for the connection.
    pub async fn connect(url: &str, cookie: Option<&str>) -> Self {
        Self::connect_with(url, cookie, None).await
    }

    /// As `connect`, choosing the transports (e.g. `"websocket"` only).
    pub async fn connect_with(url: &str, cookie: Option<&str>, transports: Option<&str>) -> Self {
        let mut command = node("socket_driver.mjs");
        command.arg(url);
        if let Some(cookie) = cookie {
            command.env("COOKIE", cookie);
        }
        if let Some(transports) = transports {
            command.env("TRANSPORTS", transports);
        }
        let mut child = command.spawn().expect("node runs (is Node.js installed?)");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut socket = Self {
            _child: child,
            stdin,
            lines,
            backlog: Vec::new(),
            next_ack: 0,
            id: String::new(),
        };
        let connected = socket
            .wait_for(|m| m["type"] == "connect" || m["type"] == "connect_error")
            .await;
        assert_eq!(connected["type"], "connect", "{connected}");
        socket.id = connected["id"].as_str().unwrap().to_owned();
        socket
    }

    async fn send(&mut self, command: Value) {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("driver alive");
    }

    /// Emits an event with these arguments, without an acknowledgement.
    pub async fn emit(&mut self, event: &str, args: Vec<Value>) {
        self.send(json!({"emit": event, "args": args})).await;
    }

    /// Emits with an acknowledgement callback; returns the ack's number for [`Self::ack`].
    pub async fn emit_ack(&mut self, event: &str, args: Vec<Value>) -> u64 {
        self.next_ack += 1;
        let id = self.next_ack;
        self.send(json!({"emit": event, "args": args, "ack": id}))
            .await;
        id
    }

    /// The arguments the server acknowledged with.
    pub async fn ack(&mut self, id: u64) -> Vec<Value> {
        let message = self
            .wait_for(|m| m["type"] == "ack" && m["ack"] == id)
            .await;
        assert_eq!(message["error"], Value::Null, "ack {id}: {message}");
        message["reply"].as_array().unwrap().clone()
    }

    /// The arguments of the next `event` received.
    pub async fn event(&mut self, event: &str) -> Vec<Value> {
        let message = self
            .wait_for(|m| m["type"] == "event" && m["event"] == event)
            .await;
        message["args"].as_array().unwrap().clone()
    }

    /// Whether a message matching `pred` has arrived and is waiting in the backlog (it came before
    /// whatever the last wait returned).
    pub fn seen(&self, pred: impl Fn(&Value) -> bool) -> bool {
        self.backlog.iter().any(pred)
    }

    /// Waits for the next message matching `pred`, keeping the others for later calls.
    pub async fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .unwrap_or_else(|_| {
                    panic!("nothing matching within {WAIT:?}; saw {:?}", self.backlog)
                })
                .expect("driver output")
                .unwrap_or_else(|| panic!("driver exited; saw {:?}", self.backlog));
            let message: Value = serde_json::from_str(&line).expect("driver prints JSON");
            if pred(&message) {
                return message;
            }
            self.backlog.push(message);
        }
    }

    /// Everything received within `window` that matches `pred`.
    pub async fn collect(&mut self, window: Duration, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout_at(deadline, self.lines.next_line()).await
        {
            self.backlog
                .push(serde_json::from_str(&line).expect("driver prints JSON"));
        }
        let (matching, rest) = std::mem::take(&mut self.backlog)
            .into_iter()
            .partition(|m| pred(m));
        self.backlog = rest;
        matching
    }

    /// Received events named `event` within `window`, as argument lists.
    pub async fn events_within(&mut self, event: &str, window: Duration) -> Vec<Vec<Value>> {
        self.collect(window, |m| m["type"] == "event" && m["event"] == event)
            .await
            .into_iter()
            .map(|m| m["args"].as_array().unwrap().clone())
            .collect()
    }

    /// Closes the socket and ends the process.
    pub async fn close(mut self) {
        self.send(json!({"close": true})).await;
    }
}

/// Runs a one-shot script to completion and returns the JSON lines it printed.
pub async fn run_script(script: &str, args: &[&str], cookie: Option<&str>) -> Vec<Value> {
    let mut command = node(script);
    command.args(args).stdin(Stdio::null());
    if let Some(cookie) = cookie {
        command.env("COOKIE", cookie);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("script finishes within 120 s")
        .expect("node runs");
    assert!(output.status.success(), "{script} failed: {output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("script prints JSON"))
        .collect()
}

/// Starts a background script and returns a handle whose output is read when it ends.
pub fn spawn_script(
    script: &str,
    args: &[&str],
    cookie: Option<&str>,
) -> tokio::task::JoinHandle<Vec<Value>> {
    let script = script.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let cookie = cookie.map(str::to_owned);
    tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_script(&script, &args, cookie.as_deref()).await
    })
}
