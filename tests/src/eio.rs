//! A lean Socket.IO v5 client over Engine.IO v4's WebSocket transport, written for load: one task
//! per connection that answers pings itself and hands events to the caller, so ten thousand
//! sockets fit in one process. The real socket.io-client (`js`) stays the reference for protocol
//! behaviour; this one is for counting messages.

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket after the Engine.IO open and the Socket.IO connect.
pub type RawSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, thiserror::Error)]
pub enum EioError {
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("unexpected frame during the handshake: {0:?}")]
    Handshake(String),
    #[error("the connection closed during the handshake")]
    Closed,
}

/// What the server sent.
#[derive(Debug)]
pub enum Incoming {
    /// An event and its arguments.
    Event(String, Vec<Value>),
    /// The server's acknowledgement of an emit with this id.
    Ack(u64, Vec<Value>),
    /// The connection ended.
    Closed,
}

/// Opens `base` (`http://host:port`) over the WebSocket transport and connects to namespace `/`.
/// Returns the socket and the `Set-Cookie` value the upgrade carried, if any.
pub async fn handshake(
    base: &str,
    cookie: Option<&str>,
) -> Result<(RawSocket, Option<String>), EioError> {
    let url = format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request()?;
    if let Some(cookie) = cookie {
        request.headers_mut().insert(
            "cookie",
            cookie
                .parse()
                .map_err(|_| EioError::Handshake(cookie.into()))?,
        );
    }
    // TCP_NODELAY, as browsers set it: a small frame must not wait for the previous one's ACK.
    let (mut ws, response) =
        tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    expect_frame(&mut ws, "0").await?;
    ws.send(Message::text("40")).await?;
    expect_frame(&mut ws, "40").await?;
    Ok((ws, set_cookie))
}

/// Waits for a frame starting with `prefix`, answering pings on the way (engineioxide pings a
/// WebSocket-only connection as soon as it opens).
async fn expect_frame(ws: &mut RawSocket, prefix: &str) -> Result<(), EioError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                ws.send(Message::text("3")).await?;
            }
            Some(Ok(Message::Text(text))) if text.starts_with(prefix) => return Ok(()),
            Some(Ok(other)) => return Err(EioError::Handshake(format!("{other:?}"))),
            Some(Err(err)) => return Err(err.into()),
            None => return Err(EioError::Closed),
        }
    }
}

/// The Socket.IO text frame of an event (`42[...]`, or `42<id>[...]` to ask for an ack).
pub fn event_frame(event: &str, args: &[Value], ack: Option<u64>) -> String {
    let mut array = Vec::with_capacity(args.len() + 1);
    array.push(Value::from(event));
    array.extend_from_slice(args);
    let ack = ack.map(|id| id.to_string()).unwrap_or_default();
    format!("42{ack}{}", Value::Array(array))
}

/// Parses a Socket.IO frame the server sent; `None` for anything but events and acks.
pub fn parse_frame(text: &str) -> Option<Incoming> {
    let (kind, rest) = if let Some(rest) = text.strip_prefix("42") {
        (true, rest)
    } else {
        (false, text.strip_prefix("43")?)
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (id, json) = rest.split_at(digits);
    let Value::Array(mut array) = serde_json::from_str(json).ok()? else {
        return None;
    };
    if kind {
        if array.is_empty() {
            return None;
        }
        let Value::String(event) = array.remove(0) else {
            return None;
        };
        Some(Incoming::Event(event, array))
    } else {
        Some(Incoming::Ack(id.parse().ok()?, array))
    }
}

/// A connected socket; the connection closes when this is dropped.
pub struct SocketIo {
    out: mpsc::UnboundedSender<String>,
    /// Events and acks, in arrival order.
    pub incoming: mpsc::UnboundedReceiver<Incoming>,
    /// The session cookie the node set on the upgrade.
    pub set_cookie: Option<String>,
    next_ack: u64,
}

impl SocketIo {
    pub async fn connect(base: &str, cookie: Option<&str>) -> Result<Self, EioError> {
        let (ws, set_cookie) = handshake(base, cookie).await?;
        let (out, outgoing) = mpsc::unbounded_channel();
        let (deliver, incoming) = mpsc::unbounded_channel();
        tokio::spawn(pump(ws, outgoing, deliver));
        Ok(Self {
            out,
            incoming,
            set_cookie,
            next_ack: 0,
        })
    }

    pub fn emit(&self, event: &str, args: &[Value]) {
        let _ = self.out.send(event_frame(event, args, None));
    }

    /// Emits asking for an acknowledgement; returns the id its [`Incoming::Ack`] will carry.
    pub fn emit_ack(&mut self, event: &str, args: &[Value]) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        let _ = self.out.send(event_frame(event, args, Some(id)));
        id
    }

    /// Takes the incoming events away, so one task can count them while another emits.
    pub fn take_incoming(&mut self) -> mpsc::UnboundedReceiver<Incoming> {
        std::mem::replace(&mut self.incoming, mpsc::unbounded_channel().1)
    }

    /// Waits until the socket hears that `devices` sessions share its pair, dropping what
    /// arrives before.
    pub async fn wait_for_presence(&mut self, devices: u64) {
        let heard = tokio::time::timeout(crate::js::WAIT, async {
            while let Some(incoming) = self.incoming.recv().await {
                if let Incoming::Event(event, args) = incoming
                    && event == "presence"
                    && args[0]["deviceCount"] == devices
                {
                    return true;
                }
            }
            false
        })
        .await;
        match heard {
            Ok(true) => {}
            Ok(false) => panic!("socket closed before presence of {devices} devices"),
            Err(_) => panic!(
                "no presence of {devices} devices within {:?}",
                crate::js::WAIT
            ),
        }
    }

    /// Waits for the ack with this id, dropping what arrives before it.
    pub async fn ack(&mut self, id: u64) -> Option<Vec<Value>> {
        loop {
            match self.incoming.recv().await? {
                Incoming::Ack(got, args) if got == id => return Some(args),
                Incoming::Closed => return None,
                _ => {}
            }
        }
    }
}

/// Moves frames both ways until either side ends; answers Engine.IO pings.
async fn pump(
    ws: RawSocket,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    deliver: mpsc::UnboundedSender<Incoming>,
) {
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if text.as_str() == "2" {
                        if sink.send(Message::text("3")).await.is_err() {
                            break;
                        }
                    } else if let Some(incoming) = parse_frame(&text) {
                        let _ = deliver.send(incoming);
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            frame = outgoing.recv() => match frame {
                Some(text) => {
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = sink.close().await;
                    break;
                }
            },
        }
    }
    let _ = deliver.send(Incoming::Closed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_round_trip() {
        let frame = event_frame("link", &[json!({"requestId": "r"})], Some(7));
        assert_eq!(frame, r#"427["link",{"requestId":"r"}]"#);
        match parse_frame(r#"437[{"data":{"wallet":"W"}}]"#) {
            Some(Incoming::Ack(7, args)) => assert_eq!(args, vec![json!({"data":{"wallet":"W"}})]),
            other => panic!("{other:?}"),
        }
        match parse_frame(r#"42["offer-candidate",{"candidate":"c"}]"#) {
            Some(Incoming::Event(event, args)) => {
                assert_eq!(event, "offer-candidate");
                assert_eq!(args, vec![json!({"candidate":"c"})]);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_frame("2").is_none());
        assert!(parse_frame("42not json").is_none());
    }

    proptest::proptest! {
        #[test]
        fn event_frames_round_trip(
            event in "[a-z-]{1,20}",
            text in "\\PC{0,100}",
            n in proptest::num::i64::ANY,
            ack in proptest::option::of(proptest::num::u64::ANY),
        ) {
            let args = vec![json!(text), json!({"n": n})];
            match parse_frame(&event_frame(&event, &args, ack)) {
                Some(Incoming::Event(got, got_args)) => {
                    proptest::prop_assert_eq!(got, event);
                    proptest::prop_assert_eq!(got_args, args);
                }
                other => proptest::prop_assert!(false, "{:?}", other),
            }
        }
    }
}
