//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format: HTTP requests by
//! route and status with their latency, store latency per operation, and, read at scrape time
//! from the bridge's and the mesh's own counters, sockets, links, signals and gossip.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::mesh::Mesh;
use crate::store::Store;
use liquid_mesh_web_bridge::{BridgeStats, SignalKind};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    // 250 µs to about 8 s.
    Histogram::new(exponential_buckets(0.00025, 2.0, 16))
}

/// The node's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<HttpLabels, Counter>,
    latency: Latency,
}

impl Metrics {
    pub fn new(store: &Store, bridge: BridgeStats, mesh: Mesh) -> Self {
        let mut registry = Registry::with_prefix("liquid_mesh");
        let requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency = Latency::new_with_constructor(http_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            latency.clone(),
        );
        registry.register(
            "store_operation_duration_seconds",
            "Time a database operation took, by operation",
            store.latency().clone(),
        );
        registry.register_collector(Box::new(Live { bridge, mesh }));
        Self {
            registry: Arc::new(registry),
            requests,
            latency,
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// `GET /metrics`
pub async fn serve(State(metrics): State<Metrics>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// Middleware counting every request by its route pattern (not its path, so credential IDs do
/// not become label values).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// What the bridge and the mesh count themselves, read on each scrape.
#[derive(Debug)]
struct Live {
    bridge: BridgeStats,
    mesh: Mesh,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}

fn by_kind(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    values: [u64; 4],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Counter,
    )?;
    for (kind, value) in SignalKind::ALL.iter().zip(values) {
        let labels = KindLabels { kind: kind.event() };
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let bridge = self.bridge.counters();
        let e = &mut encoder;
        gauge(
            e,
            "bridge_sockets",
            "Socket.IO sockets connected",
            self.bridge.sockets() as u64,
        )?;
        gauge(
            e,
            "bridge_links_parked",
            "Links waiting for their wallet",
            self.bridge.parked_links() as u64,
        )?;
        counter(
            e,
            "bridge_links_completed",
            "Links acknowledged with a wallet",
            bridge.links_completed,
        )?;
        counter(
            e,
            "bridge_links_refused",
            "Links refused at once (bad requestId, limits, rate)",
            bridge.links_refused,
        )?;
        by_kind(
            e,
            "bridge_signals_relayed",
            "Signals from this node's sockets relayed, by event",
            bridge.signals_local,
        )?;
        by_kind(
            e,
            "bridge_signals_from_mesh",
            "Signals from other nodes handled, by event",
            bridge.signals_remote,
        )?;
        counter(
            e,
            "bridge_signals_dropped",
            "Signals dropped (no pair, oversized, queue full)",
            bridge.signals_dropped,
        )?;
        let mesh = self.mesh.counters();
        gauge(e, "mesh_peers", "Mesh peers connected", mesh.peers)?;
        counter(
            e,
            "mesh_published",
            "Events this node sent to the mesh",
            mesh.published,
        )?;
        counter(
            e,
            "mesh_accepted",
            "New valid messages from peers",
            mesh.accepted,
        )?;
        counter(
            e,
            "mesh_duplicates",
            "Valid messages already seen",
            mesh.duplicates,
        )?;
        counter(
            e,
            "mesh_rejected",
            "Messages from peers refused",
            mesh.rejected,
        )?;
        counter(
            e,
            "mesh_synced",
            "New envelopes learnt from peers' sync answers",
            mesh.synced,
        )?;
        counter(
            e,
            "mesh_publish_failed",
            "Gossip messages not sent: every peer's send queue was full",
            mesh.publish_failed,
        )?;
        counter(
            e,
            "mesh_gossiped",
            "Gossip messages sent (a batch carries several events)",
            mesh.gossiped,
        )?;
        counter(
            e,
            "mesh_deferred",
            "Signals of pairs wholly on this node, sent to other nodes a moment later",
            mesh.deferred,
        )?;
        Ok(())
    }
}
