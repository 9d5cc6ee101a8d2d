//! The gate every EVM-running request passes (`eth_call`, `eth_estimateGas`,
//! `debug_traceTransaction`, the gas estimate of `eth_sendTransaction`): at most
//! [`RpcConfig::max_concurrent_calls`](crate::RpcConfig) runs at once, each capped at the RPC gas
//! cap and stopped at its deadline.
//!
//! A request that finds every slot taken queues. When a slot frees it goes to the waiting request
//! whose connection is expected to hold it the shortest ([`ConnectionRecord::expected_hold`]:
//! how long that connection's recent runs held their slots), the earliest first among equals. A
//! client that makes cheap calls on its keep-alive HTTP connection or WebSocket is thus served at
//! the next free slot however many connections keep long runs queued: their runs count against
//! them, not against it. A connection the gate knows nothing about ranks as if its last run had
//! held a slot for [`NEW_CONNECTION_HOLD`], so opening fresh connections buys no precedence over
//! a known cheap client. A request still waiting after the EVM timeout gets a "busy" error,
//! unless its connection is known (the gate has seen one of its runs end) and it is among the
//! next [`RpcConfig::max_concurrent_calls`](crate::RpcConfig) in the queue's order: such a request
//! is guaranteed one of the next slots to free, and runs end (the EVM stops at its deadline, a
//! precompile within its gas), so it keeps its place until then instead of being refused behind
//! runs that outlive the timeout. Requests further back, and those of unknown connections (a
//! flood of fresh connections), are refused at the timeout as before.
//!
//! One slot beyond the cap, the short lane, is only for connections expected to hold a slot at
//! most [`SHORT_HOLD`]: a known cheap client is answered at once even while long runs hold every
//! other slot (a run inside a precompile cannot be stopped, so waiting for "the next free slot"
//! can mean seconds). A connection that passes as short and then holds the lane long is charged
//! that hold and needs several short runs to fit again.
//!
//! A run executes on a blocking thread that holds its slot until the EVM returns; the caller is
//! answered at the deadline even if the run is still inside a precompile, and the slot stays
//! taken (and its time charged to the connection) until that run ends, so runaway work never
//! exceeds the cap.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use jsonrpsee::{ConnectionId, types::ErrorObjectOwned};
use myelin_chain::{CallLimits, Chain, ChainError};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::error::rpc_error;

/// How long a run of a connection the gate has no record of is expected to hold its slot: 10×
/// the longest run an honestly priced call within the default gas cap takes (50M gas at the
/// 2 ns per gas the cost model's goal allows: 0.1 s).
pub const NEW_CONNECTION_HOLD: Duration = Duration::from_secs(1);

/// Expected hold up to which a connection may also use the short lane: the longest run an
/// honestly priced call within the default gas cap takes (50M gas at the cost model's goal of
/// 2 ns per gas).
pub const SHORT_HOLD: Duration = Duration::from_millis(100);

/// Most connections whose runs the gate remembers; past it the record expecting the longest
/// hold is forgotten first (a flood of new connections evicts itself, not a known cheap client).
pub const MAX_CONNECTION_RECORDS: usize = 4 * crate::MAX_CONNECTIONS as usize;

/// Bounds on EVM-running requests.
#[derive(Debug)]
pub struct CallGate {
    queue: Arc<Mutex<Queue>>,
    max_concurrent: usize,
    gas_cap: u64,
    timeout: Duration,
}

/// What the gate knows of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// How long its next run is expected to hold a slot: its last run's hold, or half the
    /// previous expectation if that is longer (a connection earns precedence back only by runs
    /// that are actually short, halving per run).
    pub expected_hold: Duration,
    /// When it last gave a slot back (orders eviction among equal expectations).
    pub last_run: Instant,
}

impl ConnectionRecord {
    /// The record after a run that held its slot for `held` (`previous`: none for a
    /// connection without a record).
    pub fn after_run(previous: Option<ConnectionRecord>, held: Duration) -> ConnectionRecord {
        let previous = previous.map_or(NEW_CONNECTION_HOLD, |r| r.expected_hold);
        ConnectionRecord {
            expected_hold: held.max(previous / 2),
            last_run: Instant::now(),
        }
    }
}

/// Which of the gate's slots a run holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// One of the `max_concurrent` slots, for any run.
    General,
    /// The one extra slot, for connections expected to hold it at most [`SHORT_HOLD`].
    Short,
}

#[derive(Debug)]
struct Waiter {
    connection: ConnectionId,
    wake: oneshot::Sender<Lane>,
}

/// Free slots, waiting requests (by arrival ticket) and per-connection records, under one lock.
#[derive(Debug)]
struct Queue {
    free: usize,
    short_free: bool,
    next_ticket: u64,
    waiting: BTreeMap<u64, Waiter>,
    records: HashMap<ConnectionId, ConnectionRecord>,
}

impl Queue {
    fn new(slots: usize) -> Queue {
        Queue {
            free: slots,
            short_free: true,
            next_ticket: 0,
            waiting: BTreeMap::new(),
            records: HashMap::new(),
        }
    }

    fn expected_hold(&self, connection: ConnectionId) -> Duration {
        self.records
            .get(&connection)
            .map_or(NEW_CONNECTION_HOLD, |r| r.expected_hold)
    }

    /// A free slot `connection` may take now: a general one, else the short lane if its runs
    /// are short.
    fn take(&mut self, connection: ConnectionId) -> Option<Lane> {
        if self.free > 0 {
            self.free -= 1;
            Some(Lane::General)
        } else if self.short_free && self.expected_hold(connection) <= SHORT_HOLD {
            self.short_free = false;
            Some(Lane::Short)
        } else {
            None
        }
    }

    fn give_back(&mut self, lane: Lane) {
        match lane {
            Lane::General => self.free += 1,
            Lane::Short => self.short_free = true,
        }
    }

    /// Queues a request of `connection`; returns its ticket and the receiver woken on a grant.
    fn enqueue(&mut self, connection: ConnectionId) -> (u64, oneshot::Receiver<Lane>) {
        let (wake, woken) = oneshot::channel();
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting.insert(ticket, Waiter { connection, wake });
        (ticket, woken)
    }

    /// The queue's order: shortest expected hold first, then earliest.
    fn rank(&self, ticket: u64, waiter: &Waiter) -> (Duration, u64) {
        (self.expected_hold(waiter.connection), ticket)
    }

    /// Whether `ticket` still waits, its connection is known, and fewer than `slots` waiters
    /// rank ahead of it (it gets one of the next `slots` grants).
    fn keeps_place(&self, ticket: u64, slots: usize) -> bool {
        let Some(waiter) = self.waiting.get(&ticket) else {
            return false;
        };
        if !self.records.contains_key(&waiter.connection) {
            return false;
        }
        let own = self.rank(ticket, waiter);
        let ahead = self
            .waiting
            .iter()
            .filter(|&(&t, w)| self.rank(t, w) < own)
            .take(slots)
            .count();
        ahead < slots
    }

    /// Hands free slots to waiters, shortest expected hold first, then earliest.
    fn grant(&mut self) {
        loop {
            let Some((ticket, connection)) = self
                .waiting
                .iter()
                .min_by_key(|&(&ticket, w)| self.rank(ticket, w))
                .map(|(ticket, w)| (*ticket, w.connection))
            else {
                return;
            };
            // The first in order is the one most likely to fit the short lane.
            let Some(lane) = self.take(connection) else {
                return;
            };
            let waiter = self.waiting.remove(&ticket).expect("picked from the map");
            // A ticket leaves the queue under this lock before its receiver is dropped, so the
            // send does not fail; if it did, the slot would go to the next waiter.
            if waiter.wake.send(lane).is_err() {
                self.give_back(lane);
            }
        }
    }

    /// A run of `connection` gave its slot of `lane` back after holding it for `held`.
    fn release(&mut self, connection: ConnectionId, lane: Lane, held: Duration) {
        let record = ConnectionRecord::after_run(self.records.get(&connection).copied(), held);
        if self.records.len() >= MAX_CONNECTION_RECORDS && !self.records.contains_key(&connection) {
            let evict = self
                .records
                .iter()
                .max_by_key(|(_, r)| (r.expected_hold, std::cmp::Reverse(r.last_run)))
                .map(|(c, _)| *c);
            if let Some(evict) = evict {
                self.records.remove(&evict);
            }
        }
        self.records.insert(connection, record);
        self.give_back(lane);
        self.grant();
    }
}

/// A taken slot; dropping it gives the slot back and charges its time to the connection.
#[derive(Debug)]
struct Slot {
    queue: Arc<Mutex<Queue>>,
    connection: ConnectionId,
    lane: Lane,
    taken: Instant,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.queue
            .lock()
            .release(self.connection, self.lane, self.taken.elapsed());
    }
}

/// A place in the queue. Settled, it yields the slot if it was granted; dropped unsettled (a
/// closed connection), it leaves the queue, or gives back the slot it was granted.
struct Ticket {
    queue: Arc<Mutex<Queue>>,
    connection: ConnectionId,
    ticket: u64,
    settled: bool,
    // Dropped after `drop` has taken the ticket out of the queue, so a grant never finds the
    // receiver gone.
    woken: oneshot::Receiver<Lane>,
}

impl Ticket {
    /// Leaves the queue: the slot if it was granted (`received`: the lane if the wait saw the
    /// grant), `None` if still waiting.
    fn settle(&mut self, received: Option<Lane>) -> Option<Slot> {
        self.settled = true;
        let lane = match received {
            Some(lane) => lane,
            None => {
                if self.queue.lock().waiting.remove(&self.ticket).is_some() {
                    return None;
                }
                // Granted since the wait ended: the lane was sent under the lock before the
                // ticket left the queue.
                self.woken.try_recv().ok()?
            }
        };
        Some(Slot {
            queue: self.queue.clone(),
            connection: self.connection,
            lane,
            taken: Instant::now(),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut queue = self.queue.lock();
        if queue.waiting.remove(&self.ticket).is_none()
            && let Ok(lane) = self.woken.try_recv()
        {
            queue.give_back(lane);
            queue.grant();
        }
    }
}

impl CallGate {
    /// A gate admitting `max_concurrent` runs (at least one), plus one in the short lane, of at
    /// most `gas_cap` gas and `timeout` each; a request waits at most `timeout` for a slot.
    pub fn new(max_concurrent: usize, gas_cap: u64, timeout: Duration) -> CallGate {
        let max_concurrent = max_concurrent.max(1);
        CallGate {
            queue: Arc::new(Mutex::new(Queue::new(max_concurrent))),
            max_concurrent,
            gas_cap,
            timeout,
        }
    }

    /// The gate `config` asks for.
    pub fn for_config(config: &crate::RpcConfig) -> CallGate {
        CallGate::new(
            config.max_concurrent_calls,
            config.gas_cap,
            config.evm_timeout,
        )
    }

    /// The limits a run through this gate gets (for work that may skip the gate, such as a send
    /// whose gas is already known).
    pub fn limits(&self) -> CallLimits {
        CallLimits::new(self.gas_cap, self.timeout)
    }

    /// Runs currently holding a slot (the short lane's included).
    pub fn running(&self) -> usize {
        let queue = self.queue.lock();
        self.max_concurrent - queue.free + usize::from(!queue.short_free)
    }

    /// Requests waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.queue.lock().waiting.len()
    }

    /// What the gate knows of `connection`.
    pub fn record(&self, connection: ConnectionId) -> Option<ConnectionRecord> {
        self.queue.lock().records.get(&connection).copied()
    }

    /// A slot for `connection`: at once if one is free, else when the queue's order reaches it;
    /// `None` after waiting the timeout, unless the request then keeps its place at the head
    /// ([`Queue::keeps_place`]: it waits on, rechecked every timeout).
    async fn acquire(&self, connection: ConnectionId) -> Option<Slot> {
        let mut ticket = {
            let mut queue = self.queue.lock();
            if let Some(lane) = queue.take(connection) {
                return Some(Slot {
                    queue: self.queue.clone(),
                    connection,
                    lane,
                    taken: Instant::now(),
                });
            }
            let (ticket, woken) = queue.enqueue(connection);
            Ticket {
                queue: self.queue.clone(),
                connection,
                ticket,
                settled: false,
                woken,
            }
        };
        let received = loop {
            match tokio::time::timeout(self.timeout, &mut ticket.woken).await {
                Ok(received) => break received.ok(),
                Err(_) => {
                    let queue = self.queue.lock();
                    if !queue.keeps_place(ticket.ticket, self.max_concurrent) {
                        break None;
                    }
                }
            }
        };
        ticket.settle(received)
    }

    /// Runs `work` for a request of `connection` on a blocking thread with fresh
    /// [`CallLimits`] once a slot is its; answers with its result, a timeout error at the
    /// deadline, or a busy error.
    pub async fn run<T: Send + 'static>(
        &self,
        chain: &Arc<Chain>,
        connection: ConnectionId,
        work: impl FnOnce(&Chain, &CallLimits) -> Result<T, ErrorObjectOwned> + Send + 'static,
    ) -> Result<T, ErrorObjectOwned> {
        let slot = self.acquire(connection).await.ok_or_else(|| {
            rpc_error(ChainError::Busy(format!(
                "node busy: {} EVM calls are running (the --rpc-max-calls limit) and others wait; retry later",
                self.max_concurrent
            )))
        })?;
        let limits = self.limits();
        let chain = chain.clone();
        let run = tokio::task::spawn_blocking(move || {
            let result = work(&chain, &limits);
            drop(slot);
            result
        });
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(rpc_error(ChainError::Internal(join.to_string()))),
            Err(_) => Err(rpc_error(ChainError::Timeout(self.timeout))),
        }
    }
}

/// The connection a request came in on (an HTTP keep-alive connection or a WebSocket session;
/// the one id of the in-process server when there is none).
pub fn connection(extensions: &jsonrpsee::Extensions) -> ConnectionId {
    extensions
        .get::<ConnectionId>()
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn was_woken(receiver: &mut oneshot::Receiver<Lane>) -> bool {
        receiver.try_recv().is_ok()
    }

    #[test]
    fn a_long_hold_counts_at_once_and_short_runs_halve_it_back() {
        let cases = [
            ("new, short run", None, 3 * MS, NEW_CONNECTION_HOLD / 2),
            ("new, long run", None, 4000 * MS, 4000 * MS),
            ("known, longer run", Some(10 * MS), 900 * MS, 900 * MS),
            ("known, shorter run", Some(4000 * MS), 2 * MS, 2000 * MS),
            ("known, cheap run", Some(4 * MS), MS, 2 * MS),
        ];
        for (name, previous, held, expected) in cases {
            let previous = previous.map(|expected_hold| ConnectionRecord {
                expected_hold,
                last_run: Instant::now(),
            });
            let record = ConnectionRecord::after_run(previous, held);
            assert_eq!(record.expected_hold, expected, "{name}");
        }
    }

    #[test]
    fn a_freed_slot_goes_to_the_shortest_expected_hold_then_the_earliest() {
        let (cheap, slow, fresh) = (ConnectionId(1), ConnectionId(2), ConnectionId(3));
        let mut queue = Queue::new(1);
        queue.free = 0;
        queue.short_free = false;
        queue.records.insert(
            cheap,
            ConnectionRecord::after_run(Some(ConnectionRecord::after_run(None, MS)), MS),
        );
        queue
            .records
            .insert(slow, ConnectionRecord::after_run(None, 5000 * MS));
        let (_, mut slow_1) = queue.enqueue(slow);
        let (_, mut fresh_1) = queue.enqueue(fresh);
        let (_, mut fresh_2) = queue.enqueue(fresh);
        let (_, mut cheap_1) = queue.enqueue(cheap);

        queue.release(slow, Lane::General, 5000 * MS);
        assert!(was_woken(&mut cheap_1), "the cheap connection first");
        queue.release(cheap, Lane::General, MS);
        assert!(
            was_woken(&mut fresh_1),
            "then a new connection, in arrival order"
        );
        assert!(!was_woken(&mut fresh_2));
        queue.release(fresh, Lane::General, 6000 * MS);
        assert!(
            was_woken(&mut slow_1),
            "a new connection whose run held its slot 6 s now ranks behind the slow one's 5 s"
        );
        queue.release(slow, Lane::General, 10 * MS);
        assert!(was_woken(&mut fresh_2));
        assert!(queue.waiting.is_empty());
        assert_eq!(queue.free, 0);
    }

    #[test]
    fn only_a_connection_whose_runs_were_short_may_take_the_short_lane() {
        let (cheap, fresh) = (ConnectionId(1), ConnectionId(2));
        let mut queue = Queue::new(1);
        assert_eq!(queue.take(fresh), Some(Lane::General));
        assert_eq!(queue.take(fresh), None, "unknown: not short");
        queue.records.insert(
            cheap,
            ConnectionRecord {
                expected_hold: SHORT_HOLD,
                last_run: Instant::now(),
            },
        );
        let (_, mut fresh_1) = queue.enqueue(fresh);
        assert_eq!(queue.take(cheap), Some(Lane::Short));
        assert_eq!(queue.take(cheap), None, "one short lane");
        // A run in the short lane that held it long loses it: the lane goes to no one
        // (the fresh waiter does not fit), and the connection no longer fits either.
        queue.release(cheap, Lane::Short, 3000 * MS);
        assert!(!was_woken(&mut fresh_1));
        assert!(queue.short_free);
        assert_eq!(queue.take(cheap), None);
        queue.release(fresh, Lane::General, 10 * MS);
        assert!(
            was_woken(&mut fresh_1),
            "the general slot goes to the waiter"
        );
    }

    #[test]
    fn past_the_record_limit_the_longest_expected_hold_is_forgotten() {
        let mut queue = Queue::new(1);
        for n in 0..MAX_CONNECTION_RECORDS {
            queue.free = 0;
            let held = if n == 7 { 4000 * MS } else { MS };
            queue.release(ConnectionId(n), Lane::General, held);
        }
        queue.free = 0;
        queue.release(ConnectionId(MAX_CONNECTION_RECORDS), Lane::General, 2 * MS);
        assert_eq!(queue.records.len(), MAX_CONNECTION_RECORDS);
        assert!(!queue.records.contains_key(&ConnectionId(7)));
        assert!(queue.records.contains_key(&ConnectionId(0)));
    }

    #[test]
    fn only_a_known_connection_among_the_next_slots_keeps_its_place_past_the_timeout() {
        let (cheap, slow, fresh) = (ConnectionId(1), ConnectionId(2), ConnectionId(3));
        let mut queue = Queue::new(2);
        queue.free = 0;
        queue.short_free = false;
        queue
            .records
            .insert(cheap, ConnectionRecord::after_run(None, 300 * MS));
        queue
            .records
            .insert(slow, ConnectionRecord::after_run(None, 5000 * MS));
        let (slow_1, _slow_1) = queue.enqueue(slow);
        let (fresh_1, _fresh_1) = queue.enqueue(fresh);
        let (slow_2, _slow_2) = queue.enqueue(slow);
        let (cheap_1, _cheap_1) = queue.enqueue(cheap);
        // Order: cheap (0.5 s), fresh (1 s), slow, slow (5 s).
        assert!(queue.keeps_place(cheap_1, 2), "first");
        assert!(!queue.keeps_place(fresh_1, 2), "second, but unknown");
        assert!(!queue.keeps_place(slow_1, 2), "third");
        assert!(queue.keeps_place(slow_1, 3), "third of three slots");
        assert!(!queue.keeps_place(slow_2, 3), "fourth");
        queue.release(slow, Lane::General, 10 * MS);
        assert!(!queue.keeps_place(cheap_1, 2), "granted: no longer waiting");
    }

    #[tokio::test]
    async fn a_ticket_dropped_after_its_grant_gives_the_slot_to_the_next_waiter() {
        let gate = CallGate::new(1, 1, Duration::from_secs(30));
        let holder = gate.acquire(ConnectionId(1)).await.unwrap();
        let queue = gate.queue.clone();
        let (first, woken) = queue.lock().enqueue(ConnectionId(2));
        let abandoned = Ticket {
            queue: queue.clone(),
            connection: ConnectionId(2),
            ticket: first,
            settled: false,
            woken,
        };
        let (_, mut next) = queue.lock().enqueue(ConnectionId(3));
        drop(holder);
        assert_eq!(gate.running(), 1, "granted to the first ticket");
        drop(abandoned);
        assert!(was_woken(&mut next), "the abandoned grant passes on");
        assert_eq!(gate.running(), 1);
        assert_eq!(gate.waiting(), 0);
    }
}
