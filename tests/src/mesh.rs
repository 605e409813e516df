//! Meshes of test nodes in one process: nodes joined in a given topology over loopback TCP, and a
//! wait until every link carries gossip on every shard.

use std::time::Duration;

use liquid_mesh::Config;
use liquid_mesh::mesh::{MeshStatus, SHARDS};

use crate::{Backend, TestNode};

/// How long a mesh may take to form or heal.
pub const MESH_WAIT: Duration = Duration::from_secs(20);

/// Starts `n` nodes; each bootstraps from the earlier nodes it has an edge to. Returns once every
/// node sees all its neighbours subscribed to every shard. `tweak` adjusts node `i`'s config.
pub async fn start_mesh(
    n: usize,
    edges: &[(usize, usize)],
    backend: Backend,
    tweak: impl Fn(usize, &mut Config),
) -> Vec<TestNode> {
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let bootstrap: Vec<_> = neighbours(edges, i)
            .filter(|&j| j < i)
            .map(|j| nodes[j].p2p_addr())
            .collect();
        let node = TestNode::start(backend, |c| {
            c.mesh.bootstrap = bootstrap;
            tweak(i, c);
        })
        .await;
        nodes.push(node);
    }
    for (i, node) in nodes.iter().enumerate() {
        wait_for_peers(node, neighbours(edges, i).count()).await;
    }
    nodes
}

fn neighbours(edges: &[(usize, usize)], i: usize) -> impl Iterator<Item = usize> + '_ {
    edges.iter().filter_map(move |&(a, b)| match () {
        () if a == i => Some(b),
        () if b == i => Some(a),
        () => None,
    })
}

/// Waits until `node` has exactly `count` peers, each subscribed to every shard.
pub async fn wait_for_peers(node: &TestNode, count: usize) -> MeshStatus {
    wait_for_status(node, |s| {
        s.peers.len() == count && s.peers.iter().all(|p| p.topics == SHARDS)
    })
    .await
}

/// Polls the node's mesh status until `pred` holds; fails with the last status after [`MESH_WAIT`].
pub async fn wait_for_status(node: &TestNode, pred: impl Fn(&MeshStatus) -> bool) -> MeshStatus {
    let deadline = tokio::time::Instant::now() + MESH_WAIT;
    loop {
        let status = node.mesh.status().await.expect("mesh running");
        if pred(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mesh did not get there within {MESH_WAIT:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `n`th candidate of a burst, as a browser sends one.
pub fn burst_candidate(n: u64) -> serde_json::Value {
    serde_json::json!({"candidate": format!("candidate:{n} 1 udp 1 10.0.0.2 9 typ host")})
}

/// Puts `count` numbered candidates for the room of `request_id` on `node`'s hub at once, as its
/// bridge does for busy browsers (faster than the mesh task runs, so they leave in batches).
pub fn publish_burst(node: &TestNode, request_id: &str, count: u64) -> liquid_mesh::hub::Room {
    use liquid_mesh::hub::{Origin, Room, Signal, SignalKind};
    let id = liquid_mesh::request_id::RequestId::try_from(serde_json::json!(request_id))
        .expect("a valid request ID");
    let room = Room::Request(id);
    for n in 0..count {
        node.hub.publish_signal(Signal {
            room: room.clone(),
            kind: SignalKind::OfferCandidate,
            payload: std::sync::Arc::new(burst_candidate(n)),
            origin: Origin::Local(77),
            sender: "burst".into(),
            pair_here: false,
        });
    }
    room
}
