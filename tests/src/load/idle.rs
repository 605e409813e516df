//! Idle connections: open many Socket.IO connections (each a fresh session) and keep them alive
//! by answering the node's pings, to measure what an idle socket costs a node.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc::error::TryRecvError;

use crate::eio::{Incoming, SocketIo};

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub connected: usize,
    pub failed: usize,
    pub connect_secs: f64,
}

/// Opens `count` connections to `base`, at most `concurrency` handshakes at a time.
pub async fn connect_many(
    base: &str,
    count: usize,
    concurrency: usize,
) -> (Vec<SocketIo>, IdleReport) {
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..count)
        .map(|_| async move {
            // A refused handshake under a burst gets one more try after a pause.
            match SocketIo::connect(base, None).await {
                Ok(socket) => Ok(socket),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    SocketIo::connect(base, None).await
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let sockets: Vec<SocketIo> = results.into_iter().filter_map(Result::ok).collect();
    let report = IdleReport {
        connected: sockets.len(),
        failed,
        connect_secs: started.elapsed().as_secs_f64(),
    };
    (sockets, report)
}

/// How many of `sockets` the node has not closed.
pub fn still_open(sockets: &mut [SocketIo]) -> usize {
    sockets.iter_mut().map(is_open).filter(|open| *open).count()
}

fn is_open(s: &mut SocketIo) -> bool {
    loop {
        match s.incoming.try_recv() {
            Ok(Incoming::Closed) | Err(TryRecvError::Disconnected) => return false,
            Ok(_) => continue,
            Err(TryRecvError::Empty) => return true,
        }
    }
}
