//! A bare libp2p gossipsub peer that joins a node and publishes whatever bytes a test gives it:
//! the hostile peer and the tampering node of the simulations. It signs like a node but
//! validates nothing and ignores what it receives.

use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::{Multiaddr, PeerId};
use liquid_mesh::mesh::{SHARDS, shard_topic};
use tokio::sync::mpsc;

/// A running raw peer; stops when dropped.
pub struct RawPeer {
    pub peer_id: PeerId,
    publish: mpsc::Sender<(usize, Vec<u8>)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawPeer {
    /// Joins the node at `addr` and returns once the node relays every shard to it.
    pub async fn join(addr: Multiaddr) -> Self {
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                libp2p::tcp::Config::default(),
                libp2p::noise::Config::new,
                libp2p::yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|key| {
                // Larger frames than nodes accept, to send them oversized messages.
                let config = gossipsub::ConfigBuilder::default()
                    .validation_mode(ValidationMode::Strict)
                    .max_transmit_size(512 * 1024)
                    .build()
                    .unwrap();
                gossipsub::Behaviour::<
                    gossipsub::IdentityTransform,
                    gossipsub::AllowAllSubscriptionFilter,
                >::new(MessageAuthenticity::Signed(key.clone()), config)
                .unwrap()
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
            .build();
        for n in 0..SHARDS {
            swarm.behaviour_mut().subscribe(&shard_topic(n)).unwrap();
        }
        swarm.dial(addr).unwrap();
        let peer_id = *swarm.local_peer_id();
        let mut subscribed = 0;
        tokio::time::timeout(Duration::from_secs(20), async {
            while subscribed < SHARDS {
                if let libp2p::swarm::SwarmEvent::Behaviour(gossipsub::Event::Subscribed {
                    ..
                }) = swarm.select_next_some().await
                {
                    subscribed += 1;
                }
            }
        })
        .await
        .expect("the node relays every shard to a raw peer within 20 s");
        let (publish, mut requests) = mpsc::channel::<(usize, Vec<u8>)>(64);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = swarm.select_next_some() => {}
                    request = requests.recv() => {
                        let Some((shard, bytes)) = request else { return };
                        if let Err(err) = swarm.behaviour_mut().publish(shard_topic(shard), bytes) {
                            println!("raw peer publish refused locally: {err}");
                        }
                    }
                }
            }
        });
        Self {
            peer_id,
            publish,
            task,
        }
    }

    /// Publishes raw bytes on shard `shard`.
    pub async fn publish(&self, shard: usize, bytes: Vec<u8>) {
        self.publish
            .send((shard, bytes))
            .await
            .expect("raw peer running");
    }
}
