//! The service registry and the balancer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::Serialize;
use vctts_core::{Heartbeat, ModelInfo, NodeLoad, NodeState, RegisterRequest};

use crate::events::{kind, EventHub};

/// Why a node is temporarily not routed to.
#[derive(Debug, Clone)]
struct Quarantine {
    until: Instant,
    reason: String,
    /// A successful heartbeat lifts it (the node was unreachable, not hung).
    lift_on_heartbeat: bool,
}

#[derive(Debug, Clone)]
struct Node {
    reg: RegisterRequest,
    reported: NodeState,
    load: NodeLoad,
    model: Option<ModelInfo>,
    error: Option<String>,
    registered_at: String,
    last_heartbeat: Instant,
    last_heartbeat_at: String,
    offline: bool,
    quarantine: Option<Quarantine>,
    /// Requests this gateway has in flight on the node.
    inflight: u32,
    served: u64,
    failures: u64,
    /// The state last announced on the event hub.
    announced: NodeState,
}

impl Node {
    fn state(&self, now: Instant) -> NodeState {
        if self.offline {
            return NodeState::Offline;
        }
        if self.quarantine.as_ref().is_some_and(|q| q.until > now) {
            return NodeState::Error;
        }
        match self.reported {
            NodeState::Ready | NodeState::Busy => {
                if self.inflight >= self.reg.capacity.max(1) {
                    NodeState::Busy
                } else {
                    NodeState::Ready
                }
            }
            s => s,
        }
    }

    fn view(&self, now: Instant) -> NodeView {
        let state = self.state(now);
        NodeView {
            node_id: self.reg.node_id.clone(),
            name: self.reg.name.clone(),
            engine: self.reg.engine.clone(),
            url: self.reg.url.clone(),
            status: state,
            device: self.reg.device.clone(),
            version: self.reg.version.clone(),
            capacity: self.reg.capacity,
            inflight: self.inflight,
            worker_inflight: self.load.inflight,
            cpu_percent: self.load.cpu_percent,
            memory_mb: self.load.memory_mb,
            requests_total: self.load.requests_total,
            served: self.served,
            failures: self.failures,
            model: self.model.clone(),
            error: if state == NodeState::Error {
                self.quarantine.as_ref().map(|q| q.reason.clone()).or_else(|| self.error.clone())
            } else {
                None
            },
            registered_at: self.registered_at.clone(),
            last_heartbeat: self.last_heartbeat_at.clone(),
            seconds_since_heartbeat: now.duration_since(self.last_heartbeat).as_secs_f64(),
        }
    }
}

/// A node as the API shows it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct NodeView {
    pub node_id: String,
    pub name: String,
    pub engine: String,
    pub url: String,
    pub status: NodeState,
    pub device: String,
    pub version: String,
    pub capacity: u32,
    /// Requests this gateway has in flight on the node.
    pub inflight: u32,
    /// In-flight requests the worker itself reported at its last heartbeat.
    pub worker_inflight: u32,
    pub cpu_percent: f32,
    pub memory_mb: f64,
    /// Requests the worker reports having served (all clients).
    pub requests_total: u64,
    /// Requests this gateway routed to it.
    pub served: u64,
    pub failures: u64,
    pub model: Option<ModelInfo>,
    pub error: Option<String>,
    pub registered_at: String,
    pub last_heartbeat: String,
    pub seconds_since_heartbeat: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No node of this engine is ready (503).
    NoNode,
    /// Nodes exist but every slot is taken (429).
    AllBusy,
    /// Every slot is taken and the engine's queue is full (429).
    QueueFull,
    /// Every slot stayed taken while the request waited in line (429).
    StillBusy,
}

/// A request waiting for a slot of an engine's nodes, in arrival order.
struct Waiter {
    /// Nodes it must not be given (they failed it already).
    exclude: Vec<String>,
    slot: tokio::sync::oneshot::Sender<Lease>,
}

pub enum HeartbeatOutcome {
    Ok,
    Unknown,
    Removed,
}

pub struct Registry {
    nodes: RwLock<HashMap<String, Node>>,
    removed: RwLock<HashSet<String>>,
    events: EventHub,
    rr: AtomicU64,
    /// Woken on every change of a node's state (and on registration and removal).
    changed: tokio::sync::Notify,
    /// Per engine, requests waiting for a slot. Locked after `nodes`, never before.
    waiting: parking_lot::Mutex<HashMap<String, VecDeque<Waiter>>>,
}

/// A reserved slot on a node; releasing it (drop) frees the slot.
pub struct Lease {
    registry: Arc<Registry>,
    pub node_id: String,
    pub url: String,
    released: bool,
}

impl Lease {
    /// Record the outcome of the request for the node's counters.
    pub fn finish(mut self, ok: bool) {
        self.registry.release(&self.node_id, Some(ok));
        self.released = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.released {
            self.registry.release(&self.node_id, None);
        }
    }
}

impl Registry {
    pub fn new(events: EventHub) -> Arc<Self> {
        Arc::new(Self {
            nodes: RwLock::new(HashMap::new()),
            removed: RwLock::new(HashSet::new()),
            events,
            rr: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
            waiting: parking_lot::Mutex::new(HashMap::new()),
        })
    }

    /// Announce a change seen by a request starting or finishing, or by a
    /// heartbeat (workers send one after each request starts). A node at
    /// capacity flips between ready and busy with every request; announcing
    /// each flip would send every WebSocket client a message per request.
    /// Those flips are left to the next sweep (every 500 ms), which announces
    /// the state if it still differs; any other change is announced at once.
    fn announce_load(&self, n: &mut Node, now: Instant) {
        let s = n.state(now);
        let flip =
            matches!((n.announced, s), (NodeState::Ready, NodeState::Busy) | (NodeState::Busy, NodeState::Ready));
        if !flip {
            self.announce(n, now);
        }
    }

    fn announce(&self, n: &mut Node, now: Instant) {
        let s = n.state(now);
        if s != n.announced {
            self.changed.notify_waiters();
            let old = n.announced;
            n.announced = s;
            let view = n.view(now);
            if s == NodeState::Offline {
                tracing::warn!(node_id = %n.reg.node_id, "node offline");
                self.events.publish(kind::NODE_OFFLINE, &view);
            } else if old == NodeState::Offline {
                tracing::info!(node_id = %n.reg.node_id, state = %s, "node back online");
                self.events.publish(kind::NODE_ONLINE, &view);
            } else {
                if matches!((old, s), (NodeState::Ready, NodeState::Busy) | (NodeState::Busy, NodeState::Ready)) {
                    tracing::debug!(node_id = %n.reg.node_id, from = %old, to = %s, "node state changed");
                } else {
                    tracing::info!(node_id = %n.reg.node_id, from = %old, to = %s, "node state changed");
                }
                self.events.publish(
                    kind::NODE_STATUS_CHANGED,
                    serde_json::json!({"node_id": n.reg.node_id, "old_status": old, "new_status": s, "node": view}),
                );
            }
        }
    }

    pub fn register(self: &Arc<Self>, reg: RegisterRequest) -> NodeView {
        let now = Instant::now();
        let at = crate::db::now();
        self.removed.write().remove(&reg.node_id);
        let mut nodes = self.nodes.write();
        let id = reg.node_id.clone();
        let existed = nodes.contains_key(&id);
        let entry = nodes.entry(id.clone()).or_insert_with(|| Node {
            reg: reg.clone(),
            reported: reg.status,
            load: NodeLoad { capacity: reg.capacity, ..Default::default() },
            model: reg.model.clone(),
            error: None,
            registered_at: at.clone(),
            last_heartbeat: now,
            last_heartbeat_at: at.clone(),
            offline: false,
            quarantine: None,
            inflight: 0,
            served: 0,
            failures: 0,
            announced: NodeState::Offline,
        });
        entry.reg = reg.clone();
        entry.reported = reg.status;
        entry.model = reg.model;
        entry.last_heartbeat = now;
        entry.last_heartbeat_at = at;
        entry.offline = false;
        entry.quarantine = None;
        tracing::info!(node_id = %id, engine = %entry.reg.engine, url = %entry.reg.url, again = existed, "node registered");
        if !existed {
            self.changed.notify_waiters();
            entry.announced = entry.state(now);
            self.events.publish(kind::NODE_ONLINE, entry.view(now));
        } else {
            self.announce(entry, now);
        }
        let view = entry.view(now);
        self.serve_waiters(&mut nodes, now);
        view
    }

    pub fn heartbeat(self: &Arc<Self>, id: &str, hb: Heartbeat) -> HeartbeatOutcome {
        if self.removed.read().contains(id) {
            return HeartbeatOutcome::Removed;
        }
        let now = Instant::now();
        let mut nodes = self.nodes.write();
        let Some(n) = nodes.get_mut(id) else { return HeartbeatOutcome::Unknown };
        n.reported = hb.status;
        n.offline = hb.status == NodeState::Offline;
        n.load = hb.load;
        n.model = hb.model;
        n.error = hb.error;
        n.last_heartbeat = now;
        n.last_heartbeat_at = crate::db::now();
        if n.quarantine.as_ref().is_some_and(|q| q.lift_on_heartbeat || q.until <= now) {
            n.quarantine = None;
        }
        self.announce_load(n, now);
        self.serve_waiters(&mut nodes, now);
        HeartbeatOutcome::Ok
    }

    /// Mark nodes without a heartbeat for `dead_threshold` offline; announce
    /// any other state change (busy, expired quarantines).
    pub fn sweep(self: &Arc<Self>, dead_threshold: Duration) {
        let now = Instant::now();
        let mut nodes = self.nodes.write();
        for n in nodes.values_mut() {
            if !n.offline && now.duration_since(n.last_heartbeat) > dead_threshold {
                n.offline = true;
            }
            if n.quarantine.as_ref().is_some_and(|q| q.until <= now) {
                n.quarantine = None;
            }
            self.announce(n, now);
        }
        self.serve_waiters(&mut nodes, now);
    }

    pub fn remove(self: &Arc<Self>, id: &str) -> Option<NodeView> {
        let mut nodes = self.nodes.write();
        let n = nodes.remove(id)?;
        self.serve_waiters(&mut nodes, Instant::now());
        drop(nodes);
        self.removed.write().insert(id.to_string());
        let view = n.view(Instant::now());
        self.changed.notify_waiters();
        self.events.publish(kind::NODE_REMOVED, &view);
        tracing::info!(node_id = %id, "node removed");
        Some(view)
    }

    /// Take a node out of rotation for a while (it hung, answered garbage, or
    /// could not be reached).
    pub fn quarantine(self: &Arc<Self>, id: &str, reason: String, for_: Duration, lift_on_heartbeat: bool) {
        let now = Instant::now();
        let mut nodes = self.nodes.write();
        if let Some(n) = nodes.get_mut(id) {
            tracing::warn!(node_id = %id, seconds = for_.as_secs_f64(), "node taken out of rotation: {reason}");
            n.failures += 1;
            n.quarantine = Some(Quarantine { until: now + for_, reason, lift_on_heartbeat });
            self.announce(n, now);
        }
        self.serve_waiters(&mut nodes, now);
    }

    pub fn set_reported(self: &Arc<Self>, id: &str, state: NodeState) {
        let now = Instant::now();
        let mut nodes = self.nodes.write();
        if let Some(n) = nodes.get_mut(id) {
            n.reported = state;
            self.announce(n, now);
        }
        self.serve_waiters(&mut nodes, now);
    }

    /// Reserve a slot on the least-loaded ready node of `engine`, skipping `exclude`.
    pub fn acquire(self: &Arc<Self>, engine: &str, exclude: &[String]) -> Result<Lease, RouteError> {
        let mut nodes = self.nodes.write();
        self.pick(&mut nodes, engine, exclude, Instant::now())
    }

    /// Like [`Registry::acquire`], but when every slot is taken, join the
    /// engine's queue (at most `max_queue` long): the receiver gets a slot as
    /// soon as one frees up, first come first served. A receiver that is
    /// dropped gives its slot back. The sender is dropped without a slot when
    /// no node of the engine serves any more.
    pub fn acquire_or_queue(
        self: &Arc<Self>,
        engine: &str,
        exclude: &[String],
        max_queue: usize,
    ) -> Result<Result<Lease, tokio::sync::oneshot::Receiver<Lease>>, RouteError> {
        let mut nodes = self.nodes.write();
        match self.pick(&mut nodes, engine, exclude, Instant::now()) {
            Ok(lease) => Ok(Ok(lease)),
            Err(RouteError::AllBusy) if max_queue > 0 => {
                let mut waiting = self.waiting.lock();
                let queue = waiting.entry(engine.to_string()).or_default();
                queue.retain(|w| !w.slot.is_closed());
                if queue.len() >= max_queue {
                    return Err(RouteError::QueueFull);
                }
                let (slot, rx) = tokio::sync::oneshot::channel();
                queue.push_back(Waiter { exclude: exclude.to_vec(), slot });
                Ok(Err(rx))
            }
            Err(e) => Err(e),
        }
    }

    /// Requests waiting for a slot of `engine`.
    pub fn queued(&self, engine: &str) -> usize {
        self.waiting.lock().get(engine).map_or(0, |q| q.iter().filter(|w| !w.slot.is_closed()).count())
    }

    /// Give the slot of node `id` (counted in its `inflight`) to the first
    /// waiter that may use it. False if nobody took it.
    fn hand_over(self: &Arc<Self>, waiting: &mut HashMap<String, VecDeque<Waiter>>, id: &str, n: &mut Node) -> bool {
        let Some(queue) = waiting.get_mut(&n.reg.engine) else { return false };
        let mut i = 0;
        while i < queue.len() {
            if queue[i].slot.is_closed() {
                queue.remove(i);
                continue;
            }
            if queue[i].exclude.iter().any(|e| e == id) {
                i += 1;
                continue;
            }
            let w = queue.remove(i).expect("index in range");
            let lease =
                Lease { registry: self.clone(), node_id: id.to_string(), url: n.reg.url.clone(), released: false };
            match w.slot.send(lease) {
                Ok(()) => {
                    n.served += 1;
                    return true;
                }
                // It gave up meanwhile: the slot is still ours to give (and must not be
                // released by the lease's drop, which would take the lock held here).
                Err(mut lease) => lease.released = true,
            }
        }
        false
    }

    /// After a node changed (registered, became ready, grew, failed, left):
    /// hand free slots to waiting requests, and turn away the waiters of
    /// engines no node serves any more.
    fn serve_waiters(self: &Arc<Self>, nodes: &mut HashMap<String, Node>, now: Instant) {
        let mut waiting = self.waiting.lock();
        if waiting.values().all(|q| q.is_empty()) {
            return;
        }
        for (id, n) in nodes.iter_mut() {
            while n.state(now).serves() && n.inflight < n.reg.capacity.max(1) {
                n.inflight += 1;
                if !self.hand_over(&mut waiting, id, n) {
                    n.inflight -= 1;
                    break;
                }
            }
        }
        waiting.retain(|engine, queue| {
            queue.retain(|w| !w.slot.is_closed());
            let served = nodes.values().any(|n| &n.reg.engine == engine && n.state(now).serves());
            // Dropping a waiter's sender tells it no node serves the engine.
            served && !queue.is_empty()
        });
    }

    fn pick(
        self: &Arc<Self>,
        nodes: &mut HashMap<String, Node>,
        engine: &str,
        exclude: &[String],
        now: Instant,
    ) -> Result<Lease, RouteError> {
        let mut any = false;
        let mut free: Vec<(&String, u32)> = Vec::new();
        for (id, n) in nodes.iter() {
            if n.reg.engine != engine || !n.state(now).serves() || exclude.contains(id) {
                continue;
            }
            any = true;
            if n.inflight < n.reg.capacity.max(1) {
                free.push((id, n.inflight));
            }
        }
        // Least in-flight first; among equals, round robin.
        let Some(min) = free.iter().map(|f| f.1).min() else {
            return Err(if any { RouteError::AllBusy } else { RouteError::NoNode });
        };
        let mut least: Vec<&String> = free.iter().filter(|f| f.1 == min).map(|f| f.0).collect();
        least.sort();
        let rr = self.rr.fetch_add(1, Ordering::Relaxed) as usize;
        let id = least[rr % least.len()];
        let id = id.clone();
        let n = nodes.get_mut(&id).expect("chosen node exists");
        n.inflight += 1;
        n.served += 1;
        let url = n.reg.url.clone();
        self.announce_load(n, now);
        Ok(Lease { registry: self.clone(), node_id: id, url, released: false })
    }

    fn release(self: &Arc<Self>, id: &str, ok: Option<bool>) {
        let now = Instant::now();
        let mut nodes = self.nodes.write();
        if let Some(n) = nodes.get_mut(id) {
            if ok == Some(false) {
                n.failures += 1;
            }
            // The slot goes straight to the first waiting request, if any may use it.
            let reuse = n.state(now).serves() && n.inflight <= n.reg.capacity.max(1);
            if reuse && self.hand_over(&mut self.waiting.lock(), id, n) {
                return;
            }
            n.inflight = n.inflight.saturating_sub(1);
            self.announce_load(n, now);
        }
    }

    pub fn view(&self, id: &str) -> Option<NodeView> {
        self.nodes.read().get(id).map(|n| n.view(Instant::now()))
    }

    pub fn views(&self) -> Vec<NodeView> {
        let now = Instant::now();
        let mut v: Vec<NodeView> = self.nodes.read().values().map(|n| n.view(now)).collect();
        v.sort_by(|a, b| a.engine.cmp(&b.engine).then(a.name.cmp(&b.name)).then(a.node_id.cmp(&b.node_id)));
        v
    }

    /// Whether no node of `engine` (outside `exclude`) serves while one is
    /// loading its model: a request for it is worth holding for a while.
    pub fn only_loading(&self, engine: &str, exclude: &[String]) -> bool {
        let now = Instant::now();
        let nodes = self.nodes.read();
        let mut loading = false;
        for (id, n) in nodes.iter() {
            if n.reg.engine != engine || exclude.contains(id) {
                continue;
            }
            match n.state(now) {
                s if s.serves() => return false,
                NodeState::Loading => loading = true,
                _ => {}
            }
        }
        loading
    }

    /// Wait until a node of `engine` serves, none is loading any more, or
    /// `deadline`. Returns whether it waited at all.
    pub async fn wait_while_loading(&self, engine: &str, exclude: &[String], deadline: tokio::time::Instant) -> bool {
        let mut waited = false;
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.only_loading(engine, exclude) {
                return waited;
            }
            waited = true;
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return true;
            }
        }
    }

    /// Whether any node of this engine exists (in any state).
    pub fn has_engine(&self, engine: &str) -> bool {
        self.nodes.read().values().any(|n| n.reg.engine == engine)
    }

    /// The URL and preset voice ids of a node, for voice resolution.
    pub fn preset_voice_engines(&self, voice_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .nodes
            .read()
            .values()
            .filter(|n| n.model.as_ref().is_some_and(|m| m.voices.iter().any(|v| v.id == voice_id)))
            .map(|n| n.reg.engine.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn node_url(&self, id: &str) -> Option<String> {
        self.nodes.read().get(id).map(|n| n.reg.url.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(id: &str, engine: &str, cap: u32) -> RegisterRequest {
        RegisterRequest {
            node_id: id.into(),
            name: id.into(),
            engine: engine.into(),
            url: format!("http://{id}"),
            capacity: cap,
            status: NodeState::Ready,
            model: None,
            version: "t".into(),
            device: "cpu".into(),
        }
    }

    #[test]
    fn least_inflight_first_and_capacity_bound() {
        let r = Registry::new(EventHub::new(16));
        r.register(reg("a", "e", 2));
        r.register(reg("b", "e", 1));
        let l1 = r.acquire("e", &[]).unwrap();
        let l2 = r.acquire("e", &[]).unwrap();
        assert_ne!(l1.node_id, l2.node_id, "spread over both nodes");
        let l3 = r.acquire("e", &[]).unwrap();
        assert_eq!(l3.node_id, "a");
        assert_eq!(r.acquire("e", &[]).err(), Some(RouteError::AllBusy));
        assert_eq!(r.acquire("x", &[]).err(), Some(RouteError::NoNode));
        drop(l3);
        assert_eq!(r.acquire("e", &[]).unwrap().node_id, "a");
    }

    #[test]
    fn offline_quarantined_and_excluded_nodes_are_skipped() {
        let r = Registry::new(EventHub::new(16));
        r.register(reg("a", "e", 1));
        r.register(reg("b", "e", 1));
        r.quarantine("a", "hung".into(), Duration::from_secs(60), false);
        assert_eq!(r.view("a").unwrap().status, NodeState::Error);
        assert_eq!(r.acquire("e", &[]).unwrap().node_id, "b");
        assert_eq!(r.acquire("e", &["b".to_string()]).err(), Some(RouteError::NoNode));
        r.sweep(Duration::from_secs(0));
        std::thread::sleep(Duration::from_millis(5));
        r.sweep(Duration::from_millis(1));
        assert_eq!(r.view("b").unwrap().status, NodeState::Offline);
    }

    #[test]
    fn ready_busy_flips_are_announced_by_the_sweep_only() {
        let hub = EventHub::new(64);
        let mut rx = hub.subscribe();
        let r = Registry::new(hub);
        r.register(reg("a", "e", 1));
        let _ = rx.try_recv(); // node_online
        for _ in 0..10 {
            drop(r.acquire("e", &[]).unwrap());
        }
        assert!(rx.try_recv().is_err(), "request-driven ready/busy flips are not pushed one by one");
        let busy = Heartbeat { status: NodeState::Busy, load: NodeLoad::default(), model: None, error: None };
        let l = r.acquire("e", &[]).unwrap();
        assert!(matches!(r.heartbeat("a", busy), HeartbeatOutcome::Ok));
        drop(l);
        assert!(rx.try_recv().is_err(), "a heartbeat's ready/busy flip waits for the sweep as well");
        let lease = r.acquire("e", &[]).unwrap();
        r.sweep(Duration::from_secs(60));
        let m = rx.try_recv().expect("the sweep announces a state that holds");
        assert!(m.contains("node_status_changed") && m.contains("\"new_status\":\"busy\""), "{m}");
        drop(lease);
        r.sweep(Duration::from_secs(60));
        assert!(rx.try_recv().unwrap().contains("\"new_status\":\"ready\""));
        // Other changes are still immediate.
        r.quarantine("a", "hung".into(), Duration::from_secs(60), false);
        assert!(rx.try_recv().unwrap().contains("\"new_status\":\"error\""));
    }

    #[test]
    fn removed_nodes_get_removed_on_heartbeat() {
        let r = Registry::new(EventHub::new(16));
        r.register(reg("a", "e", 1));
        r.remove("a");
        let hb = Heartbeat { status: NodeState::Ready, load: NodeLoad::default(), model: None, error: None };
        assert!(matches!(r.heartbeat("a", hb.clone()), HeartbeatOutcome::Removed));
        assert!(matches!(r.heartbeat("zz", hb), HeartbeatOutcome::Unknown));
    }

    fn hb(status: NodeState) -> Heartbeat {
        Heartbeat { status, load: NodeLoad::default(), model: None, error: None }
    }

    #[tokio::test]
    async fn requests_wait_for_a_loading_node_and_only_for_one() {
        let r = Registry::new(EventHub::new(64));
        let soon = || tokio::time::Instant::now() + Duration::from_secs(10);
        // Nothing of the engine, or a node in standby: no waiting.
        assert!(!r.wait_while_loading("e", &[], soon()).await);
        r.register(RegisterRequest { status: NodeState::Standby, ..reg("s", "e", 1) });
        assert!(!r.wait_while_loading("e", &[], soon()).await);

        r.register(RegisterRequest { status: NodeState::Loading, ..reg("a", "e", 1) });
        assert!(r.only_loading("e", &[]) && !r.only_loading("e", &["a".to_string()]));
        assert_eq!(r.acquire("e", &[]).err(), Some(RouteError::NoNode));
        let r2 = r.clone();
        let ready = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(matches!(r2.heartbeat("a", hb(NodeState::Ready)), HeartbeatOutcome::Ok));
        });
        let t = std::time::Instant::now();
        assert!(r.wait_while_loading("e", &[], soon()).await);
        assert!(t.elapsed() >= Duration::from_millis(90) && t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        ready.await.unwrap();
        assert_eq!(r.acquire("e", &[]).unwrap().node_id, "a");

        // A load that fails wakes the waiters at once; a load that never ends is waited for
        // until the deadline only.
        r.register(RegisterRequest { status: NodeState::Loading, ..reg("b", "f", 1) });
        let r2 = r.clone();
        let failed = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            r2.heartbeat("b", hb(NodeState::Error));
        });
        let t = std::time::Instant::now();
        assert!(r.wait_while_loading("f", &[], soon()).await);
        assert!(t.elapsed() < Duration::from_secs(5));
        failed.await.unwrap();
        assert_eq!(r.acquire("f", &[]).err(), Some(RouteError::NoNode));
        r.heartbeat("b", hb(NodeState::Loading));
        let t = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        assert!(r.wait_while_loading("f", &[], deadline).await);
        assert!(t.elapsed() >= Duration::from_millis(190), "{:?}", t.elapsed());
        assert!(r.only_loading("f", &[]));
    }

    fn in_line(r: &Arc<Registry>, exclude: &[String], max: usize) -> tokio::sync::oneshot::Receiver<Lease> {
        match r.acquire_or_queue("e", exclude, max) {
            Ok(Err(rx)) => rx,
            Ok(Ok(l)) => panic!("got {} at once", l.node_id),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn inflight(r: &Registry, id: &str) -> u32 {
        r.view(id).unwrap().inflight
    }

    #[test]
    fn a_freed_slot_goes_to_the_first_waiter_in_line() {
        let r = Registry::new(EventHub::new(64));
        r.register(reg("a", "e", 1));
        let first = r.acquire("e", &[]).unwrap();
        let queue = |r: &Arc<Registry>, ex: &[String]| in_line(r, ex, 3);
        let mut q1 = queue(&r, &[]);
        let q2 = queue(&r, &[]);
        let mut q3 = queue(&r, &[]);
        assert_eq!(r.queued("e"), 3);
        assert_eq!(r.acquire_or_queue("e", &[], 3).err(), Some(RouteError::QueueFull));
        assert!(q1.try_recv().is_err(), "nothing freed yet");
        drop(first);
        let l1 = q1.try_recv().expect("the first in line got the slot");
        assert_eq!((l1.node_id.as_str(), inflight(&r, "a")), ("a", 1), "handed over, not freed");
        drop(q2); // gave up waiting
        l1.finish(true);
        let l3 = q3.try_recv().expect("the slot skips a waiter that left");
        assert_eq!(r.queued("e"), 0);
        // A waiter that leaves after its slot was sent gives the slot back.
        let q4 = queue(&r, &[]);
        drop(l3);
        drop(q4);
        assert_eq!(inflight(&r, "a"), 0);
        assert_eq!(r.acquire("e", &[]).unwrap().node_id, "a");
    }

    #[test]
    fn waiters_get_new_nodes_skip_excluded_ones_and_are_turned_away_when_none_serves() {
        let r = Registry::new(EventHub::new(64));
        r.register(reg("a", "e", 1));
        r.register(reg("b", "e", 1));
        let (l1, l2) = (r.acquire("e", &[]).unwrap(), r.acquire("e", &[]).unwrap());
        let (on_a, _on_b) = if l1.node_id == "a" { (l1, l2) } else { (l2, l1) };
        let mut not_a = in_line(&r, &["a".to_string()], 8);
        let mut any = in_line(&r, &[], 8);
        drop(on_a);
        assert!(not_a.try_recv().is_err(), "a failed this request before");
        let _on_a = any.try_recv().expect("the next waiter that may use a gets it");
        assert_eq!(_on_a.node_id, "a");
        r.register(reg("c", "e", 2));
        let _on_c = not_a.try_recv().expect("a new node serves the line");
        assert_eq!(_on_c.node_id, "c");
        let _c2 = r.acquire("e", &[]).unwrap();

        let mut turned = in_line(&r, &[], 8);
        r.remove("c");
        assert!(turned.try_recv().is_err(), "a and b still serve: keep waiting");
        r.quarantine("a", "hung".into(), Duration::from_secs(60), false);
        r.set_reported("b", NodeState::Standby);
        assert!(
            matches!(turned.try_recv(), Err(tokio::sync::oneshot::error::TryRecvError::Closed)),
            "no node serves the engine any more: turned away"
        );
    }
}
